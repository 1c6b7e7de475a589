"""The typed query AST. Backends translate it; :func:`memory.query.evaluate` is the reference.

Identifiers come from an allow-list: attributes are a closed set and metric/param/tag
names must match :data:`NAME_PATTERN`, so nothing user-typed is ever spliced into SQL
or into an Elasticsearch script.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Union

from memory.errors import InvalidQuery

if TYPE_CHECKING:
    from memory.query.terms import Concept

Namespace = Literal["attr", "metric", "param", "tag"]
Op = Literal["=", "!=", ">", ">=", "<", "<=", "~"]
Value = Union[str, float, datetime]

#: attributes every search document has, with the type of their values
ATTRIBUTES: dict[str, type] = {
    "kind": str,
    "project": str,
    "source": str,
    "status": str,
    "person": str,
    "name": str,
    "outcome": str,
    "time": datetime,
}
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/: ]{0,249}$")
OPS: tuple[str, ...] = ("=", "!=", ">", ">=", "<", "<=", "~")


@dataclass(frozen=True)
class FieldRef:
    namespace: Namespace
    name: str

    def __post_init__(self) -> None:
        if self.namespace == "attr":
            if self.name not in ATTRIBUTES:
                raise InvalidQuery(
                    f"unknown field {self.name!r}",
                    hint="use one of " + ", ".join(sorted(ATTRIBUTES)) + ", or metric.NAME, param.NAME, tag.NAME",
                )
        elif not NAME_PATTERN.match(self.name):
            raise InvalidQuery(f"invalid {self.namespace} name {self.name!r}")

    def __str__(self) -> str:
        return self.name if self.namespace == "attr" else f"{self.namespace}.{self.name}"


@dataclass(frozen=True)
class Compare:
    field: FieldRef
    op: Op
    value: Value

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise InvalidQuery(f"unknown operator {self.op!r}")


@dataclass(frozen=True)
class In:
    field: FieldRef
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Missing:
    """True when the field has no value (never unknown)."""

    field: FieldRef


@dataclass(frozen=True)
class And:
    items: tuple["Expr", ...]


@dataclass(frozen=True)
class Or:
    items: tuple["Expr", ...]


@dataclass(frozen=True)
class Not:
    item: "Expr"


Expr = Union[Compare, In, Missing, And, Or, Not]


def all_of(*exprs: Expr | None) -> Expr | None:
    """Conjunction of the given expressions, skipping ``None``; ``None`` when empty."""
    items = tuple(e for e in exprs if e is not None)
    if not items:
        return None
    return items[0] if len(items) == 1 else And(items)


@dataclass(frozen=True)
class SearchQuery:
    """What to look for: free text plus a typed filter."""

    text: str = ""
    filter: Expr | None = None
    limit: int = 10
    group: bool = True
    candidates: int = field(default=100, metadata={"doc": "hits fetched from each retriever before fusion"})
    concepts: tuple["Concept", ...] = field(default=(), metadata={"doc": "what the text asks about, with the spellings that match (memory.query.terms)"})

    def __post_init__(self) -> None:
        if self.limit < 1 or self.limit > 1000:
            raise InvalidQuery("limit must be between 1 and 1000")
