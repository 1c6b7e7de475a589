"""Run every benchmark in sequence (one JSON line per figure on stdout; progress on stderr).

``python bench/run_all.py [--quick]``; ``make bench`` runs the full sizes. The order matters:
``ingest_mlflow.py`` builds and caches the 10k MLflow store and the ingested memory that
``search_latency.py`` reuses. Scripts run one at a time: they share two cores.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("ann_recall.py", "ingest_mlflow.py", "search_latency.py", "backends.py", "api_load.py", "openlineage.py", "why.py",
           "wandb_reader.py", "data_sources.py", "digest.py", "ui.py")


def main() -> int:
    extra = [a for a in sys.argv[1:] if a == "--quick"]
    failed = []
    for script in SCRIPTS:
        started = time.perf_counter()
        print(f"[run_all] {script} {' '.join(extra)}", file=sys.stderr, flush=True)
        code = subprocess.run([sys.executable, str(HERE / script), *extra], cwd=HERE).returncode
        print(f"[run_all] {script}: exit {code} in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        if code:
            failed.append(script)
    if failed:
        print(f"[run_all] failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
