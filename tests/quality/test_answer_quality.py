"""Answer quality on real records, end to end: the bench/quality harness on a slice of the corpora.

A real MLflow server gets ~860 real runs (AutoML Benchmark folds with their failure notes,
timm evaluations, leaderboard rows, auto-sklearn pipelines) through the MLflow client; the
memory is built with ``xmem ingest mlflow``; questions with computed ground truth go to
``ask`` and to the baselines. The thresholds sit below what the full harness measures, so a
ranking or confidence regression fails here before anyone runs ``make quality``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

QUALITY = Path(__file__).resolve().parents[2] / "bench" / "quality"
sys.path[:0] = [str(QUALITY)]

from build import build_memory  # noqa: E402
from corpus import Record, load_records  # noqa: E402
from metrics import Scores  # noqa: E402
from questions import QuestionBuilder  # noqa: E402
from systems import ExperimentMemory, MlflowIlikeUnion, PlainBM25, Units  # noqa: E402

from memory.demo.mlflow_server import MlflowServer  # noqa: E402
from memory.service import MemoryService  # noqa: E402
from memory.settings import Settings  # noqa: E402

TIMM = ("vit_base", "vit_large", "convnext_tiny", "convnext_base", "beit_base", "resnet50", "resnet18", "swin_base", "deit_small")
PWC = {"HotpotQA", "CoQA (Conversational Question Answering Challenge)", "ogbn-arxiv", "ogbg-molhiv",
       "CMRC 2018 (Chinese Machine Reading Comprehension 2018)"}


def in_slice(record: Record) -> bool:
    if record.key.startswith("amlb/"):
        return record.facts["constraint"] in ("4c1h", "8c4h")
    if record.key.startswith("timm/"):
        return record.facts["architecture"].startswith(TIMM)
    if record.key.startswith("pwc/"):
        return record.facts["dataset"] in PWC
    return "r2_regression" in record.key


@pytest.fixture(scope="module")
def scored(corpora: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    records = [r for r in load_records(corpora) if in_slice(r)]
    info = build_memory(records, tmp_path_factory.mktemp("quality"))
    builder = QuestionBuilder(records)
    builder.build("dev", seed=11, per_family=8)
    builder.build("heldout", seed=29, per_family=6)
    questions = builder.questions
    units = Units(info["run_keys"], records)
    scores: dict[str, Scores] = {}
    answers: dict[str, Any] = {}
    with MlflowServer(Path(info["mlflow_folder"])) as server, MemoryService(Settings(home=Path(info["home"]))) as service:
        for system in (ExperimentMemory(service, units), PlainBM25(service.index, units), MlflowIlikeUnion(server.url, units)):
            scores[system.name] = Scores()
            for question in questions:
                outcome = system.answer(question)
                scores[system.name].add(question.relevant, outcome)
                answers[f"{system.name}:{question.id}"] = outcome
    return {"records": records, "questions": questions, "scores": {k: v.summary() for k, v in scores.items()},
            "answers": answers, "info": info}


def test_the_slice_is_real_and_the_ground_truth_has_both_answers(scored: dict[str, Any]) -> None:
    assert scored["info"]["runs"] == len(scored["records"]) > 800
    questions = scored["questions"]
    assert sum(q.negative for q in questions) >= 15 and sum(not q.negative for q in questions) >= 40


def test_ranking_beats_bm25_and_mlflow_ilike(scored: dict[str, Any]) -> None:
    mine, bm25, ilike = (scored["scores"][name] for name in ("xmem", "bm25", "mlflow_ilike_any"))
    assert mine["ndcg@10"] >= 0.85, mine
    assert mine["ndcg@10"] >= max(bm25["ndcg@10"], ilike["ndcg@10"]) + 0.15, (mine, bm25, ilike)
    assert mine["mrr"] >= 0.85 and mine["recall@10"] >= 0.85, mine


def test_nobody_tried_this_is_said_and_rarely_wrongly(scored: dict[str, Any]) -> None:
    mine = scored["scores"]["xmem"]
    assert mine["negative_detection"] >= 0.9, mine
    assert mine["positives_called_nobody"] <= 0.12, mine
    # the baselines always return something for a question with a common word in it
    assert scored["scores"]["bm25"]["negative_detection"] <= 0.2


def test_confidence_separates_answers_from_non_answers(scored: dict[str, Any]) -> None:
    confident = [scored["answers"][f"xmem:{q.id}"].confidence for q in scored["questions"] if not q.negative]
    doubtful = [scored["answers"][f"xmem:{q.id}"].confidence for q in scored["questions"] if q.negative]
    assert sorted(confident)[len(confident) // 2] >= 0.9 and sorted(doubtful)[len(doubtful) // 2] <= 0.1
