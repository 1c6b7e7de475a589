"""Filter chips: the parsed question's filters as short ``--where`` expressions people can edit.

Each chip is one condition in the ``--where`` grammar (``project = churn-prediction``,
``time >= 2026-03-01``, ``metric.val_auc > 0.8``); the chips kept are joined with ``and``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Iterable

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-:/+@]*$")
_KEYWORDS = {"and", "or", "not", "in"}


def value_text(value: Any) -> str:
    """A value as the filter grammar reads it back unchanged (strings quoted when they need it)."""
    if isinstance(value, datetime):
        midnight = value.hour == value.minute == value.second == 0
        return value.strftime("%Y-%m-%d") if midnight else value.isoformat(timespec="seconds")
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _KEYWORDS:
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _one_of(name: str, values: Iterable[str]) -> str | None:
    values = list(values)
    if not values:
        return None
    if len(values) == 1:
        return f"{name} = {value_text(values[0])}"
    return f"{name} in ({', '.join(value_text(v) for v in values)})"


def condition_chip(condition: Any) -> str:
    """One AST condition (a comparison or an ``in`` list) as a chip."""
    values = getattr(condition, "values", None)
    if values is not None:
        return f"{condition.field} in ({', '.join(value_text(v) for v in values)})"
    return f"{condition.field} {condition.op} {value_text(condition.value)}"


def chips_of(parsed: Any) -> list[str]:
    """The filters of a parsed question (project, person, kind, time, conditions), in that order."""
    chips = [_one_of("project", parsed.projects), _one_of("person", parsed.people), _one_of("kind", parsed.kinds)]
    if parsed.since:
        chips.append(f"time >= {value_text(parsed.since)}")
    if parsed.until:
        chips.append(f"time < {value_text(parsed.until)}")
    chips += [condition_chip(c) for c in parsed.conditions]
    return [c for c in chips if c]


def where_of(chips: Iterable[str]) -> str | None:
    """The chips joined into one filter (each in parentheses, so an ``or`` stays inside its chip)."""
    kept = [c.strip() for c in chips if c and c.strip()]
    if not kept:
        return None
    return " and ".join(f"({c})" if len(kept) > 1 else c for c in kept)


def facet_chip(field: str, value: str) -> str:
    """The chip a click on a facet value adds."""
    return f"{field} = {value_text(value)}"
