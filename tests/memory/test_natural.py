"""The plain-language question parser: deterministic, network-free, never trusting user text for names."""

from __future__ import annotations

import ast
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from memory.errors import InvalidQuery
from memory.query import And, Compare, FieldRef, In, Not, Or
from memory.query.ast import ATTRIBUTES, SearchQuery
from memory.query.natural import ParsedQuestion, Vocabulary, parse_question

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)  # a Wednesday
VOCAB = Vocabulary(
    projects=("churn-prediction", "fraud-detection", "product-image-tagging"),
    people=("maria.garcia", "li.wei", "alex.chen"),
    models=("churn-classifier", "fraud-xgb"),
    datasets=("customer-events",),
    metrics=("val_auc", "val_rmse", "train_loss", "val_loss"),
    params=("learning_rate", "batch_size", "num_cores", "optimizer"),
)


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=timezone.utc)


def metric(name: str, op: str, value: float) -> Compare:
    return Compare(FieldRef("metric", name), op, value)  # type: ignore[arg-type]


def param(name: str, op: str, value: float) -> Compare:
    return Compare(FieldRef("param", name), op, value)  # type: ignore[arg-type]


def attr(name: str, value: str) -> Compare:
    return Compare(FieldRef("attr", name), "=", value)


FAILED, KILLED = attr("status", "FAILED"), attr("status", "KILLED")
BETTER, WORSE = attr("outcome", "better"), attr("outcome", "worse")
CHURN, FRAUD = ("churn-prediction",), ("fraud-detection",)
LAST_WEEK = {"since": day(2026, 11, 16), "until": day(2026, 11, 23)}

DEFAULTS: dict[str, Any] = {
    "intent": "search", "text": "", "projects": (), "people": (), "kinds": (), "since": None, "until": None,
    "conditions": (), "asks_outcome": False, "subjects": (),
}

CASES: list[tuple[str, dict[str, Any]]] = [
    # the product's own example
    ("has anyone tried mixup on the churn model since March, and did it beat the baseline?",
     {"text": "mixup", "projects": CHURN, "since": day(2026, 3, 1), "asks_outcome": True}),
    # dates
    ("mixup last week", {"text": "mixup", **LAST_WEEK}),
    ("mixup this week", {"text": "mixup", "since": day(2026, 11, 23)}),
    ("what broke yesterday", {"since": day(2026, 11, 24), "until": day(2026, 11, 25), "conditions": (FAILED,)}),
    ("dropout today", {"text": "dropout", "since": day(2026, 11, 25)}),
    ("focal loss last month", {"text": "focal loss", "since": day(2026, 10, 1), "until": day(2026, 11, 1)}),
    ("warmup this month", {"text": "warmup", "since": day(2026, 11, 1)}),
    ("label smoothing since December", {"text": "label smoothing", "since": day(2025, 12, 1)}),
    ("cutmix in March", {"text": "cutmix", "since": day(2026, 3, 1), "until": day(2026, 4, 1)}),
    ("anything in Q3?", {"since": day(2026, 7, 1), "until": day(2026, 10, 1)}),
    ("anything in Q4?", {"since": day(2026, 10, 1)}),
    ("mixup in 2025", {"text": "mixup", "since": day(2025, 1, 1), "until": day(2026, 1, 1)}),
    ("mixup before June", {"text": "mixup", "until": day(2026, 6, 1)}),
    ("mixup after 2026-03-01", {"text": "mixup", "since": day(2026, 3, 2)}),
    ("mixup since 2026-03-01", {"text": "mixup", "since": day(2026, 3, 1)}),
    ("dropout between March and May", {"text": "dropout", "since": day(2026, 3, 1), "until": day(2026, 6, 1)}),
    ("between November and February", {"since": day(2025, 11, 1), "until": day(2026, 3, 1)}),
    ("from 3 March 2025 to April", {"since": day(2025, 3, 3), "until": day(2025, 5, 1)}),
    # "results from 2020" means during 2020; "since" opens the range
    ("molhiv results from 2020", {"text": "molhiv", "since": day(2020, 1, 1), "until": day(2021, 1, 1)}),
    ("molhiv since 2020", {"text": "molhiv", "since": day(2020, 1, 1)}),
    ("mixup in the last 30 days", {"text": "mixup", "since": day(2026, 10, 26)}),
    ("mixup past 2 weeks", {"text": "mixup", "since": day(2026, 11, 11)}),
    ("what failed in the last 24 hours", {"since": NOW - timedelta(hours=24), "conditions": (FAILED,)}),
    ("mixup over the summer", {"text": "mixup", "since": day(2026, 6, 1), "until": day(2026, 9, 1)}),
    # projects and people
    ("fraud experiments by maria", {"projects": FRAUD, "people": ("maria.garcia",)}),
    ("maria's runs on label smoothing", {"text": "label smoothing", "people": ("maria.garcia",)}),
    ("warmup by maria.garcia", {"text": "warmup", "people": ("maria.garcia",)}),
    ("Maria Garcia tried cutmix", {"text": "cutmix", "people": ("maria.garcia",)}),
    ("anything by mari?", {"people": ("maria.garcia",)}),
    ("color jitter on image tagging", {"text": "color jitter", "projects": ("product-image-tagging",)}),
    ("Churn_Prediction and fraud runs", {"projects": CHURN + FRAUD}),
    ("model loss data", {"text": "model loss data"}),
    # outcome
    ("runs that beat the baseline on fraud", {"projects": FRAUD, "conditions": (BETTER,)}),
    ("mixup better than the baseline", {"text": "mixup", "conditions": (BETTER,)}),
    ("augmentations which improved", {"text": "augmentations", "conditions": (BETTER,)}),
    ("only improvements from li", {"people": ("li.wei",), "conditions": (BETTER,)}),
    ("dropout worse than baseline", {"text": "dropout", "conditions": (WORSE,)}),
    ("augmentations that hurt", {"text": "augmentations", "conditions": (WORSE,)}),
    ("did it help?", {"asks_outcome": True}),
    ("mixup, did it work?", {"text": "mixup", "asks_outcome": True}),
    ("did label smoothing help on churn?", {"text": "label smoothing", "projects": CHURN, "asks_outcome": True}),
    ("did anyone beat the baseline this month", {"since": day(2026, 11, 1), "conditions": (BETTER,)}),
    # status
    ("failed runs on fraud", {"projects": FRAUD, "conditions": (FAILED,)}),
    ("errored mixup runs", {"text": "mixup", "conditions": (FAILED,)}),
    ("mixup runs that crashed", {"text": "mixup", "conditions": (FAILED,)}),
    ("which runs were killed", {"kinds": ("run",), "conditions": (KILLED,)}),
    ("failed or killed jobs",
     {"kinds": ("job_run",), "conditions": (In(FieldRef("attr", "status"), ("FAILED", "KILLED")),)}),
    ("why did the mixup runs fail", {"text": "mixup", "conditions": (FAILED,)}),
    # numbers
    ("runs with val_auc above 0.8", {"conditions": (metric("val_auc", ">", 0.8),)}),
    ("auc > 0.8", {"conditions": (metric("val_auc", ">", 0.8),)}),
    ("auc>0.8", {"conditions": (metric("val_auc", ">", 0.8),)}),
    ("mixup with rmse below 120", {"text": "mixup", "conditions": (metric("val_rmse", "<", 120.0),)}),
    ("runs with more than 4 cores", {"conditions": (param("num_cores", ">", 4.0),)}),
    ("8 or more cores", {"conditions": (param("num_cores", ">=", 8.0),)}),
    ("batch size of 512", {"conditions": (param("batch_size", "=", 512.0),)}),
    ("warmup with learning rate under 1e-3", {"text": "warmup", "conditions": (param("learning_rate", "<", 0.001),)}),
    ("lr at least 0.01 and auc at most 0.9",
     {"conditions": (param("learning_rate", ">=", 0.01), metric("val_auc", "<=", 0.9))}),
    ("loss below 0.3", {"text": "loss below 0.3"}),  # train_loss or val_loss: ambiguous, stays text
    ("more than 8 gpus", {"text": "more than 8 gpus"}),  # no such param
    # kinds
    ("model versions of churn-classifier", {"text": "churn-classifier", "kinds": ("model_version",)}),
    ("registered models on fraud", {"kinds": ("model",), "projects": FRAUD}),
    ("dataset versions used by fraud", {"kinds": ("dataset_version",), "projects": FRAUD}),
    ("datasets by li", {"kinds": ("dataset",), "people": ("li.wei",)}),
    ("pipeline runs that broke", {"kinds": ("job_run",), "conditions": (FAILED,)}),
    ("runs with mixup", {"text": "mixup"}),
    ("only runs with mixup", {"text": "mixup", "kinds": ("run",)}),
    # intents
    ("why did churn-classifier@production fail?", {"intent": "lineage", "subjects": ("churn-classifier@production",)}),
    ("what produced churn-classifier/v12", {"intent": "lineage", "subjects": ("churn-classifier/v12",)}),
    ("lineage of mlflow://tracking/models/churn-classifier/12",
     {"intent": "lineage", "subjects": ("mlflow://tracking/models/churn-classifier/12",)}),
    ("where did customer-events come from?", {"intent": "lineage", "subjects": ("customer-events",)}),
    ("what was the production churn model trained on",
     {"intent": "lineage", "subjects": ("churn-classifier@production",)}),
    ("what changed between churn-classifier v3 and v4",
     {"intent": "diff", "subjects": ("churn-classifier/v3", "churn-classifier/v4")}),
    ("diff churn-classifier@staging and churn-classifier@production",
     {"intent": "diff", "subjects": ("churn-classifier@staging", "churn-classifier@production")}),
    ("compare v3 with v4 of fraud-xgb", {"intent": "diff", "subjects": ("fraud-xgb/v3", "fraud-xgb/v4")}),
    ("compare churn-classifier version 3 with version 4 since March",
     {"intent": "diff", "subjects": ("churn-classifier/v3", "churn-classifier/v4"), "since": day(2026, 3, 1)}),
    ("what did we learn this week", {"intent": "digest", "since": day(2026, 11, 23)}),
    ("weekly digest", {"intent": "digest"}),
    ("summary of last week", {"intent": "digest", **LAST_WEEK}),
    ("what happened in churn last week", {"intent": "digest", "projects": CHURN, **LAST_WEEK}),
    ("mixup vs cutmix", {"text": "mixup vs cutmix"}),
    # scaffolding
    ("show me experiments with label smoothing", {"text": "label smoothing"}),
    ("is there a run with focal loss?", {"text": "focal loss"}),
    ("have we ever tried gradient clipping", {"text": "gradient clipping"}),
    ("did anybody try cosine annealing?", {"text": "cosine annealing"}),
    ("any experiments with cutmix?", {"text": "cutmix"}),
    ("", {}),
    ("?", {}),
]


@pytest.mark.parametrize(("question", "expected"), CASES, ids=[q or "<empty>" for q, _ in CASES])
def test_parses_questions(question: str, expected: dict[str, Any]) -> None:
    parsed = parse_question(question, VOCAB, now=NOW)
    want = {**DEFAULTS, **expected}
    got = {name: getattr(parsed, name) for name in want}
    assert got == want
    assert parsed.question == question


def test_the_example_builds_the_query_and_chips() -> None:
    parsed = parse_question("has anyone tried mixup on the churn model since March, and did it beat the baseline?",
                            VOCAB, now=NOW)
    assert parsed.filter() == And((attr("project", "churn-prediction"),
                                   Compare(FieldRef("attr", "time"), ">=", day(2026, 3, 1))))
    assert parsed.to_query(limit=5) == SearchQuery(text="mixup", filter=parsed.filter(), limit=5)
    assert parsed.chips() == ["project = churn-prediction", "since 2026-03-01"]


def test_chips_and_filter_cover_every_kind_of_filter() -> None:
    parsed = parse_question("failed model versions by maria or li on fraud in March with auc above 0.8", VOCAB, now=NOW)
    assert parsed.chips() == [
        "project = fraud-detection", "person in (maria.garcia, li.wei)", "kind = model_version",
        "since 2026-03-01", "before 2026-04-01", "metric.val_auc > 0.8", "status = FAILED",
    ]
    assert isinstance(parsed.filter(), And) and len(parsed.filter().items) == 7  # type: ignore[union-attr]
    assert parse_question("mixup", VOCAB, now=NOW).filter() is None


@pytest.mark.parametrize(
    ("question", "projects", "text"),
    [
        ("churn mixup", (), "churn mixup"),  # two projects contain "churn": no guess
        ("churn uplift mixup", ("churn-uplift",), "mixup"),
        ("churn-prediction mixup", ("churn-prediction",), "mixup"),
    ],
)
def test_ambiguous_names_stay_text(question: str, projects: tuple[str, ...], text: str) -> None:
    vocab = Vocabulary(projects=("churn-prediction", "churn-uplift"))
    parsed = parse_question(question, vocab, now=NOW)
    assert (parsed.projects, parsed.text) == (projects, text)


def test_ordinary_words_name_a_project_only_exactly() -> None:
    vocab = Vocabulary(projects=("data", "loss-forecasting"), people=("model.owner",))
    assert parse_question("data augmentation", vocab, now=NOW).projects == ("data",)
    parsed = parse_question("focal loss for the model", vocab, now=NOW)
    assert (parsed.projects, parsed.people, parsed.text) == ((), (), "focal loss for the model")


def test_models_are_subjects_only_for_lineage_and_diff() -> None:
    assert parse_question("mixup on fraud-xgb v3", VOCAB, now=NOW).subjects == ()
    assert parse_question("mixup on fraud-xgb v3", VOCAB, now=NOW).text == "mixup on fraud-xgb v3"


def test_bare_versions_borrow_the_only_model() -> None:
    vocab = Vocabulary(models=("churn-classifier",))
    parsed = parse_question("compare v3 with v4", vocab, now=NOW)
    assert (parsed.intent, parsed.subjects) == ("diff", ("churn-classifier/v3", "churn-classifier/v4"))
    assert parse_question("compare v3 with v4", VOCAB, now=NOW).subjects == ("v3", "v4")  # two models: no guess


def test_now_is_normalised_to_utc() -> None:
    naive = parse_question("mixup today", VOCAB, now=datetime(2026, 11, 25, 10))
    paris = parse_question("mixup today", VOCAB, now=datetime(2026, 11, 26, 0, 30, tzinfo=timezone(timedelta(hours=1))))
    assert naive.since == paris.since == day(2026, 11, 25)


def test_rejects_only_overlong_questions() -> None:
    assert parse_question("x " * 2500, VOCAB, now=NOW).text.startswith("x x")
    with pytest.raises(InvalidQuery, match="too long"):
        parse_question("x" * 5001, VOCAB, now=NOW)


FRAGMENTS = [
    "mixup", "on the churn model", "since March", "in Q3", "between May and", "did it beat the baseline?",
    "val_auc above 0.8", "auc >", "more than 4 cores", "batch size of", "1e-3", "maria's", "by li", "why did", "fail",
    "compare", "v3 with v4", "what changed between", "and", "lineage of", "mlflow://x/y", "@production",
    "weekly digest",
    "'; DROP TABLE runs; --", '"unbalanced', "(", ")", "🔥", "ñandú", "2026-02-30", "9999", "-", ".", "?", "",
    "\x00", "\n", "last", "week", "past 3", "days", "only runs", "that hurt", "failed", "killed", "model versions",
    "`", "\\", "%", "=", "<=", "Q5", "June 31", "version", "12", "over the", "what was", "trained on", "summer",
]


def junk(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(0, 80)))
    return " ".join(rng.choice(FRAGMENTS) for _ in range(rng.randrange(0, 14)))


def field_refs(expr: Any) -> list[FieldRef]:
    if isinstance(expr, (And, Or)):
        return [ref for item in expr.items for ref in field_refs(item)]
    if isinstance(expr, Not):
        return field_refs(expr.item)
    return [expr.field] if expr is not None else []


def check_consistent(parsed: ParsedQuestion) -> None:
    query = parsed.to_query()
    chips = " | ".join(parsed.chips())
    assert query.text == parsed.text and query.filter == parsed.filter()
    for value in parsed.projects + parsed.people + parsed.kinds:
        assert value in chips
    for bound in (parsed.since, parsed.until):
        assert bound is None or (bound.tzinfo is not None and bound.strftime("%Y-%m-%d") in chips)
    for condition in parsed.conditions:
        assert str(condition.field) in chips
    assert len(parsed.chips()) == len(field_refs(parsed.filter()))
    for ref in field_refs(parsed.filter()):
        known = {"attr": set(ATTRIBUTES), "metric": set(VOCAB.metrics), "param": set(VOCAB.params)}
        assert ref.name in known[ref.namespace]
    assert parsed.intent in ("search", "lineage", "diff", "digest")
    assert "\x00" not in parsed.text


def test_random_junk_never_raises_and_always_builds() -> None:
    rng = random.Random(20261125)
    for _ in range(400):
        question = junk(rng)
        check_consistent(parse_question(question, VOCAB, now=NOW))


@pytest.mark.parametrize("question", [case[0] for case in CASES])
def test_every_table_case_is_consistent(question: str) -> None:
    check_consistent(parse_question(question, VOCAB, now=NOW))


def test_user_text_never_becomes_a_field_name() -> None:
    parsed = parse_question("evil_metric > 3 and `metric.x; drop` < 2 and status_code = 5", VOCAB, now=NOW)
    assert parsed.conditions == ()
    hostile = Vocabulary(metrics=("bad name!", "ok_metric"), params=("'; drop",))
    assert parse_question("bad name! above 3 and ok metric above 2", hostile, now=NOW).conditions == (
        metric("ok_metric", ">", 2.0),
    )


def test_long_adversarial_input_is_fast_enough() -> None:
    start = datetime.now()
    for question in ("why did " + "a " * 2400 + "fail", "compare " + "v1 with " * 600, "by " * 1600, "1 " * 2500):
        parse_question(question[:5000], VOCAB, now=NOW)
    assert datetime.now() - start < timedelta(seconds=10)


def test_module_is_pure() -> None:
    source = Path(__file__).resolve().parents[2] / "memory" / "query" / "natural.py"
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    allowed = ("__future__", "re", "unicodedata", "dataclasses", "datetime", "typing", "dateutil", "memory.query",
               "memory.errors")
    assert all(any(name == a or name.startswith(a + ".") for a in allowed) for name in imported), imported


def test_a_name_that_is_also_a_value_is_searched_not_taken_for_a_project() -> None:
    vocab = Vocabulary(projects=("autosklearn-metalearning", "automl-benchmark"), values=("autosklearn", "TPOT"))
    parsed = parse_question("dilbert: was autosklearn ever benchmarked on it?", vocab, now=NOW)
    assert parsed.projects == () and "autosklearn" in parsed.text
    assert parse_question("autosklearn-metalearning runs", vocab, now=NOW).projects == ("autosklearn-metalearning",)


def test_numbers_only_attach_to_fields_the_words_really_name() -> None:
    vocab = Vocabulary(params=("classifier:qda:reg_param", "dataset", "num_cores"))
    assert parse_question("how did regnety 160 do", vocab, now=NOW).conditions == ()  # "regnety" is no reg_param
    assert parse_question("autoweka on the connect 4 dataset", vocab, now=NOW).conditions == ()
    assert parse_question("runs with more than 4 cores", vocab, now=NOW).conditions == (param("num_cores", ">", 4.0),)


def test_crash_means_failed_and_failure_questions_without_a_model_become_searches() -> None:
    from memory.query.natural import as_search

    parsed = parse_question("did auto-weka crash on riccardo?", VOCAB, now=NOW)
    assert Compare(FieldRef("attr", "status"), "=", "FAILED") in parsed.conditions
    why = parse_question("why did h2o fail on Dionis?", VOCAB, now=NOW)
    assert why.intent == "lineage"  # until the service finds no model called h2o …
    search = as_search(why)
    assert search.intent == "search" and "h2o" in search.text and "Dionis" in search.text
    assert Compare(FieldRef("attr", "status"), "=", "FAILED") in search.conditions

