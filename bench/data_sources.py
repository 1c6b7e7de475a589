"""DVC history and Delta log ingestion throughput.

1. DVC: a repository with N pipeline commits (default 500) written with ``git fast-import``: each
   commit changes ``params.yaml`` and ``dvc.lock`` (two stages, the exact format DVC writes) and
   ``metrics.json``; every 10th commit also refreshes the raw data's ``.dvc`` file. Figures:
   commits/s read and mapped by the ingestor, and commits/s through ``MemoryService.ingest``
   into a fresh embedded memory (search indexing deferred, it is measured elsewhere). Baseline in
   the same process: a bare pygit2 walk reading and YAML-parsing each commit's ``dvc.lock``.
2. Delta: a real table with M versions (default 1,000 appends written by ``deltalake``, a schema
   change every 250). Figures: versions/s read and mapped, versions/s ingested. Baseline: the same
   ``load_as_version`` + ``schema()`` loop without mapping.

    python bench/data_sources.py [--commits 500] [--versions 1000] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the repository on sys.path)
from _common import CACHE, emit

import pandas as pd
import yaml

from ingest.base import IngestReport
from ingest.delta import DeltaConfig, DeltaIngestor
from ingest.dvc import DvcConfig, DvcIngestor
from memory.entities import SourceState
from memory.service import MemoryService
from memory.settings import Settings

BENCH = "data_sources"


def _lock(number: int, raw_md5: str) -> str:
    features = f"{number:032x}"[-32:]
    return yaml.safe_dump({"schema": "2.0", "stages": {
        "prepare": {"cmd": "python src/prepare.py",
                    "deps": [{"path": "data/raw.csv", "hash": "md5", "md5": raw_md5, "size": 1000},
                             {"path": "src/prepare.py", "hash": "md5", "md5": "a" * 32, "size": 200}],
                    "params": {"params.yaml": {"prepare.split": 0.2}},
                    "outs": [{"path": "data/features.csv", "hash": "md5", "md5": features, "size": 5000}]},
        "train": {"cmd": "python src/train.py",
                  "deps": [{"path": "data/features.csv", "hash": "md5", "md5": features, "size": 5000},
                           {"path": "src/train.py", "hash": "md5", "md5": "b" * 32, "size": 300}],
                  "params": {"params.yaml": {"train": {"lr": round(0.001 * (number % 97 + 1), 4), "epochs": number % 7 + 1}}},
                  "outs": [{"path": "metrics.json", "hash": "md5", "md5": f"{number + 7:032x}", "size": 40},
                           {"path": "model.pkl", "hash": "md5", "md5": f"{number + 9:032x}", "size": 900}]},
    }}, sort_keys=False)


def build_dvc_history(root: Path, commits: int) -> None:
    """A git repository of ``commits`` DVC pipeline commits, written in one ``git fast-import`` stream."""
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    dvc_yaml = ("stages:\n  prepare:\n    cmd: python src/prepare.py\n    deps: [data/raw.csv, src/prepare.py]\n"
                "    params: [prepare.split]\n    outs: [data/features.csv]\n  train:\n    cmd: python src/train.py\n"
                "    deps: [data/features.csv, src/train.py]\n    params: [train]\n    outs: [model.pkl]\n"
                "    metrics:\n    - metrics.json:\n        cache: false\n")
    stream = []

    def blob(path: str, text: str) -> str:
        data = text.encode()
        return f"M 100644 inline {path}\ndata {len(data)}\n{data.decode()}\n"

    for number in range(commits):
        raw_md5 = f"{number // 10:032x}"
        message = f"experiment {number}: lr {0.001 * (number % 97 + 1):.3f}"
        files = [blob("dvc.lock", _lock(number, raw_md5)),
                 blob("params.yaml", yaml.safe_dump({"prepare": {"split": 0.2},
                                                     "train": {"lr": round(0.001 * (number % 97 + 1), 4), "epochs": number % 7 + 1}})),
                 blob("metrics.json", f'{{"auc": {0.7 + (number % 50) / 500:.4f}}}')]
        if number == 0:
            files += [blob("dvc.yaml", dvc_yaml), blob(".dvc/config", "")]
        if number % 10 == 0:
            files.append(blob("data/raw.csv.dvc", f"outs:\n- md5: {raw_md5}\n  size: 1000\n  hash: md5\n  path: raw.csv\n"))
        stamp = 1_780_000_000 + number * 3600
        stream.append(f"commit refs/heads/main\ncommitter Bench <bench@acme.test> {stamp} +0000\n"
                      f"data {len(message)}\n{message}\n" + "".join(files))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input="".join(stream).encode(), check=True)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=root, check=True)


def bare_walk(root: Path) -> int:
    """Baseline: every commit's dvc.lock read and parsed, nothing mapped."""
    import pygit2

    repo = pygit2.Repository(str(root))
    count = 0
    for commit in repo.walk(repo.head.target, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE):
        try:
            yaml.load(repo[commit.tree["dvc.lock"].id].data, Loader=yaml.CSafeLoader)
            count += 1
        except KeyError:
            pass
    return count


def build_delta(path: Path, versions: int) -> None:
    from deltalake import write_deltalake

    for number in range(versions):
        frame = pd.DataFrame({"id": [number], "value": [number * 0.5]})
        if number >= 250:
            frame["extra_250"] = number
        if number >= 500:
            frame["extra_500"] = str(number)
        write_deltalake(path, frame, mode="append" if number else "error", schema_mode="merge" if number else None)


def delta_baseline(path: Path) -> int:
    from deltalake import DeltaTable

    table = DeltaTable(str(path))
    table.history()
    for version in range(table.version() + 1):
        table.load_as_version(version)
        table.schema().to_json()
        table.get_add_actions(flatten=True)
    return table.version() + 1


def timed(fn, *args):  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=500)
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="50 commits, 100 versions")
    args = parser.parse_args()
    commits, versions = (50, 100) if args.quick else (args.commits, args.versions)
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-data-", dir=CACHE))
    try:
        # -- DVC
        repo = work / "repo"
        _, built = timed(build_dvc_history, repo, commits)
        read, base_s = timed(bare_walk, repo)
        assert read == commits, read
        report = IngestReport()
        ingestor = DvcIngestor(DvcConfig(repo_path=str(repo), experiments=False), report)
        ingestor.check()
        records, map_s = timed(lambda: sum(1 for _ in ingestor.records(SourceState(source_key=ingestor.source_key))))
        assert report.read == commits and report.rejected == 0, report.as_dict()
        emit(BENCH, "dvc_commits_per_s_read_and_mapped", commits / map_s, baseline="bare pygit2 walk + YAML parse of dvc.lock",
             baseline_value=commits / base_s, higher_is_better=True, commits=commits, records=records, repo_build_s=built)
        with MemoryService(Settings(home=work / "home")) as svc:
            ingest_report, ingest_s = timed(lambda: svc.ingest(
                svc.make_ingestor("dvc", {"repo_path": str(repo), "experiments": False}, IngestReport()), index=False))
            emit(BENCH, "dvc_commits_per_s_ingested", commits / ingest_s, baseline="bare pygit2 walk + YAML parse of dvc.lock",
                 baseline_value=commits / base_s, higher_is_better=True, commits=commits, nodes=ingest_report.new,
                 edges=ingest_report.edges, note="store writes included, search indexing deferred")
            again, again_s = timed(lambda: svc.ingest(
                svc.make_ingestor("dvc", {"repo_path": str(repo), "experiments": False}, IngestReport()), index=False))
            assert again.nothing_changed
            emit(BENCH, "dvc_second_ingest_s", again_s, baseline="first ingest", baseline_value=ingest_s, commits=commits)
        # -- Delta
        table = work / "table"
        _, built = timed(build_delta, table, versions)
        count, base_s = timed(delta_baseline, table)
        report = IngestReport()
        delta = DeltaIngestor(DeltaConfig(table_uri=str(table)), report)
        delta.check()
        _, map_s = timed(lambda: sum(1 for _ in delta.records(SourceState(source_key=delta.source_key))))
        assert report.read == versions, report.as_dict()
        emit(BENCH, "delta_versions_per_s_read_and_mapped", versions / map_s, baseline="load_as_version + schema + add actions loop",
             baseline_value=count / base_s, higher_is_better=True, versions=versions, table_build_s=built)
        with MemoryService(Settings(home=work / "home-delta")) as svc:
            ingest_report, ingest_s = timed(lambda: svc.ingest(
                svc.make_ingestor("delta", {"table_uri": str(table)}, IngestReport()), index=False))
            emit(BENCH, "delta_versions_per_s_ingested", versions / ingest_s, baseline="load_as_version + schema + add actions loop",
                 baseline_value=count / base_s, higher_is_better=True, versions=versions, schema_change_events=ingest_report.events,
                 note="store writes included, search indexing deferred")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
