"""The weekly digest: generation time for a busy week, and precision/recall of near-duplicate detection.

1. **Digest time.** A memory where one week holds ~10,000 runs across 50 projects (``--quick``: ~500 runs
   across 10), with the months before it as history. Projects are demo projects (``memory.demo``) of several
   seeds, renamed ``<name>-s<seed>``; each project's last runs are moved into the week, the rest spread over
   the preceding months (times compressed, order kept). Records go through ``store.apply`` and documents
   through ``build_document`` into the embedded index, like an ingest. Vectors: one real all-MiniLM-L6-v2
   embedding per (project, idea) document text — sweeps share their text — plus noise (cosine ~0.9), so
   embedding 10k texts does not dominate the set-up. Built once, cached in ``bench/.cache/``.
   Figures: ``digest_s`` (``MemoryService.digest`` of the week, repeats included) and ``digest_no_repeats_s``;
   baseline: a plain store scan of the week's runs (``list_nodes`` by time) in the same process.
2. **Near-duplicate precision/recall.** The demo organization (seed 7, scale 1; real documents, real
   embeddings) as history, plus constructed runs one week after it ends: *repeats* — an earlier run's config
   re-run with another seed on the same dataset version (note: a sibling trial's note, or none), or with one
   numeric param nudged by 3 %; *distinct* — the same config on another dataset version (a data refresh), or
   the idea's main param set to a value never tried (×3). ``similar`` flags a repeat when its best match is
   one; a repeat counts as found only when the match has the source run's config.
"""

from __future__ import annotations

import random
import shutil
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from _common import CACHE, SEED, common_args, emit, log

BENCH = "digest"
WEEK = (datetime(2026, 11, 16, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc))
HISTORY_START = datetime(2026, 1, 5, tzinfo=timezone.utc)
#: (projects, runs of each project in the week)
FULL, QUICK = (50, 200), (10, 50)


def _service(home: Path) -> Any:
    from _common import cached_embedder, model
    from memory.service import MemoryService
    from memory.settings import Settings

    svc = MemoryService(Settings(home=home), embedder=model())
    svc.embedder.cache.close()
    svc.embedder = cached_embedder()  # texts embedded once across benchmark runs (bench/.cache/embeddings.sqlite)
    return svc


def _records(project: Any, name: str, runs: list[Any], times: list[datetime]) -> list[Any]:
    from memory.entities import EdgeKind, EdgeUpsert, NodeKind, NodeUpsert, Source
    from memory.entities.identity import dataset_urn, dataset_version_urn

    base = f"mlflow://bench/{name}"
    src = lambda i: Source(system="mlflow", instance="bench", id=i, url=f"http://mlflow.bench/{i}")  # noqa: E731
    sign = 1.0 if project.goal == "max" else -1.0
    baseline = next((r.final(project.primary_metric) for r in runs if r.tags.get("baseline")), None)
    out: list[Any] = [NodeUpsert(urn=f"{base}/project", kind=NodeKind.project, name=name, source=src(name), project=name)]
    for dataset in project.datasets:
        out.append(NodeUpsert(urn=dataset_urn(dataset.uri), kind=NodeKind.dataset, name=dataset.name, source=src(dataset.uri)))
        out.append(NodeUpsert(urn=dataset_version_urn(dataset.uri, dataset.digest), kind=NodeKind.dataset_version,
                              name=f"{dataset.name}@{dataset.digest}", source=src(dataset.digest)))
    for run, at in zip(runs, times):
        urn = f"{base}/runs/{run.key.replace('/', '-')}"
        value = run.final(project.primary_metric)
        outcome: dict[str, Any] = {"metric": project.primary_metric, "higher_is_better": sign > 0}
        if value is not None:
            outcome["value"] = value
            if run.tags.get("baseline"):
                outcome.update(verdict="baseline", delta=0.0)
            elif baseline is not None:
                delta = value - baseline
                outcome.update(verdict="better" if sign * delta > 0 else "worse", delta=delta, baseline_value=baseline)
        parent = f"{base}/runs/{run.parent_key.replace('/', '-')}" if run.parent_key else None
        out.append(NodeUpsert(
            urn=urn, kind=NodeKind.run, name=run.name, source=src(urn), project=name, description=run.note or None,
            created_at=at, properties={
                "params": run.params, "metrics": {k: v[-1] for k, v in run.metrics.items() if v}, "tags": run.tags,
                "notes": run.note or None, "status": run.status, "person": run.person, "outcome": outcome,
                "parent_run_id": parent.rsplit("/runs/", 1)[1] if parent else None, "git_commit": run.git_commit}))
        out.append(EdgeUpsert(src=urn, kind=EdgeKind.in_project, dst=f"{base}/project", valid_from=at))
        out.append(EdgeUpsert(src=urn, kind=EdgeKind.used, dst=dataset_version_urn(run.dataset.uri, run.dataset.digest),
                              valid_from=at))
        if parent:
            out.append(EdgeUpsert(src=urn, kind=EdgeKind.child_of, dst=parent, valid_from=at))
    return out


def _index_with_group_vectors(svc: Any, rng: np.random.Generator) -> None:
    """Index pending documents: one real embedding per (project, idea) text, plus noise per run."""
    from memory.index import build_document

    cache: dict[str, np.ndarray] = {}
    while True:
        pending = svc.store.pending_documents(limit=2000)
        if not pending:
            return
        docs = [build_document(p.node, p.neighbours) for p in pending if p.node.kind.value == "run"]
        keys, first_text = [], {}
        for doc, p in zip(docs, [p for p in pending if p.node.kind.value == "run"]):
            key = f"{p.node.project}/{p.node.properties.get('tags', {}).get('sweep') or p.node.name}"
            keys.append(key)
            first_text.setdefault(key, doc.text)  # the group's first real document stands for the group
        new = sorted({k for k in keys if k not in cache})
        for key, vector in zip(new, svc.embedder.embed([first_text[k] for k in new]) if new else []):
            cache[key] = vector
        for doc, key in zip(docs, keys):
            noisy = cache[key] + rng.normal(0, 0.45 / np.sqrt(len(cache[key])), len(cache[key])).astype(np.float32)
            doc.vector = (noisy / np.linalg.norm(noisy)).astype(np.float32)
        svc.index.index(docs)
        svc.store.mark_indexed({p.node.urn: p.version for p in pending})
        log(f"indexed {len(docs)} run documents ({len(cache)} distinct texts embedded so far)")


def busy_week(quick: bool) -> Path:
    from memory.demo.org import generate_organization

    projects, per_week = QUICK if quick else FULL
    home = CACHE / f"digest-week-{projects}x{per_week}"
    if (home / "built").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    svc = _service(home)
    rng = np.random.default_rng(1)
    made, seed = 0, SEED
    started = time.perf_counter()
    while made < projects:
        for project in generate_organization(seed, 2.0 if quick else 6.0).projects:
            if made >= projects:
                break
            runs = project.runs
            week_runs, history = runs[-per_week:], runs[:-per_week]
            span = (WEEK[1] - WEEK[0]).total_seconds() - 3600
            first, last = week_runs[0].start, week_runs[-1].start
            week_times = [WEEK[0] + timedelta(seconds=span * (r.start - first).total_seconds() / max(1, (last - first).total_seconds()))
                          for r in week_runs]
            h_first, h_last = history[0].start, history[-1].start
            h_span = (WEEK[0] - HISTORY_START).total_seconds() - 86400
            h_times = [HISTORY_START + timedelta(seconds=h_span * (r.start - h_first).total_seconds() / max(1, (h_last - h_first).total_seconds()))
                       for r in history]
            name = f"{project.name}-s{seed}"
            svc.store.apply("bench:digest", "mlflow", _records(project, name, history + week_runs, h_times + week_times), None)
            made += 1
            log(f"{made}/{projects} projects written ({len(history)} + {len(week_runs)} runs of {name})")
        seed += 1
    _index_with_group_vectors(svc, rng)
    svc.close()
    (home / "built").write_text(f"{time.perf_counter() - started:.0f} s")
    return home


def measure_digest(quick: bool) -> None:
    home = busy_week(quick)
    svc = _service(home)
    try:
        def scan() -> int:
            return sum(1 for _ in svc._nodes(kind="run", created_since=WEEK[0], created_until=WEEK[1]))

        runs = scan()
        scans = []
        for _ in range(3):
            began = time.perf_counter()
            scan()
            scans.append(time.perf_counter() - began)
        began = time.perf_counter()
        plain = svc.digest(*WEEK, repeats=False)
        no_repeats = time.perf_counter() - began
        began = time.perf_counter()
        full = svc.digest(*WEEK)
        seconds = time.perf_counter() - began
        baseline = min(scans)
        emit(BENCH, "digest_s", seconds, baseline="store scan of the week's runs", baseline_value=baseline,
             runs=runs, projects=full.totals["projects"], ideas=full.totals["ideas"], repeats=full.totals["repeats"])
        emit(BENCH, "digest_no_repeats_s", no_repeats, baseline="store scan of the week's runs", baseline_value=baseline,
             runs=plain.totals["runs"])
    finally:
        svc.close()


# -- near-duplicate precision / recall ------------------------------------------------------------
def constructed_runs(org: Any, rng: random.Random, count: int) -> list[tuple[Any, Any, Any, bool, str]]:
    """(project, new run, source run, is_repeat, how) one week after the organization's last run."""
    from memory.demo.catalog import IDEAS

    out = []
    last = max(r.start for p in org.projects for r in p.runs)
    for i in range(count):
        project = rng.choice(org.projects)
        finished = [r for r in project.runs if r.status == "FINISHED" and not any(c.parent_key == r.key for c in project.runs)]
        source = rng.choice(finished)
        siblings = [r.note for r in project.runs if r.parent_key and r.parent_key == source.parent_key and r.note and r is not source]
        note = rng.choice(siblings) if siblings and rng.random() < 0.5 else ""
        when = last + timedelta(days=7, minutes=i)
        kind = ("reseed", "nudge", "new-data", "new-value")[i % 4]
        params = dict(source.params)
        dataset = source.dataset
        if kind == "reseed":
            params["seed"] = str(rng.randint(10_000, 99_999))
        elif kind == "nudge":
            numeric = [k for k, v in params.items() if k != "seed" and _is_number(v) and float(v) != 0]
            if not numeric:
                params["seed"] = str(rng.randint(10_000, 99_999))
            else:
                key = rng.choice(numeric)
                params[key] = _bump(params[key], 1.03)
        elif kind == "new-data":
            others = [d for d in project.datasets if d != source.dataset]
            if not others:
                continue
            dataset = rng.choice(others)
        else:
            idea = next((IDEAS[k] for k in IDEAS if source.tags.get("sweep", "").split("-r")[0] == k), None)
            key = idea.sweep[0][0] if idea and _is_number(params.get(idea.sweep[0][0], "x")) else next(
                (k for k, v in params.items() if k != "seed" and _is_number(v) and float(v) != 0), None)
            if key is None:
                continue
            params[key] = _bump(params[key], 3.0)
        run = replace(source, key=f"{project.name}/constructed-{i}", name=f"constructed-{i}", start=when, params=params,
                      note=note, parent_key=None, dataset=dataset, tags={k: v for k, v in source.tags.items() if k != "baseline"})
        if kind in ("reseed", "nudge"):
            out.append((project, run, source, True, kind))
            continue
        # a "new" config may have been run before after all (×3 can land on a tried value; the other snapshot
        # has its own baseline): then it is a repeat of that run, and the truth says so
        earlier = [r for r in project.runs + [c[1] for c in out if c[0] is project]
                   if r.start < run.start and _config(r) == _config(run) and r.dataset == run.dataset]
        out.append((project, run, earlier[0] if earlier else source, bool(earlier), kind + ("-tried" if earlier else "")))
    return out


def _config(run: Any) -> dict[str, str]:
    from memory.similar import IGNORED_PARAMS

    return {k: v for k, v in run.params.items() if k not in IGNORED_PARAMS}


def _is_number(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def _bump(value: str, factor: float) -> str:
    number = float(value) * factor
    return str(int(round(number))) if value.lstrip("-").isdigit() and number >= 1 else f"{number:.6g}"


def measure_near_duplicates(quick: bool) -> None:
    from memory.demo.org import generate_organization

    home = CACHE / f"digest-similar-{'quick' if quick else 'full'}"
    shutil.rmtree(home, ignore_errors=True)
    org = generate_organization(SEED, 0.3 if quick else 1.0)
    cases = constructed_runs(org, random.Random(5), 40 if quick else 200)
    svc = _service(home)
    try:
        for project in org.projects:
            extra = [c[1] for c in cases if c[0] is project]
            runs = project.runs + extra
            svc.store.apply("bench:similar", "mlflow", _records(project, project.name, runs, [r.start for r in runs]), None)
        log("embedding the documents (real model, cached by text)")
        svc.index_pending()
        svc.index.flush()
        for path in ("similar", "digest"):
            _score_cases(svc, cases, path)
    finally:
        svc.close()


def _score_cases(svc: Any, cases: list[Any], path: str) -> None:
    """Precision/recall of ``xmem similar`` (index retrieval) or of the digest's repeat search (one matrix pass)."""
    from memory.digest import group_of
    from memory.entities import LOCAL_ADMIN
    from memory.similar import IGNORED_PARAMS

    table = svc.index.vector_table(svc._earlier_runs(max(c[1].start for c in cases), LOCAL_ADMIN)) if path == "digest" else None
    known: dict[str, Any] = {}
    tp = fp = fn = tn = wrong_link = 0
    for project, run, source, is_repeat, how in cases:
        urn = f"mlflow://bench/{project.name}/runs/{run.key.replace('/', '-')}"
        if path == "similar":
            found = svc.similar(urn, limit=1)
            best = found.matches[0] if found.matches else None
        else:
            node = svc.store.get_node(urn)
            profile = svc._profiles([node])[urn]
            hit = svc._best_repeat(group_of(node), [profile], profile, node.created_at, LOCAL_ADMIN, known, table)
            best = hit[1] if hit else None
        flagged = best is not None and best.is_repeat
        config = {k: v for k, v in run.params.items() if k not in IGNORED_PARAMS}
        right = best is not None and {k: v for k, v in best.earlier.params.items() if k not in IGNORED_PARAMS} == \
            {k: v for k, v in source.params.items() if k not in IGNORED_PARAMS}
        if is_repeat and flagged and right:
            tp += 1
        elif is_repeat and flagged:
            wrong_link += 1
            fn += 1
        elif is_repeat:
            fn += 1
            log(f"missed ({how}): {run.name} ~ {source.name}: {best.score if best else None} {best.reasons() if best else ''}")
        elif flagged:
            fp += 1
            log(f"false repeat ({how}): {run.name} ~ {best.earlier.name}: {best.score} {best.reasons()} {config}")
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    prefix = "" if path == "similar" else "digest_"
    emit(BENCH, f"{prefix}near_duplicate_precision", precision, higher_is_better=True, true_positive=tp,
         false_positive=fp, repeats=tp + fn, distinct=fp + tn, wrong_link=wrong_link, path=path)
    emit(BENCH, f"{prefix}near_duplicate_recall", recall, higher_is_better=True, false_negative=fn, true_negative=tn,
         path=path)


def main() -> None:
    parser = common_args(__doc__)
    parser.add_argument("--only", choices=("time", "quality"), help="Run one of the two measurements.")
    args = parser.parse_args()
    if args.only in (None, "quality"):
        measure_near_duplicates(args.quick)
    if args.only in (None, "time"):
        measure_digest(args.quick)


if __name__ == "__main__":
    main()
