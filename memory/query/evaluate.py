"""The reference evaluator of the query AST, in pure Python.

Uses three-valued logic like SQL: a comparison on a missing field is *unknown*
(``None``), ``NOT unknown`` is unknown, and only ``True`` matches. Backends must agree
with this on every document (the contract tests check it).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from memory.query.ast import And, Compare, Expr, FieldRef, In, Missing, Not, Or, Value


def to_number(value: Any) -> float | None:
    """A float for numbers and numeric strings, else ``None`` (params are strings in most sources)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def to_epoch(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def field_value(doc: Mapping[str, Any], ref: FieldRef) -> Any:
    """The raw value of ``ref`` in a search document mapping (``None`` when absent)."""
    if ref.namespace == "attr":
        return doc.get(ref.name)
    bag = doc.get({"metric": "metrics", "param": "params", "tag": "tags"}[ref.namespace]) or {}
    return bag.get(ref.name)


def compare(actual: Any, op: str, expected: Value) -> bool | None:
    if actual is None:
        return None
    if isinstance(expected, datetime):
        if isinstance(actual, datetime):
            left = to_epoch(actual)
        else:
            left = to_number(actual)
        if left is None:
            return None
        right = to_epoch(expected)
    elif isinstance(expected, float):
        left = to_number(actual)
        if left is None:
            return None
        right = expected
    else:
        left, right = str(actual).lower(), expected.lower()
        if op == "~":
            return right in left
    if op == "~":
        return str(right).lower() in str(left).lower()
    return {
        "=": left == right,
        "!=": left != right,
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }[op]


def evaluate(expr: Expr | None, doc: Mapping[str, Any]) -> bool | None:
    """``True``, ``False`` or ``None`` (unknown) for ``expr`` on ``doc``."""
    if expr is None:
        return True
    if isinstance(expr, Compare):
        return compare(field_value(doc, expr.field), expr.op, expr.value)
    if isinstance(expr, In):
        results = [compare(field_value(doc, expr.field), "=", v) for v in expr.values]
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False
    if isinstance(expr, Missing):
        return field_value(doc, expr.field) is None
    if isinstance(expr, Not):
        inner = evaluate(expr.item, doc)
        return None if inner is None else not inner
    if isinstance(expr, And):
        results = [evaluate(e, doc) for e in expr.items]
        if any(r is False for r in results):
            return False
        return None if any(r is None for r in results) else True
    if isinstance(expr, Or):
        results = [evaluate(e, doc) for e in expr.items]
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False
    raise TypeError(f"not a query expression: {expr!r}")


def matches(expr: Expr | None, doc: Mapping[str, Any]) -> bool:
    return evaluate(expr, doc) is True
