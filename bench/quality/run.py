"""Answer quality: "has anyone tried X?" scored on real experiment records (``make quality``).

    python bench/quality/run.py [--split dev|heldout|all] [--calibrate] [--failures N]

Builds (once, then cached) an MLflow server holding the AutoML Benchmark 2019, timm,
Papers-with-Code and auto-sklearn records and a memory ingested from it with
``xmem ingest mlflow``; then asks every question of the set to Experiment Memory (``ask``:
parsed filters, hybrid ranking, calibrated "nobody tried this") and to two baselines run in
the same process: MLflow ``search_runs`` with ``ILIKE`` filters, and plain BM25 over the same
index. Prints one JSON line per figure (also appended to ``bench/results/quality.jsonl``)
and a table on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # the harness modules, then bench/_common.py

from _common import REPO, emit, log  # noqa: E402
from build import build  # noqa: E402
from metrics import Outcome, Scores  # noqa: E402
from questions import Question, build_questions  # noqa: E402
from systems import ExperimentMemory, MlflowIlikeTyped, MlflowIlikeUnion, PlainBM25, Units  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def corpora_folder() -> Path:
    folder = Path(os.environ.get("XMEM_CORPORA", REPO.parent / "shared" / "corpora"))
    if not folder.is_dir():
        sys.exit(f"corpora not found at {folder}: set XMEM_CORPORA to the shared corpora folder")
    return folder


def fit_calibration(points: list[tuple[float, float, bool]], l2: float = 0.01) -> dict[str, float]:
    """Logistic regression of "someone tried it" on (coverage, similarity), by Newton's method with a small L2."""
    import numpy as np

    x = np.array([[c, s, 1.0] for c, s, _ in points])
    y = np.array([1.0 if label else 0.0 for _, _, label in points])
    w = np.zeros(3)
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-x @ w))
        gradient = x.T @ (p - y) + l2 * np.r_[w[:2], 0.0]
        hessian = (x.T * (p * (1 - p))) @ x + l2 * np.diag([1.0, 1.0, 0.0])
        w -= np.linalg.solve(hessian, gradient)
    return {"coverage": round(float(w[0]), 2), "similarity": round(float(w[1]), 2), "bias": round(float(w[2]), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["dev", "heldout", "unseen", "fresh", "all"], default="all")
    parser.add_argument("--systems", default="xmem,bm25,mlflow_ilike,mlflow_ilike_any")
    parser.add_argument("--calibrate", action="store_true", help="fit the confidence curve on the dev split and print it")
    parser.add_argument("--failures", type=int, default=0, help="print the N worst-answered questions per split")
    parser.add_argument("--reindex", action="store_true", help="rebuild the search documents first (after changing them)")
    args = parser.parse_args()

    info = build(corpora_folder(), reindex=args.reindex)
    log(f"memory of {info['runs']} runs in {info['home']} ({'cached' if info['cached'] else 'built now'})")
    questions = [q for q in build_questions(info["records"]) if args.split in ("all", q.split)]
    units = Units(info["run_keys"], info["records"])

    from memory.demo.mlflow_server import MlflowServer
    from memory.service import MemoryService
    from memory.settings import Settings

    wanted = args.systems.split(",")
    with MlflowServer(Path(info["mlflow_folder"])) as server, \
            MemoryService(Settings(home=Path(info["home"]))) as service:
        systems = [s for s in (ExperimentMemory(service, units), PlainBM25(service.index, units),
                               MlflowIlikeTyped(server.url, units) if "mlflow_ilike" in wanted else None,
                               MlflowIlikeUnion(server.url, units) if "mlflow_ilike_any" in wanted else None)
                   if s is not None and s.name in wanted]
        service.ask("warm up the model and caches")
        answers: dict[str, dict[str, Outcome]] = defaultdict(dict)
        for system in systems:
            log(f"asking {len(questions)} questions to {system.name}")
            for question in questions:
                answers[system.name][question.id] = system.answer(question)

    table: list[tuple[str, str, dict[str, float | int]]] = []
    for split in ("dev", "heldout", "unseen", "fresh"):
        subset = [q for q in questions if q.split == split]
        if not subset:
            continue
        per_system = {}
        for system in systems:
            scores = Scores()
            for q in subset:
                scores.add(q.relevant, answers[system.name][q.id])
            per_system[system.name] = scores.summary()
            table.append((split, system.name, per_system[system.name]))
        report(split, per_system)
        if args.failures:
            show_failures(subset, answers.get("xmem", {}), args.failures)
            by_family(subset, answers.get("xmem", {}))
    print_table(table)
    if args.calibrate:
        dev = [q for q in questions if q.split == "dev"]
        points = [(answers["xmem"][q.id].coverage or 0.0, answers["xmem"][q.id].similarity or 0.0, not q.negative)
                  for q in dev]
        log(f"calibration on {len(points)} dev questions: CALIBRATION = {fit_calibration(points)}")
        reliability(dev, answers["xmem"])


def report(split: str, per_system: dict[str, dict[str, float | int]]) -> None:
    baselines = [name for name in per_system if name != "xmem"]
    mine = per_system.get("xmem")
    for figure in ("ndcg@10", "recall@10", "mrr", "negative_detection", "positives_called_nobody"):
        if mine is None:
            continue
        best = max(baselines, key=lambda b: per_system[b][figure], default=None) if figure != "positives_called_nobody" else None
        emit("quality", f"{split}_{figure}", float(mine[figure]),
             baseline=best, baseline_value=float(per_system[best][figure]) if best else None, higher_is_better=True,
             questions=int(mine["positives"] + mine["negatives"]),
             **{f"{name}": per_system[name][figure] for name in baselines})


def print_table(rows: list[tuple[str, str, dict[str, float | int]]]) -> None:
    columns = ["ndcg@10", "recall@10", "mrr", "negative_detection", "positives_called_nobody", "positives", "negatives", "p50_ms"]
    print(f"{'split':8} {'system':16} " + " ".join(f"{c:>12}" for c in columns), file=sys.stderr)
    for split, system, summary in rows:
        print(f"{split:8} {system:16} " + " ".join(f"{summary[c]:>12}" for c in columns), file=sys.stderr)


def show_failures(questions: list[Question], answers: dict[str, Outcome], count: int) -> None:
    from metrics import dedupe, ndcg_at_k

    scored = []
    for q in questions:
        outcome = answers.get(q.id)
        if outcome is None:
            continue
        if q.negative:
            scored.append((0.0 if not outcome.nobody else 1.0, q, outcome))
        else:
            scored.append((ndcg_at_k(dedupe(outcome.ranked), q.relevant) - (1 if outcome.nobody else 0), q, outcome))
    for score, q, outcome in sorted(scored, key=lambda t: t[0])[:count]:
        print(f"  {score:+.2f} [{q.family}] {q.text!r} relevant={len(q.relevant)} nobody={outcome.nobody} "
              f"conf={outcome.confidence} top={dedupe(outcome.ranked)[:3]}", file=sys.stderr)


def by_family(questions: list[Question], answers: dict[str, Outcome]) -> None:
    families: dict[str, Scores] = defaultdict(Scores)
    for q in questions:
        if q.id in answers:
            families[q.family].add(q.relevant, answers[q.id])
    for family, scores in sorted(families.items()):
        summary = scores.summary()
        print(f"  {family:24} ndcg {summary['ndcg@10']:<6} neg {summary['negative_detection']:<6} "
              f"dismissed {summary['positives_called_nobody']:<6} n={summary['positives']}+{summary['negatives']}", file=sys.stderr)


def reliability(questions: list[Question], answers: dict[str, Outcome]) -> None:
    """Confidence buckets against how often the answer really was a positive."""
    buckets: dict[int, list[bool]] = defaultdict(list)
    for q in questions:
        c = answers[q.id].confidence
        if c is not None:
            buckets[min(int(c * 5), 4)].append(not q.negative)
    for b in sorted(buckets):
        values = buckets[b]
        log(f"confidence {b / 5:.1f}-{(b + 1) / 5:.1f}: {len(values)} questions, {sum(values) / len(values):.0%} had an answer")


if __name__ == "__main__":
    main()
