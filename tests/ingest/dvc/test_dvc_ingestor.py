"""The DVC ingestor on a real repository built with git and dvc (init, add, repro, commits, exp run)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
from typer.testing import CliRunner

from ingest.base import IngestReport
from ingest.dvc import DvcConfig, DvcIngestor
from memory.cli.main import app
from memory.demo.data_sources import GitWorkspace, build_dvc_repo
from memory.entities import SourceState
from memory.errors import NotFound
from memory.service import MemoryService

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "dvc_records.json"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[Any], list[str]]]:
    root = tmp_path_factory.mktemp("dvc") / "churn-pipeline"
    commits, experiments = build_dvc_repo(root)
    yield root, commits, experiments


@pytest.fixture
def repo(built: tuple[Path, list[Any], list[str]], tmp_path: Path) -> Path:
    """A private copy of the built repository (tests change it)."""
    copy = tmp_path / "churn-pipeline"
    shutil.copytree(built[0], copy, symlinks=True)
    return copy


def ingest(service: MemoryService, path: Path, **config: Any) -> IngestReport:
    return service.ingest(service.make_ingestor("dvc", {"repo_path": str(path), **config}, IngestReport()))


def records_of(path: Path, **config: Any) -> tuple[list[dict[str, Any]], IngestReport]:
    report = IngestReport()
    ingestor = DvcIngestor(DvcConfig(repo_path=str(path), **config), report)
    ingestor.check()
    records = [r.model_dump(mode="json") | {"type": type(r).__name__} for r in ingestor.records(SourceState(source_key=ingestor.source_key))]
    return records, report


def normalise(records: list[dict[str, Any]], root: Path) -> Any:
    """Stable names for what differs between machines: the repo path, commit shas and content hashes."""
    text = json.dumps(records, sort_keys=True).replace(str(root), "<repo>")
    names: dict[str, str] = {}

    def name(match: re.Match[str]) -> str:
        value = match.group(0)
        kind = "sha" if len(value) == 40 else "md5" if len(value) == 32 else "key"
        return names.setdefault(value, f"<{kind}{sum(1 for n in names.values() if n.startswith('<' + kind))}>")

    text = re.sub(r"\b[0-9a-f]{40}\b|\b[0-9a-f]{32}\b|\b[0-9a-f]{16}\b", name, text)
    return json.loads(text)


def test_records_match_golden(built: tuple[Path, list[Any], list[str]], update_golden: bool) -> None:
    """Every record for the four pipeline commits (experiments are dated by DVC at run time: left out here)."""
    records, report = records_of(built[0], experiments=False)
    got = normalise(records, built[0])
    if update_golden or not GOLDEN.exists():
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        if not update_golden:
            pytest.fail(f"golden file {GOLDEN} was missing and has been written; check it and re-run")
    assert got == json.loads(GOLDEN.read_text())
    assert report.read == 4 and report.rejected == 0


def test_history_experiments_and_lineage(service: MemoryService, built: tuple[Path, list[Any], list[str]]) -> None:
    root, commits, experiments = built
    report = ingest(service, root)
    assert report.read == len(commits) + len(experiments) and report.warning_count == 0
    base = "dvc://" + str(root)
    runs = {n.name: n for n in service.store.list_nodes(kind="run").items}
    assert set(runs) == {c.message for c in commits} | set(experiments)
    # params as DVC recorded them, metrics from metrics.json, the code version is the commit
    last = runs[commits[-1].message]
    assert last.properties["params"]["train.lr"] == "0.05" and last.properties["params"]["prepare.tenure_buckets"] == "True"
    assert last.properties["metrics"]["val_auc"] == commits[-1].metrics["val_auc"]
    assert last.properties["git_commit"] == commits[-1].sha
    # an experiment is a run on top of its baseline commit, with its own params
    more = runs["more-trees"]
    assert more.properties["params"]["train.n_estimators"] == "400"
    assert {(e.kind.value, e.dst) for e in service.store.list_edges(more.urn)} >= {
        ("child_of", f"{base}/commits/{commits[-1].sha}")}
    # the data refresh is a new version of the raw data, written by the commit that recorded it
    raw = f"dataset://file://{root}/data/raw/customers.csv"
    versions = [n for n in service.store.list_nodes(kind="dataset_version").items if n.urn.startswith(raw + "@")]
    assert len(versions) == 2
    up = service.lineage(f"{base}/commits/{commits[-1].sha}", direction="up", depth=6)
    reached = {n.urn for n in up.nodes.values()}
    refresh = commits[2].sha
    assert f"git://commit/{refresh}" in reached  # the data commit that added the refreshed raw data
    assert any(u.startswith(f"{base}/stages/prepare@") for u in reached)
    assert any(u.startswith(f"dataset://file://{root}/data/features.csv@{commits[-1].features_md5}") for u in reached)
    # the model artifact declared in dvc.yaml: one version per distinct model file, produced by its run
    produced = [e.dst for e in service.store.list_edges(last.urn) if e.kind.value == "produced"]
    assert len(produced) == 1 and produced[0].startswith(f"{base}/models/churn-model@")
    # and a second ingest reads nothing again
    again = ingest(service, root)
    assert again.nothing_changed and again.skipped_unchanged == again.read


def test_new_commit_is_read_incrementally_and_rewritten_history_tombstoned(service: MemoryService, repo: Path) -> None:
    first = ingest(service, repo, experiments=False)
    assert first.read == 4
    git = GitWorkspace(repo)
    params = (repo / "params.yaml").read_text().replace("n_estimators: 100", "n_estimators: 200")
    (repo / "params.yaml").write_text(params)
    git.dvc("repro", "-q")
    sha = git.commit("200 trees", at=None)  # type: ignore[arg-type]
    second = ingest(service, repo, experiments=False)
    assert (second.read, second.skipped_unchanged, second.new >= 1) == (5, 4, True)
    run = service.store.get_node(f"dvc://{repo}/commits/{sha}")
    assert run.properties["params"]["train.n_estimators"] == "200"
    # the commit is dropped from the branch: its run leaves the memory
    git.run("git", "reset", "-q", "--hard", "HEAD~1")
    third = ingest(service, repo, experiments=False)
    assert third.deleted == 1
    assert service.store.get_node(run.urn, include_deleted=True).deleted


def test_corrupt_lock_in_one_commit_is_reported_and_the_rest_kept(service: MemoryService, repo: Path) -> None:
    git = GitWorkspace(repo)
    (repo / "dvc.lock").write_text("schema: '2.0'\nstages:\n  prepare: [broken\n")
    bad = git.commit("hand-edited lock", at=None)  # type: ignore[arg-type]
    runner = CliRunner()
    home = service.settings.home
    service.close()
    result = runner.invoke(app, ["--home", str(home), "ingest", "dvc", str(repo), "--no-experiments"])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert f"{bad[:8]} (hand-edited lock): dvc.lock: not valid YAML (line 4" in said, said
    assert "1 revision(s) skipped" in said
    with MemoryService(service.settings) as svc:
        names = {n.name for n in svc.store.list_nodes(kind="run").items}
        assert "hand-edited lock" not in names and len(names) == 4
        assert not [n for n in svc.store.list_nodes(kind="code_version").items if n.urn.endswith(bad)]


@pytest.mark.parametrize("setup,message", [
    ("missing", "no such folder"),
    ("plain", "is not a git repository"),
    ("git-only", "is not a DVC repository (no .dvc/ folder at its root)"),
])
def test_not_a_dvc_repository(tmp_path: Path, setup: str, message: str) -> None:
    path = tmp_path / "repo"
    if setup != "missing":
        path.mkdir()
        (path / "data.csv").write_text("a\n1\n")
    if setup == "git-only":
        subprocess.run(["git", "init", "-q"], cwd=path, check=True)
        subprocess.run(["git", "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "--allow-empty", "-m", "x"],
                       cwd=path, check=True)
    ingestor = DvcIngestor(DvcConfig(repo_path=str(path)), IngestReport())
    with pytest.raises(NotFound, match=re.escape(message)):
        ingestor.check()
