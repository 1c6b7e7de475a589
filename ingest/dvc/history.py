"""Reading a DVC repository's git history with pygit2: the pipeline files of every commit and experiment.

Nothing here checks out files or runs DVC: every file is read from git's object database at
the commit (``dvc.lock``, ``dvc.yaml``, ``*.dvc``, params and metrics files), so a history of
hundreds of commits is read in seconds and the working copy is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pygit2
import yaml

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

EXPERIMENT_REFS = "refs/exps/"


class UnreadableFile(ValueError):
    """A pipeline file at a revision that is not valid YAML/JSON or not the shape DVC writes."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path


@dataclass
class Revision:
    """One pipeline state: a commit on a branch, or a `dvc exp run` experiment on top of its baseline."""

    sha: str
    kind: str  # "commit" | "experiment"
    name: str
    message: str
    author: str
    email: str
    at: datetime
    parent: str | None
    baseline: str | None = None
    branches: list[str] = field(default_factory=list)


class GitHistory:
    """The repository at ``path``: its revisions, oldest first, and its files at any of them."""

    def __init__(self, path: str) -> None:
        self.repo = pygit2.Repository(path)
        self.root = Path(self.repo.workdir or path).resolve()

    @property
    def remote_url(self) -> str | None:
        try:
            return self.repo.remotes["origin"].url
        except (KeyError, ValueError):
            return None

    def head_has_dvc(self) -> bool:
        return (self.root / ".dvc").is_dir()

    def commits(self) -> list[Revision]:
        """Every commit reachable from a branch or tag, parents before children."""
        tips: dict[str, list[str]] = {}
        for ref_name in self.repo.references:
            if ref_name.startswith(("refs/heads/", "refs/tags/")):
                target = self.repo.references[ref_name].peel(pygit2.Commit)
                tips.setdefault(str(target.id), []).append(ref_name.split("/", 2)[2])
        if not tips and not self.repo.head_is_unborn:
            tips[str(self.repo.head.peel(pygit2.Commit).id)] = ["HEAD"]
        seen: set[str] = set()
        ordered: list[Revision] = []
        for tip in sorted(tips):
            walker = self.repo.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
            for commit in walker:
                sha = str(commit.id)
                if sha in seen:
                    continue
                seen.add(sha)
                ordered.append(self._revision(commit, "commit", tips.get(sha, [])))
        return ordered

    def experiments(self) -> list[Revision]:
        """`dvc exp run` results: refs/exps/<baseline sha split 2/38>/<name>, each a commit on top of its baseline."""
        found = []
        for ref_name in sorted(self.repo.references):
            if not ref_name.startswith(EXPERIMENT_REFS) or ref_name.count("/") != 4:
                continue  # refs/exps/exec/* and stash refs are DVC's bookkeeping
            _, _, prefix, rest, name = ref_name.split("/")
            commit = self.repo.references[ref_name].peel(pygit2.Commit)
            revision = self._revision(commit, "experiment", [])
            revision.name = name
            revision.baseline = prefix + rest
            found.append(revision)
        return sorted(found, key=lambda r: (r.at, r.sha))

    def _revision(self, commit: Any, kind: str, branches: list[str]) -> Revision:
        offset = timezone(timedelta(minutes=commit.commit_time_offset))
        at = datetime.fromtimestamp(commit.commit_time, tz=offset).astimezone(timezone.utc)
        message = commit.message.strip()
        return Revision(
            sha=str(commit.id),
            kind=kind,
            name=message.splitlines()[0] if message else str(commit.id)[:8],
            message=message,
            author=commit.author.name,
            email=commit.author.email,
            at=at,
            parent=str(commit.parents[0].id) if commit.parents else None,
            branches=branches,
        )

    # -- files at a revision
    def blob_id(self, sha: str, path: str) -> str | None:
        try:
            entry = self.repo[sha].peel(pygit2.Commit).tree[path]
        except KeyError:
            return None
        return str(entry.id) if entry.type_str == "blob" else None

    def read(self, sha: str, path: str) -> bytes | None:
        blob = self.blob_id(sha, path)
        return self.repo[blob].data if blob else None

    def load_yaml(self, sha: str, path: str) -> Any:
        data = self.read(sha, path)
        if data is None:
            return None
        try:
            return yaml.load(data, Loader=_Loader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise UnreadableFile(path, f"not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None

    def dvc_files(self, sha: str) -> Iterator[str]:
        """Paths of the ``*.dvc`` files (``dvc add``) in the tree at ``sha``."""
        stack = [("", self.repo[sha].peel(pygit2.Commit).tree)]
        while stack:
            prefix, tree = stack.pop()
            for entry in tree:
                path = f"{prefix}{entry.name}"
                if entry.type_str == "tree":
                    if entry.name not in (".git", ".dvc"):
                        stack.append((path + "/", self.repo[entry.id]))
                elif entry.name.endswith(".dvc"):
                    yield path

    def tree_id(self, sha: str) -> str:
        return str(self.repo[sha].peel(pygit2.Commit).tree.id)

    def changed_paths(self, revision: Revision) -> set[str]:
        """Paths that differ from the first parent (every path for a root commit)."""
        commit = self.repo[revision.sha].peel(pygit2.Commit)
        if revision.parent is None:
            diff = commit.tree.diff_to_tree(swap=True)
        else:
            diff = self.repo.diff(self.repo[revision.parent].peel(pygit2.Commit).tree, commit.tree)
        paths: set[str] = set()
        for delta in diff.deltas:
            paths.add(delta.new_file.path)
            paths.add(delta.old_file.path)
        return paths
