"""Helpers shared by the benchmark scripts: output, timing, the cached demo MLflow store, user queries.

Not a benchmark itself. Everything expensive is cached under ``bench/.cache/`` (gitignored):
the populated MLflow store, the ingested 10k memory, the synthetic 100k index and the
embeddings of the texts used to make synthetic vectors.
"""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CACHE = BENCH / ".cache"
RESULTS = BENCH / "results"

if str(REPO) not in sys.path:  # the scripts run as `python bench/x.py`
    sys.path.insert(0, str(REPO))

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no phoning home from inside a measurement

#: demo scale giving ~10,000 runs (seed 7, scale 25); --quick uses scale 0.1 (~75 runs)
FULL_SCALE, QUICK_SCALE, SEED = 25.0, 0.1, 7


# -- output ------------------------------------------------------------------------------
def emit(bench: str, figure: str, value: float, *, baseline: str | None = None, baseline_value: float | None = None,
         higher_is_better: bool = False, **extra: Any) -> dict[str, Any]:
    """Print one JSON line and append it to ``bench/results/<bench>.jsonl``.

    ``ratio`` is always "how many times better than the baseline" (> 1 means we win):
    baseline/value for times, value/baseline for throughputs and recalls.
    """
    line: dict[str, Any] = {"bench": bench, "figure": figure, "value": _round(value)}
    line.update({k: _round(v) for k, v in extra.items()})
    if baseline is not None:
        line["baseline"] = baseline
        line["baseline_value"] = _round(baseline_value)
        if baseline_value and value:
            line["ratio"] = round(value / baseline_value if higher_is_better else baseline_value / value, 3)
    line["load_avg_1m"] = round(os.getloadavg()[0], 2)
    line["at"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    line["host"] = f"{platform.node()} {os.cpu_count()} cores"
    print(json.dumps(line), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / f"{bench}.jsonl", "a") as out:
        out.write(json.dumps(line) + "\n")
    return line


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4 if abs(value) < 10 else 2)
    return value


def log(message: str) -> None:
    """Progress goes to stderr so stdout stays one JSON line per figure."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


# -- sharing the machine -------------------------------------------------------------------
def _own_lineage() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
    return pids


def others_busy() -> list[str]:
    """Demo / MLflow server processes that are not ours (another session sharing the machine)."""
    found = subprocess.run(["pgrep", "-fa", "xmem.*demo|mlflow server"], capture_output=True, text=True).stdout
    mine = _own_lineage()
    return [line for line in found.splitlines() if line and int(line.split()[0]) not in mine and "pgrep" not in line]


def wait_for_quiet_machine(quick: bool, max_wait_s: float = 25 * 60) -> None:
    """Full-size runs wait (polling each minute, at most ~25 min) until no other demo/MLflow server runs."""
    if quick:
        return
    waited = 0.0
    while (busy := others_busy()) and waited < max_wait_s:
        log(f"another demo / mlflow server is running ({busy[0][:100]}...); waiting 60 s")
        time.sleep(60)
        waited += 60
    if busy:
        log("still busy after the wait; measuring anyway (figures carry load_avg_1m)")


def common_args(description: str | None) -> Any:
    import argparse

    parser = argparse.ArgumentParser(description=(description or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (< 1 minute once caches exist): checks the script works")
    return parser


# -- the embedding model -------------------------------------------------------------------
_MODEL: Any = None


def model() -> Any:
    """The project's real embedder (all-MiniLM-L6-v2, offline), loaded and warmed once."""
    global _MODEL
    if _MODEL is None:
        from memory.embeddings import SentenceTransformerEmbedder

        _MODEL = SentenceTransformerEmbedder()
        _MODEL.embed(["warm up"])
    return _MODEL


def cached_embedder() -> Any:
    """The real model behind the project's own text-hash cache, kept in bench/.cache/embeddings.sqlite."""
    from memory.embeddings import CachedEmbedder, EmbeddingCache

    return CachedEmbedder(model(), EmbeddingCache(CACHE / "embeddings.sqlite"))


# -- the demo organization in a real MLflow store -------------------------------------------------
def mlflow_store(quick: bool) -> Path:
    """A folder holding ``mlflow.db`` with the demo organization (~10k runs; 367 with --quick).

    Built once, in-process through ``MlflowClient(tracking_uri="sqlite:///...")``, i.e. MLflow's
    own ``SqlAlchemyStore``: writing through the HTTP server ran at 5-15 runs/s (11-35 min for 10k
    runs, depending on the load), see ``ingest_mlflow.py``, which measures both paths each run.
    """
    from memory.demo.mlflow_writer import write_organization
    from memory.demo.org import generate_organization

    scale = QUICK_SCALE if quick else FULL_SCALE
    folder = CACHE / f"mlflow-seed{SEED}-scale{scale:g}"
    done = folder / "built.json"
    if done.exists():
        built = json.loads(done.read_text()).get("demo_version")
        if built != demo_version():
            log(f"note: {folder.name} was built by another version of memory/demo ({built}, now {demo_version()}); "
                "delete it to rebuild")
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    org = generate_organization(SEED, scale)
    log(f"building the MLflow store in {folder}: {org.run_count} runs (once; cached)")
    started = time.perf_counter()
    with _cwd(folder):  # experiments' default artifact root is ./mlruns
        counts = write_organization(org, f"sqlite:///{folder / 'mlflow.db'}")
    seconds = time.perf_counter() - started
    done.write_text(json.dumps({**counts, "demo_version": demo_version(), "seconds": round(seconds, 1), "runs_per_s": round(counts["runs"] / seconds, 2),
                                "how": "MlflowClient(tracking_uri=sqlite:///...) -> SqlAlchemyStore, in-process"}))
    log(f"built in {seconds:.0f} s ({counts['runs'] / seconds:.1f} runs/s)")
    return folder


def demo_version() -> str:
    """A short hash of the demo generator's sources, recorded with the cached store."""
    import hashlib

    digest = hashlib.sha1()
    for name in ("org.py", "catalog.py", "notes.py", "mlflow_writer.py"):
        digest.update((REPO / "memory" / "demo" / name).read_bytes())
    return digest.hexdigest()[:8]


@contextmanager
def _cwd(path: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def served_copy(store: Path, workdir: Path) -> Any:
    """A real ``mlflow server`` over a copy of the cached store (the cache stays pristine)."""
    from memory.demo.mlflow_server import MlflowServer

    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(store / "mlflow.db", workdir / "mlflow.db")
    return MlflowServer(workdir)


def sample_org(runs: int, seed: int = SEED) -> Any:
    """A small organization (``runs`` runs of one project, parents kept, no registry) for write-speed samples."""
    from memory.demo.org import Organization, generate_organization

    project = generate_organization(seed, 1.0).projects[0]
    kept, keys = [], set()
    for run in project.runs:
        if len(kept) >= runs:
            break
        if run.parent_key is None or run.parent_key in keys:
            kept.append(run)
            keys.add(run.key)
    return Organization(projects=[replace(project, name=f"write-sample-{os.getpid()}", runs=kept)], models=[])


# -- documents shaped like the demo, without MLflow -------------------------------------------------
def demo_documents(seeds: Sequence[int], scale: float) -> tuple[list[Any], list[str]]:
    """Search documents of demo runs, built by the project's own ``build_document``.

    One organization per seed; seeds other than ``SEED`` get their projects renamed (``<name>-s<seed>``)
    so the result reads like one larger organization. Returns the documents and, for each, a
    group (project template + idea or role: baseline, refresh, adhoc) used to mix related vectors.
    """
    from memory.demo.org import generate_organization
    from memory.entities import Edge, EdgeKind, Node, NodeKind, Source
    from memory.index import build_document

    docs, groups = [], []
    for seed in seeds:
        org = generate_organization(seed, scale)
        for project in org.projects:
            name = project.name if seed == SEED else f"{project.name}-s{seed}"
            sign = 1.0 if project.goal == "max" else -1.0
            baseline = next((r.final(project.primary_metric) for r in project.runs if r.tags.get("baseline")), None)
            nodes: dict[str, Any] = {}
            for run in project.runs:
                urn = f"synthetic://{seed}/{run.key}"
                value = run.final(project.primary_metric)
                if run.tags.get("baseline"):
                    outcome = {"verdict": "baseline", "metric": project.primary_metric, "value": value}
                elif value is not None and baseline is not None:
                    verdict = "better" if sign * (value - baseline) > 0 else "worse"
                    outcome = {"verdict": verdict, "metric": project.primary_metric, "value": value}
                else:
                    outcome = {}
                node = Node(
                    urn=urn, kind=NodeKind.run, name=run.name, source=Source(system="mlflow", instance="synthetic", id=urn),
                    project=name, description=run.note or None, created_at=run.start,
                    properties={"params": run.params, "metrics": {k: v[-1] for k, v in run.metrics.items() if v},
                                "tags": run.tags, "notes": run.note or None, "status": run.status, "person": run.person,
                                "outcome": outcome, "git_commit": run.git_commit},
                )
                nodes[run.key] = node
                neighbours = []
                if run.parent_key and run.parent_key in nodes:
                    neighbours.append((Edge(src=urn, kind=EdgeKind.child_of, dst=nodes[run.parent_key].urn), nodes[run.parent_key]))
                dataset = Node(urn=f"synthetic://{run.dataset.name}@{run.dataset.digest}", kind=NodeKind.dataset_version,
                               name=f"{run.dataset.name}@{run.dataset.digest}", source=Source(system="s3", instance="x", id=run.dataset.uri))
                neighbours.append((Edge(src=urn, kind=EdgeKind.used, dst=dataset.urn), dataset))
                doc = build_document(node, neighbours)
                parts = run.key.split("/")
                role = parts[1].split("-", 2)[-1] if parts[1].startswith("idea-") else parts[1].split("-")[0]
                docs.append(doc)
                groups.append(f"{project.name}/{role}")
    return docs, groups


def mixed_vectors(base: np.ndarray, groups: Sequence[str], count: int, rng: np.random.Generator,
                  noise: float = 0.45) -> np.ndarray:
    """``count`` unit vectors near the real embeddings ``base`` (rows grouped by ``groups``).

    Each is a random mix of two real embeddings of the same group (project + idea), plus
    isotropic noise of norm ~``noise``: cosine ~0.9 to the mix. So the set keeps the
    clusters of real documents (one project, one idea, templated notes) at any size.
    """
    by_group: dict[str, list[int]] = {}
    for i, group in enumerate(groups):
        by_group.setdefault(group, []).append(i)
    members = [np.asarray(by_group[g]) for g in groups]
    first = rng.integers(0, len(base), count)
    second = np.array([members[i][rng.integers(0, len(members[i]))] for i in first])
    mix = rng.uniform(0.0, 0.5, (count, 1)).astype(np.float32)
    out = (1 - mix) * base[first] + mix * base[second]
    out += rng.normal(0.0, noise / np.sqrt(base.shape[1]), out.shape).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.astype(np.float32)


# -- what users ask ---------------------------------------------------------------------------
#: (question as a user types it, what the same user types in MLflow's search box today)
USER_QUERIES: list[tuple[str, str]] = [
    ("has anyone tried label smoothing?", "tags.`mlflow.note.content` ILIKE '%label smoothing%'"),
    ("focal loss for class imbalance", "tags.`mlflow.note.content` ILIKE '%focal%'"),
    ("mixup on the image tagger", "attributes.run_name ILIKE '%mixup%'"),
    ("did SMOTE oversampling help fraud detection", "tags.`mlflow.note.content` ILIKE '%smote%'"),
    ("target encoding of high-cardinality categoricals", "tags.`mlflow.note.content` ILIKE '%target encoding%'"),
    ("monotonic constraints in credit scoring", "tags.`mlflow.note.content` ILIKE '%monoton%'"),
    ("weight of evidence scorecard with logistic regression", "tags.`mlflow.note.content` ILIKE '%scorecard%'"),
    ("did the new bureau features improve AUC", "tags.`mlflow.note.content` ILIKE '%bureau%'"),
    ("reject inference experiments", "tags.`mlflow.note.content` ILIKE '%reject inference%'"),
    ("DART boosting with dropout trees", "attributes.run_name ILIKE '%dart%'"),
    ("usage trend features for churn", "tags.`mlflow.note.content` ILIKE '%trend%'"),
    ("pruning features by SHAP importance", "tags.`mlflow.note.content` ILIKE '%shap%'"),
    ("tweedie objective for lifetime value", "tags.`mlflow.note.content` ILIKE '%tweedie%'"),
    ("quantile regression with pinball loss", "tags.`mlflow.note.content` ILIKE '%quantile%'"),
    ("training on a log transformed revenue target", "tags.`mlflow.note.content` ILIKE '%log%target%'"),
    ("acquisition cohort features", "tags.`mlflow.note.content` ILIKE '%cohort%'"),
    ("two stage hurdle model for zero spenders", "tags.`mlflow.note.content` ILIKE '%hurdle%'"),
    ("GRU over transaction sequences", "tags.`mlflow.note.content` ILIKE '%sequence%'"),
    ("graph features from shared devices", "tags.`mlflow.note.content` ILIKE '%device%'"),
    ("transaction velocity counts", "tags.`mlflow.note.content` ILIKE '%velocity%'"),
    ("isolation forest anomaly score as a feature", "tags.`mlflow.note.content` ILIKE '%isolation%'"),
    ("down-weighting old transactions", "tags.`mlflow.note.content` ILIKE '%decay%'"),
    ("LambdaMART ranking objective", "attributes.run_name ILIKE '%lambdamart%'"),
    ("reranking with a cross-encoder", "tags.`mlflow.note.content` ILIKE '%cross-encoder%'"),
    ("hard negative mining for ranking", "tags.`mlflow.note.content` ILIKE '%hard negative%'"),
    ("knowledge distillation from a big teacher", "tags.`mlflow.note.content` ILIKE '%distill%'"),
    ("correcting position bias in clicks", "tags.`mlflow.note.content` ILIKE '%position%'"),
    ("query expansion with synonyms", "tags.`mlflow.note.content` ILIKE '%synonym%'"),
    ("CutMix augmentation", "attributes.run_name ILIKE '%cutmix%'"),
    ("stronger random augmentation like RandAugment", "tags.`mlflow.note.content` ILIKE '%randaug%'"),
    ("vision transformer pretrained on imagenet 21k", "tags.`mlflow.note.content` ILIKE '%21k%'"),
    ("EMA of the weights / Polyak averaging", "tags.`mlflow.note.content` ILIKE '%ema%'"),
    ("progressive resizing of images", "tags.`mlflow.note.content` ILIKE '%progressive%'"),
    ("back-translation to augment tickets", "tags.`mlflow.note.content` ILIKE '%back-translation%'"),
    ("continued pretraining on our ticket corpus", "tags.`mlflow.note.content` ILIKE '%pretraining%'"),
    ("layer-wise learning rate decay", "tags.`mlflow.note.content` ILIKE '%layer-wise%'"),
    ("in-batch negatives for the two tower model", "tags.`mlflow.note.content` ILIKE '%in-batch%'"),
    ("logQ correction for sampling bias", "tags.`mlflow.note.content` ILIKE '%logq%'"),
    ("runs that died with CUDA out of memory", "tags.`mlflow.note.content` ILIKE '%out of memory%'"),
    ("loss became NaN after warmup", "tags.`mlflow.note.content` ILIKE '%nan%'"),
    ("schema mismatch in the training snapshot", "tags.`mlflow.note.content` ILIKE '%schema%'"),
    ("runs stopped because val loss kept going up", "tags.`mlflow.note.content` ILIKE '%val loss going up%'"),
]

#: questions over the real runs of the shared corpora (bench/real_runs.py), as users type them
REAL_RUN_QUESTIONS = [
    "has anyone tried h2o on KDDCup09 appetency?", "autosklearn runs that ran out of memory",
    "could not produce any model in the requested time", "vision transformer pretrained on imagenet 21k",
    "convnext evaluated on imagenet sketch", "question answering on squad", "TPOT failures on large datasets",
    "efficientnet on imagenet-r", "random forest baseline on adult", "reading comprehension leaderboard",
    "resnet50 top1 accuracy", "AutoWEKA crashed", "deit distilled models", "node property prediction ogb",
    "constant predictor baseline", "swin transformer on imagenet-a", "hotpotqa multi hop", "chest x-ray chexpert",
    "mobilenet small models", "oboe on credit-g",
]

_TEMPLATES = ("has anyone tried {p}?", "{p} on {project}", "did {p} help {project}", "experiments with {p}",
              "{p} results for {metric}", "what happened when we tried {p} on {project}")


def query_texts(count: int, seed: int = 1) -> list[str]:
    """``count`` distinct user-style questions built from the demo catalog's idea phrases."""
    from memory.demo.catalog import IDEAS, PROJECTS

    rng = random.Random(seed)
    out: dict[str, None] = {q: None for q, _ in USER_QUERIES[:count]}
    while len(out) < count:
        project = rng.choice(PROJECTS)
        idea = IDEAS[rng.choice(list(project.ideas))]
        phrase = rng.choice(idea.phrases).replace("{v}", rng.choice(idea.sweep[0][1]))
        text = rng.choice(_TEMPLATES).format(p=phrase, project=project.name.replace("-", " "), metric=project.primary_metric)
        out[text] = None
    return list(out)[:count]


def wait_until_ready(base: str, timeout_s: float = 120.0) -> None:
    """Poll ``GET {base}/readyz`` until the API answers 200 (it loads the model first)."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the API at {base} did not become ready in {timeout_s:.0f} s")

