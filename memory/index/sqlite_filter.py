"""Translate the query AST into a parameterised SQLite ``WHERE`` clause over the ``docs`` table.

Comparisons go through ``xmem_compare``, a SQLite function backed by the reference
evaluator's own ``compare``, so the embedded backend cannot disagree with the reference.
Simple attribute equalities use plain SQL (fast paths with identical semantics).
Field names reach the SQL only as bound JSON paths; values are always bound.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from memory.query.ast import And, Compare, Expr, FieldRef, In, Missing, Not, Or
from memory.query.evaluate import compare, to_epoch

_ATTR_COLUMNS = {"kind", "project", "source", "status", "person", "name", "outcome", "time"}
_BAGS = {"metric": "metrics", "param": "params", "tag": "tags"}


def register_functions(db: sqlite3.Connection) -> None:
    def xmem_compare(actual: Any, op: str, expected_json: str) -> int | None:
        expected = _decode(expected_json)
        result = compare(actual, op, expected)
        return None if result is None else int(result)

    db.create_function("xmem_compare", 3, xmem_compare, deterministic=True)


def _encode(value: Any) -> str:
    if isinstance(value, datetime):
        return json.dumps({"$t": value.isoformat()})
    return json.dumps(value)


def _decode(text: str) -> Any:
    value = json.loads(text)
    if isinstance(value, dict) and "$t" in value:
        return datetime.fromisoformat(value["$t"])
    return value


def _field_sql(ref: FieldRef, params: list[Any]) -> str:
    if ref.namespace == "attr":
        assert ref.name in _ATTR_COLUMNS  # guaranteed by FieldRef's allow-list
        return ref.name
    params.append('$."' + ref.name + '"')  # NAME_PATTERN forbids quotes and backslashes
    return f"json_extract({_BAGS[ref.namespace]}, ?)"


def _compare_sql(ref: FieldRef, op: str, value: Any, params: list[Any]) -> str:
    if ref.namespace == "attr" and ref.name == "time" and isinstance(value, datetime) and op != "~":
        params.append(to_epoch(value))
        return f"(time {op} ?)"
    if ref.namespace == "attr" and op == "=" and isinstance(value, str) and value.isascii():
        params.append(value)
        return f"({ref.name} = ? COLLATE NOCASE)"
    column = _field_sql(ref, params)
    params.extend([op, _encode(value)])
    return f"xmem_compare({column}, ?, ?)"


def to_sql(expr: Expr, params: list[Any]) -> str:
    """SQL for ``expr``, appending bound values to ``params``."""
    if isinstance(expr, Compare):
        return _compare_sql(expr.field, expr.op, expr.value, params)
    if isinstance(expr, In):
        return "(" + " OR ".join(_compare_sql(expr.field, "=", v, params) for v in expr.values) + ")"
    if isinstance(expr, Missing):
        return f"({_field_sql(expr.field, params)} IS NULL)"
    if isinstance(expr, Not):
        return f"(NOT {to_sql(expr.item, params)})"
    if isinstance(expr, And):
        return "(" + " AND ".join(to_sql(e, params) for e in expr.items) + ")"
    if isinstance(expr, Or):
        return "(" + " OR ".join(to_sql(e, params) for e in expr.items) + ")"
    raise TypeError(f"not a query expression: {expr!r}")
