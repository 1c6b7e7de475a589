"""The query grammar: the ``--where`` parser and the reference evaluator."""

from datetime import datetime, timezone

import pytest

from memory.errors import InvalidQuery
from memory.query import And, Compare, FieldRef, In, Not, Or, evaluate, parse_where


def test_parses_comparisons_with_precedence() -> None:
    expr = parse_where("metric.val_auc > 0.8 and param.optimizer = adam or tag.team ~ 'growth team'")
    assert expr == Or(
        (
            And(
                (
                    Compare(FieldRef("metric", "val_auc"), ">", 0.8),
                    Compare(FieldRef("param", "optimizer"), "=", "adam"),
                )
            ),
            Compare(FieldRef("tag", "team"), "~", "growth team"),
        )
    )


def test_parses_in_not_parentheses_and_dates() -> None:
    expr = parse_where("not (status in (FAILED, KILLED)) and time >= 2026-03-01")
    assert expr == And(
        (
            Not(In(FieldRef("attr", "status"), ("FAILED", "KILLED"))),
            Compare(FieldRef("attr", "time"), ">=", datetime(2026, 3, 1)),
        )
    )


@pytest.mark.parametrize(
    ("source", "position", "fragment"),
    [
        ("metric.val_auc >", 16, "expected a value at the end"),
        ("colour = red", 0, "unknown field 'colour'"),
        ("metric.x = $", 11, "unexpected character '$' at position 12"),
        ("(metric.x = 1", 13, "missing ')'"),
        ("metric.x = 1 param.y = 2", 13, "unexpected 'param.y'"),
        ("time > yesterday-ish", 7, "is not a date"),
        ("metric.'x' = 1", 0, "metric. needs a name"),
        ("metric.val_auc = high", 17, "metric.val_auc compares to numbers"),
        ("metric.val_auc ~ 8", 17, "metric.val_auc compares to numbers"),
    ],
)
def test_malformed_filters_say_where(source: str, position: int, fragment: str) -> None:
    with pytest.raises(InvalidQuery) as info:
        parse_where(source)
    assert fragment in str(info.value)
    assert info.value.position == position


DOC = {
    "kind": "run",
    "project": "churn-prediction",
    "status": "FINISHED",
    "time": datetime(2026, 4, 1, tzinfo=timezone.utc),
    "params": {"lr": "0.01", "optimizer": "adam"},
    "metrics": {"val_auc": 0.83},
    "tags": {"team": "growth"},
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("metric.val_auc > 0.8", True),
        ("metric.val_auc > 0.9", False),
        ("param.lr = 0.01", True),  # numeric comparison of a string param
        ("param.lr < 0.1 and param.optimizer = ADAM", True),  # case-insensitive text
        ("project ~ churn", True),
        ("time < 2026-03-01", False),
        ("metric.missing > 1", None),  # unknown, like SQL NULL
        ("not metric.missing > 1", None),
        ("metric.missing > 1 or kind = run", True),
        ("metric.missing > 1 and kind = model", False),
        ("param.optimizer > 1", None),  # text is not a number: unknown
        ("status in (FAILED, finished)", True),
    ],
)
def test_reference_evaluator_three_valued(source: str, expected: bool | None) -> None:
    assert evaluate(parse_where(source), DOC) is expected
