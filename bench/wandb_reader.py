"""W&B run files: records/s through the LevelDB-log reader, and runs/s ingested.

Run files are written once by the real ``wandb`` client in offline mode (cached in
``bench/.cache/wandb-<runs>x<rows>/``): each run logs ``rows`` history rows of 8 metrics and a
small config. Figures, all measured in this process over the same files (page-cached):

1. ``reader_records_per_s``: framing + CRC-32 of every record (``iter_records`` over bytes in
   memory). Baseline: the raw file read (``read_bytes``) of the same files, as records/s.
2. ``decode_records_per_s``: framing + CRC + ``wandb_internal_pb2.Record.ParseFromString``.
   Baseline: the framing alone (figure 1).
3. ``ingest_runs_per_s``: ``MemoryService.ingest`` with the W&B ingestor into a fresh SQLite
   memory, search indexing deferred (embedding is measured in ``ingest_mlflow.py``).
   Baseline: reading and folding the same runs (no mapping, no store).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import CACHE, REPO, common_args, emit, log

BENCH = "wandb_reader"


def build(runs: int, rows: int) -> Path:
    root = CACHE / f"wandb-{runs}x{rows}"
    done = root / ".complete"
    if done.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    sys.path.insert(0, str(REPO))
    from tests.ingest.wandb.builders import write_runs

    spec = [
        {"id": f"bench{i:04d}", "name": f"sweep-{i}", "entity": "bench", "project": "reader",
         "config": {"lr": 0.001 * (i + 1), "model": {"depth": i % 8}}, "tags": ["sweep"], "notes": f"Run {i} of the sweep.",
         "history": [{f"m{k}": (step * (k + 1) % 97) / 97 for k in range(8)} for step in range(rows)]}
        for i in range(runs)
    ]
    log(f"writing {runs} runs x {rows} history rows with the real wandb client")
    write_runs(root, spec)
    done.touch()
    return root


def main() -> None:
    args = common_args(__doc__).parse_args()
    runs, rows = (4, 200) if args.quick else (40, 2000)
    root = build(runs, rows)
    from ingest.base import IngestReport
    from ingest.wandb.ingestor import WandbIngestor, decode_run_file
    from ingest.wandb.config import WandbConfig
    from ingest.wandb.reader import iter_records
    from wandb.proto.wandb_internal_pb2 import Record

    files = sorted(root.glob("wandb/offline-run-*/run-*.wandb"))
    size = sum(f.stat().st_size for f in files)
    records = sum(1 for f in files for _ in iter_records(f))
    log(f"{len(files)} files, {size / 1e6:.1f} MB, {records:,} records")

    def best_of(fn, repeat: int = 5) -> float:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return min(times)

    raw = best_of(lambda: [f.read_bytes() for f in files])
    framing = best_of(lambda: [sum(1 for _ in iter_records(f)) for f in files])

    def decode() -> None:
        for f in files:
            for _, payload in iter_records(f):
                Record().ParseFromString(payload)

    decoding = best_of(decode, 3)
    emit(BENCH, "reader_records_per_s", records / framing, baseline="raw read_bytes of the same files (records/s)",
         baseline_value=records / raw, higher_is_better=True, records=records, megabytes=round(size / 1e6, 2),
         mb_per_s=round(size / 1e6 / framing, 1))
    emit(BENCH, "decode_records_per_s", records / decoding, baseline="framing + CRC alone (records/s)",
         baseline_value=records / framing, higher_is_better=True, records=records)

    fold_time = best_of(lambda: [decode_run_file(f) for f in files], 3)
    sys.path.insert(0, str(REPO))
    from memory.service import MemoryService
    from memory.settings import Settings

    class NoEmbedder:  # indexing is deferred: nothing is embedded
        name, dimension = "none", 384

        def embed(self, texts):  # pragma: no cover - never called with index=False
            raise AssertionError("not used")

    home = Path(tempfile.mkdtemp(prefix="xmem-bench-wandb-"))
    try:
        service = MemoryService(Settings(home=home), embedder=NoEmbedder())  # type: ignore[arg-type]
        report = IngestReport()
        started = time.perf_counter()
        service.ingest(WandbIngestor(WandbConfig(paths=(str(root),)), report), index=False)
        ingest_time = time.perf_counter() - started
        service.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert report.read == len(files) and report.rejected == 0, report.as_dict()
    emit(BENCH, "ingest_runs_per_s", len(files) / ingest_time, baseline="read + fold the same runs, no mapping or store (runs/s)",
         baseline_value=len(files) / fold_time, higher_is_better=True, runs=len(files), rows_per_run=rows,
         nodes_new=report.new, edges=report.edges)


if __name__ == "__main__":
    main()
