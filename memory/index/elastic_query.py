"""Translate the query AST into Elasticsearch ``bool`` queries with SQL-like three-valued logic.

Each expression is translated twice: the query for "is true" and the query for "is false"
(a comparison is false when its field has a comparable value that does not match, and
unknown when the field is missing). ``NOT x`` is true exactly where ``x`` is false, so the
results agree with the reference evaluator. Values only ever appear as query terms; no
script is built from user input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from memory.query.ast import And, Compare, Expr, FieldRef, In, Missing, Not, Or
from memory.query.evaluate import to_epoch

MATCH_NONE: dict[str, Any] = {"match_none": {}}

_BAGS = {"param": "params", "tag": "tags", "metric": "metrics"}


def encode_name(name: str) -> str:
    """Dots would nest objects in Elasticsearch; names keep their dots as a look-alike character."""
    return name.replace(".", "\u00b7")


def text_field(ref: FieldRef) -> str | None:
    if ref.namespace == "attr":
        if ref.name == "time":
            return None
        return "name_kw" if ref.name == "name" else ref.name
    if ref.namespace == "metric":
        return None
    return f"{_BAGS[ref.namespace]}.{encode_name(ref.name)}"


def number_field(ref: FieldRef) -> str | None:
    if ref.namespace == "attr":
        return "time" if ref.name == "time" else None
    if ref.namespace == "metric":
        return f"metrics.{encode_name(ref.name)}"
    return f"{_BAGS[ref.namespace]}_num.{encode_name(ref.name)}"


_RANGE = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}


def _both(true: dict[str, Any], known: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return true, {"bool": {"filter": [known], "must_not": [true]}}


def _compare(ref: FieldRef, op: str, value: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(true query, false query) of one comparison."""
    if isinstance(value, (float, datetime)):
        field = number_field(ref)
        if field is None:
            return MATCH_NONE, MATCH_NONE
        number = to_epoch(value) * 1000 if isinstance(value, datetime) else value
        if field == "time":
            number = int(round(number))
        known = {"exists": {"field": field}}
        if op in _RANGE:
            return _both({"range": {field: {_RANGE[op]: number}}}, known)
        equal = {"term": {field: number}}
        if op == "=":
            return _both(equal, known)
        if op == "!=":
            false, true = _both(equal, known)
            return true, false
        return MATCH_NONE, MATCH_NONE
    field = text_field(ref)
    if field is None:
        return MATCH_NONE, MATCH_NONE
    text = str(value).lower()
    known = {"exists": {"field": field}}
    if op == "~":
        pattern = "*" + text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?") + "*"
        return _both({"wildcard": {field: {"value": pattern, "case_insensitive": True}}}, known)
    if op in _RANGE:
        return _both({"range": {field: {_RANGE[op]: text}}}, known)
    equal = {"term": {field: text}}
    if op == "=":
        return _both(equal, known)
    false, true = _both(equal, known)  # "!="
    return true, false


def translate(expr: Expr) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (true, false) pair of Elasticsearch queries for ``expr``."""
    if isinstance(expr, Compare):
        return _compare(expr.field, expr.op, expr.value)
    if isinstance(expr, In):
        return translate(Or(tuple(Compare(expr.field, "=", v) for v in expr.values)))
    if isinstance(expr, Missing):
        fields = [f for f in (text_field(expr.field), number_field(expr.field)) if f]
        present = {"bool": {"should": [{"exists": {"field": f}} for f in fields], "minimum_should_match": 1}}
        return {"bool": {"must_not": [present]}}, present
    if isinstance(expr, Not):
        true, false = translate(expr.item)
        return false, true
    if isinstance(expr, And):
        pairs = [translate(e) for e in expr.items]
        return {"bool": {"filter": [t for t, _ in pairs]}}, {"bool": {"should": [f for _, f in pairs], "minimum_should_match": 1}}
    if isinstance(expr, Or):
        pairs = [translate(e) for e in expr.items]
        return {"bool": {"should": [t for t, _ in pairs], "minimum_should_match": 1}}, {"bool": {"filter": [f for _, f in pairs]}}
    raise TypeError(f"not a query expression: {expr!r}")


def to_filter(expr: Expr | None) -> list[dict[str, Any]]:
    """Filter clauses for a ``bool`` query (empty when there is no filter)."""
    return [] if expr is None else [translate(expr)[0]]
