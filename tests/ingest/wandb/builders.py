"""Real W&B run files: the real ``wandb`` client in offline mode, in a child process.

The client keeps global state (the active run, a service process) and reads its settings from
the environment, so each build runs in its own interpreter with its folders inside ``root``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

#: a config value bigger than a 32 KiB block: its record is split FIRST, MIDDLE, LAST
BIG_NOTE = "".join(f"{i:05d} churn feature notes " for i in range(3500))

SCRIPT = textwrap.dedent(
    '''
    import json, sys
    from pathlib import Path
    import wandb

    root = Path(sys.argv[1])
    spec = json.loads(Path(sys.argv[2]).read_text())
    for run_spec in spec:
        run = wandb.init(mode="offline", dir=str(root), id=run_spec["id"], name=run_spec["name"],
                         entity=run_spec.get("entity"), project=run_spec["project"], config=run_spec["config"],
                         tags=run_spec["tags"], notes=run_spec["notes"], job_type="train")
        for row in run_spec["history"]:
            run.log(row)
        for key, value in run_spec.get("summary", {}).items():
            run.summary[key] = value
        for art in run_spec.get("artifacts", []):
            artifact = wandb.Artifact(art["name"], type=art["type"], description=art.get("description"),
                                      metadata=art.get("metadata"))
            for path in art.get("files", []):
                artifact.add_file(str(root / path))
            for ref in art.get("references", []):
                artifact.add_reference(ref)
            run.log_artifact(artifact)
        run.finish(exit_code=run_spec.get("exit_code", 0))
    '''
)


def write_runs(root: Path, spec: list[dict]) -> list[Path]:
    """Run the real client over ``spec`` (one dict per run); returns the run files it wrote."""
    import json

    root.mkdir(parents=True, exist_ok=True)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("WANDB_")
    } | {
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_USERNAME": "li.wei",
        "WANDB_DIR": str(root),
        "WANDB_CACHE_DIR": str(root / ".cache"),
        "WANDB_DATA_DIR": str(root / ".data"),
        "WANDB_CONFIG_DIR": str(root / ".config"),
        "WANDB_ARTIFACT_DIR": str(root / ".artifacts"),
        "WANDB_DISABLE_GIT": "true",
        "WANDB_DISABLE_CODE": "true",
        "WANDB_X_DISABLE_STATS": "true",
    }
    script, spec_file = root / "log_runs.py", root / "runs.json"
    script.write_text(SCRIPT)
    spec_file.write_text(json.dumps(spec))
    done = subprocess.run([sys.executable, str(script), str(root), str(spec_file)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"the wandb client failed:\n{done.stdout}\n{done.stderr}")
    return sorted(root.glob("wandb/offline-run-*/run-*.wandb"))


def churn_runs(root: Path) -> list[dict]:
    """Three runs of one project: a baseline, an improvement that logs data and a model, a failure."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "train.csv").write_text("customer_id,tenure_days,churned\n1,10,0\n2,400,1\n3,35,0\n")
    (data / "labels.csv").write_text("customer_id,label\n1,0\n2,1\n3,0\n")
    (root / "model.txt").write_text("tree[0]: tenure_days < 30 -> 0.8\n")
    history = lambda aucs, losses: [{"val_auc": a, "val_loss": l} for a, l in zip(aucs, losses)]  # noqa: E731
    return [
        {
            "id": "base0001", "name": "baseline-lgbm", "entity": "growth", "project": "churn",
            "config": {"lr": 0.05, "model": {"kind": "lgbm", "depth": 6}, "features": ["tenure_days"]},
            "tags": ["baseline"], "notes": "Plain LightGBM on the 30-day churn label.",
            "history": history([0.78, 0.80, 0.79], [0.52, 0.49, 0.50]),
        },
        {
            "id": "smooth01", "name": "label-smoothing", "entity": "growth", "project": "churn",
            "config": {"lr": 0.05, "model": {"kind": "lgbm", "depth": 6}, "label_smoothing": 0.1,
                       "feast": {"project": "churn_features", "feature_service": "churn_v1"}, "big_note": BIG_NOTE},
            "tags": ["label-smoothing", "feast.feature_views=customer_stats"],
            "notes": "Smoothed noisy churn labels; beats the baseline.",
            "history": history([0.79, 0.83, 0.82], [0.50, 0.44, 0.45]),
            "summary": {"best_val_auc": 0.83},
            "artifacts": [
                {"name": "churn-train", "type": "dataset", "description": "Training rows",
                 "metadata": {"rows": 3}, "files": ["data/train.csv", "data/labels.csv"]},
                {"name": "churn-train-ref", "type": "dataset", "references": [(data / "train.csv").resolve().as_uri()]},
                {"name": "churn-model", "type": "model", "files": ["model.txt"]},
            ],
        },
        {
            "id": "oom00001", "name": "wide-trees", "entity": "growth", "project": "churn",
            "config": {"lr": 0.05, "model": {"kind": "lgbm", "depth": 64}},
            "tags": [], "notes": "Ran out of memory building depth-64 trees.",
            "history": history([0.70], [0.61]), "exit_code": 1,
        },
    ]
