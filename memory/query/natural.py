"""Plain-language questions → the typed query AST, deterministically and without a network.

The parser peels recognised phrases off the question one family at a time: intent and
subjects, dates, outcome, status, kinds, numeric conditions, projects, people. Each peeled
phrase becomes a filter and leaves a hole; what remains between the holes, trimmed of
question scaffolding ("has anyone tried", "show me"), is the text to search for.

Filter values and field names come only from the caller's :class:`Vocabulary` or the fixed
attribute set, never from the question itself.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Literal, NamedTuple, Union

from dateutil.relativedelta import relativedelta

from memory.errors import InvalidQuery
from memory.query.phrases import (
    _ALIAS_WORD,
    _AROUND_PERSON,
    _AROUND_PROJECT,
    _ASKS_RE,
    _ASK_ABOUT_RE,
    _DATES_RE,
    _DESCRIBES_REF,
    _DIFF_RE,
    _DIGEST_RE,
    _FILLER,
    _GENERIC,
    _GLUED_AFTER,
    _GLUED_BEFORE,
    _HOLE,
    _KINDS_RE,
    _LINEAGE_RE,
    _MONTHS,
    _NOT_NAMES,
    _NUMBER,
    _NUMBER_WORDS,
    _OPS_RE,
    _PEOPLE_PRONOUNS,
    _PERIOD_RE,
    _PERSON_HINT,
    _PREPS,
    _REFS_RE,
    _SEASONS,
    _STATUSES_RE,
    _SYNONYMS,
    _VERDICTS_RE,
    _WORD,
    _WORDS_AFTER,
    _WORDS_BEFORE,
)
from memory.query.ast import NAME_PATTERN, Compare, Expr, FieldRef, In, SearchQuery, Value, all_of

MAX_QUESTION_CHARS = 5000
Intent = Literal["search", "lineage", "diff", "digest"]
Condition = Union[Compare, In]  # In only when a question names several statuses or verdicts


@dataclass(frozen=True)
class Vocabulary:
    """Names known to the memory, supplied by the caller."""

    projects: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()  # e.g. "val_auc", "val_rmse"
    params: tuple[str, ...] = ()  # e.g. "learning_rate", "batch_size", "num_cores"
    values: tuple[str, ...] = ()  # identity-like param/tag values, e.g. "H2OAutoML", "KDDCup09_appetency"


@dataclass(frozen=True)
class ParsedQuestion:
    question: str
    intent: Intent
    text: str  # what is left to search for
    projects: tuple[str, ...]
    people: tuple[str, ...]
    kinds: tuple[str, ...]
    since: datetime | None  # timezone-aware UTC, inclusive
    until: datetime | None  # exclusive
    conditions: tuple[Condition, ...]  # metric/param thresholds in question order, then status, then outcome
    asks_outcome: bool  # "did it beat the baseline?": show outcomes, do not filter on them
    subjects: tuple[str, ...]  # lineage/diff: model refs such as "churn-classifier@production"

    def filter(self) -> Expr | None:
        """All of: project, person, kind, time range and conditions (one value → ``=``, several → ``in``)."""
        when = FieldRef("attr", "time")
        return all_of(
            _one_of("project", self.projects), _one_of("person", self.people), _one_of("kind", self.kinds),
            Compare(when, ">=", self.since) if self.since else None,
            Compare(when, "<", self.until) if self.until else None,
            *self.conditions,
        )

    def status_conditions(self) -> tuple[Condition, ...]:
        return tuple(c for c in self.conditions if getattr(c, "field", None) == FieldRef("attr", "status"))

    def without_inferred_filters(self) -> "ParsedQuestion":
        """The same question without the kind and status read from its words (``which datasets`` → kind = dataset)."""
        kept = tuple(c for c in self.conditions if c not in self.status_conditions())
        return replace(self, kinds=(), conditions=kept)

    def to_query(self, limit: int = 10) -> SearchQuery:
        return SearchQuery(text=self.text, filter=self.filter(), limit=limit)

    def chips(self) -> list[str]:
        """One human-readable line per filter, e.g. ``project = churn-prediction``, ``since 2026-03-01``."""
        named = (_one_of("project", self.projects), _one_of("person", self.people), _one_of("kind", self.kinds))
        chips = [_chip(c) for c in named if c]
        chips += [f"since {_show(self.since)}"] if self.since else []
        chips += [f"before {_show(self.until)}"] if self.until else []
        return chips + [_chip(c) for c in self.conditions]


def _one_of(name: str, values: tuple[str, ...] | list[str]) -> Condition | None:
    if not values:
        return None
    ref = FieldRef("attr", name)
    return Compare(ref, "=", values[0]) if len(values) == 1 else In(ref, tuple(values))


def _show(value: Value) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d" if value.time() == datetime.min.time() else "%Y-%m-%d %H:%M UTC")
    return f"{value:g}" if isinstance(value, float) else str(value)


def _chip(cond: Condition) -> str:
    if isinstance(cond, In):
        return f"{cond.field} in ({', '.join(_show(v) for v in cond.values)})"
    return f"{cond.field} {cond.op} {_show(cond.value)}"


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """Folded words with their spans in ``text``."""
    return [(_fold(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]


def _name_tokens(words: str) -> tuple[str, ...]:
    """Comparable words of a field name: singular, abbreviations spelled out (``lr`` → learning rate)."""
    singular = (t[:-1] if len(t) > 3 and t.endswith("s") and not t.endswith("ss") else t for t, _, _ in _tokens(words))
    return tuple(w for t in singular for w in _SYNONYMS.get(t, (t,)))


def _normalise(question: str) -> str:
    text = unicodedata.normalize("NFKC", question).translate({0x2019: "'", 0x2018: "'", 0x201C: '"', 0x201D: '"'})
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


_SPLIT = re.compile(r"\x00|[,;:!?()\[\]{}\"|<>=]|\.(?=\s|$)|\s[-–—]+\s")


def _clean_text(text: str) -> str:
    """The idea words left between the holes, scaffolding trimmed from each fragment's ends."""
    kept: list[str] = []
    for fragment in _SPLIT.split(text):
        words = [w for w in (w.strip("'\"`.,*…-–—~#") for w in fragment.split()) if any(c.isalnum() for c in w)]
        while words and _fold(words[0]) in _FILLER:
            words.pop(0)
        while words and _fold(words[-1]) in _FILLER:
            words.pop()
        kept.extend(words)
    return " ".join(kept)


class _Names:
    """Known names indexed by runs of their words, for tolerant matching.

    A mention matches a name when it spells the whole name (any separators, any case), a
    run of two or more of its words, or one distinctive word (only the first word unless
    ``any_word``) — and exactly one known name fits. Words glued into a longer identifier
    ("churn" in "churn-classifier") never match on their own.
    """

    def __init__(self, names: tuple[str, ...], *, any_word: bool, min_len: int = 3,
                 ambiguous: frozenset[str] = frozenset()) -> None:
        self.ambiguous = ambiguous  # single words that also name something else (a framework, a task)
        self.full: dict[tuple[str, ...], set[str]] = {}
        self.windows: dict[tuple[str, ...], set[str]] = {}
        self.min_len = min_len
        for name in names:
            toks = tuple(t for t, _, _ in _tokens(name))
            self.full.setdefault(toks, set()).add(name)
            for size in range(1, len(toks) + 1):
                for i in range(len(toks) - size + 1) if size > 1 or any_word else (0,):
                    self.windows.setdefault(toks[i:i + size], set()).add(name)
        self.longest = max((len(k) for k in self.windows), default=0)

    def find_all(self, text: str) -> list[tuple[str, int, int]]:
        """Every known name mentioned in ``text``, with the span of the mention, left to right."""
        toks, hits, i = _tokens(text), [], 0
        while i < len(toks):
            hit = next((h for size in range(min(self.longest, len(toks) - i), 0, -1)
                        if (h := self._match(text, toks[i:i + size]))), None)
            hits += [hit[:3]] if hit else []
            i += hit[3] if hit else 1
        return hits

    def _match(self, text: str, window: list[tuple[str, int, int]]) -> tuple[str, int, int, int] | None:
        key, start, end = tuple(t for t, _, _ in window), window[0][1], window[-1][2]
        names = self.full.get(key) or set()
        if len(names) != 1:
            names = self.windows.get(key) or set()
            if len(key) == 1 and (key[0] in _GENERIC or len(key[0]) < self.min_len or key[0].isdigit()
                                  or key[0] in self.ambiguous):
                return None
        if len(names) != 1 or _GLUED_AFTER.match(text, end) or _GLUED_BEFORE.search(text, max(0, start - 2), start):
            return None
        if not all(re.fullmatch(r"[\s\-_./]{1,3}", text[a[2]:b[1]]) for a, b in zip(window, window[1:])):
            return None
        return next(iter(names)), start, end, len(window)


class _Ref(NamedTuple):
    start: int
    end: int
    name: str | None  # None for a bare "v4", named later from its neighbours
    suffix: str  # "", "@alias", "/v12"; "v4" for a bare version


class _Span(NamedTuple):
    start: date
    end: date  # exclusive
    implicit_year: bool


def parse_question(question: str, vocabulary: Vocabulary, *, now: datetime) -> ParsedQuestion:
    """Parse a plain-language question; raises :class:`InvalidQuery` only when it is too long."""
    question = question or ""
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidQuery(f"the question is too long ({len(question)} characters, at most {MAX_QUESTION_CHARS})")
    now = now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)
    return _Parser(_normalise(question), vocabulary, now).parse(question)


class _Parser:
    def __init__(self, text: str, vocab: Vocabulary, now: datetime) -> None:
        self.s, self.vocab, self.now, self.today = text, vocab, now, now.date()
        self.intent: Intent = "search"
        self.since: datetime | None = None
        self.until: datetime | None = None
        self.asks = False
        self.numeric: list[Compare] = []
        self.subjects: list[str] = []
        self.verdicts: list[str] = []
        self.statuses: list[str] = []
        self.kinds: list[str] = []
        self.projects: list[str] = []
        self.people: list[str] = []
        self.fields = [(ns, n, _name_tokens(n)) for ns, names in (("metric", vocab.metrics), ("param", vocab.params))
                       for n in names if NAME_PATTERN.match(n)]

    def parse(self, question: str) -> ParsedQuestion:
        for step in (self.read_intent, self.read_dates, self.read_outcome, self.read_status, self.read_kinds,
                     self.read_numbers, self.read_names):
            step()
        conditions = [*self.numeric, *(c for c in (_one_of("status", self.statuses),
                                                   _one_of("outcome", self.verdicts)) if c)]
        return ParsedQuestion(
            question=question, intent=self.intent, text=_clean_text(self.s), projects=tuple(self.projects),
            people=tuple(self.people), kinds=tuple(self.kinds), since=self.since, until=self.until,
            conditions=tuple(conditions), asks_outcome=self.asks, subjects=tuple(self.subjects))

    # -- peeling
    def take(self, pattern: re.Pattern[str], handle: Callable[[re.Match[str]], bool | str]) -> None:
        """Replace each match by a hole; ``handle`` may keep it (False) or put text back (a string)."""
        def replace(m: re.Match[str]) -> str:
            result = handle(m)
            return m.group(0) if result is False else _HOLE + (result if isinstance(result, str) else "") + _HOLE
        self.s = pattern.sub(replace, self.s)

    def cut(self, start: int, end: int) -> None:
        self.s = self.s[:start] + _HOLE + self.s[end:]

    def set(self, name: str, value: object) -> bool:
        setattr(self, name, value)
        return True

    @staticmethod
    def add(items: list[str], item: str) -> bool:
        items.extend([] if item in items else [item])
        return True

    # -- intent and subjects
    def read_intent(self) -> None:
        for pattern, strict in _LINEAGE_RE:
            self.take(pattern, lambda m, strict=strict: self.intent == "search" and self._lineage(m, strict))
        for pattern in _DIFF_RE:
            self.take(pattern, lambda m: self.intent == "search" and self._diff(m))
        for pattern in _DIGEST_RE:
            self.take(pattern, lambda m: self.intent in ("search", "digest") and self.set("intent", "digest"))

    def _lineage(self, m: re.Match[str], strict: bool) -> bool | str:
        refs = self._refs(m.group("x"))
        if refs:
            self.subjects += self._fill(refs)
            return self.set("intent", "lineage") and _leftover(m.group("x"), refs)
        name = _clean_text(m.group("x"))
        if strict or not name:
            return False
        return self.add(self.subjects, name) and self.set("intent", "lineage")

    def _diff(self, m: re.Match[str]) -> bool | str:
        a, b = self._refs(m.group("a")), self._refs(m.group("b"))
        if not a or not b:
            return False
        self.subjects += self._fill(a + [r._replace(start=r.start + 10_000, end=r.end + 10_000) for r in b])
        return self.set("intent", "diff") and _leftover(m.group("a"), a) + _HOLE + _leftover(m.group("b"), b)

    def _refs(self, text: str) -> list[_Ref]:
        """Model refs, URNs, known model/dataset names and identifier-like tokens in ``text``."""
        found: list[_Ref] = []
        masked = text
        for kind, pattern in _REFS_RE:
            refs = [r for r in (self._ref(kind, m) for m in pattern.finditer(masked)) if r]
            if kind == "bare":  # known names come before the identifier-like fallback
                alias = _ALIAS_WORD.search(text)
                suffix = f"@{alias.group(1).lower()}" if alias else ""
                names = _Names(self.vocab.models + self.vocab.datasets, any_word=False)
                refs += [_Ref(start, end, name, suffix) for name, start, end in names.find_all(masked)]
            for r in refs:
                masked = masked[:r.start] + " " * (r.end - r.start) + masked[r.end:]
            found += refs
        return sorted(found)

    def _ref(self, kind: str, m: re.Match[str]) -> _Ref | None:
        if kind in ("urn", "ident"):
            token = m.group(0)
            number = re.fullmatch(r"[-+.\d/:]+(?:e[-+]?\d+)?", token, re.I)
            return None if kind == "ident" and (number or _PERIOD_RE.fullmatch(token)) else _Ref(*m.span(), token, "")
        if kind == "bare":
            return _Ref(*m.span(), None, f"v{m.group('v')}")
        if kind == "spaced" and _fold(m.group("n")) in _NOT_NAMES:
            return None
        return _Ref(*m.span(), self._canonical(m.group("n")), ("@" if kind == "alias" else "/v") + m.group("v"))

    def _canonical(self, name: str) -> str:
        """The vocabulary spelling of a typed model/dataset name, when it spells one exactly."""
        key = [t for t, _, _ in _tokens(name)]
        known = [n for n in self.vocab.models + self.vocab.datasets if [t for t, _, _ in _tokens(n)] == key]
        return known[0] if len(known) == 1 else name

    def _fill(self, refs: list[_Ref]) -> list[str]:
        """Subjects in order; a bare "v4" borrows a name ("compare churn v3 with v4", or the only model)."""
        if all(r.name for r in refs):
            return [f"{r.name}{r.suffix}" for r in refs]
        mentioned = _Names(self.vocab.models, any_word=False).find_all(self.s)
        only = self.vocab.models[0] if len(self.vocab.models) == 1 else None
        base = next((r.name for r in refs if r.name and "://" not in r.name), None) or \
            (mentioned[0][0] if mentioned else only)
        return [(f"{base}/{r.suffix}" if base else r.suffix) if r.name is None else f"{r.name}{r.suffix}"
                for r in refs if r.name is None or r.suffix or r.name != base]  # a plain name that only named versions

    # -- dates
    def read_dates(self) -> None:
        for pattern, how in _DATES_RE:
            self.take(pattern, lambda m, how=how: self._date(m, how))

    def _date(self, m: re.Match[str], how: str) -> bool:
        try:
            if how == "rolling":
                return self._rolling(m)
            if how == "range":
                return self._range(self._period(m.group("a")), self._period(m.group("b")))
        except (ValueError, OverflowError):  # "the last 5000 years"
            return False
        span = self._period(m.group("p"))
        key = " ".join(_fold(m.group("prep")).split()) if how == "prep" else "in"
        prep = _PREPS.get("starting" if key.startswith("starting") else key, "in")
        if not span:
            return False
        if prep in ("from", "after"):
            return self._bound(since=span.start if prep == "from" else span.end)
        if prep in ("before", "through"):
            return self._bound(until=span.start if prep == "before" else span.end)
        return self._bound(since=span.start, until=span.end)

    def _range(self, a: _Span | None, b: _Span | None) -> bool:
        if not a or not b:
            return False
        if b.implicit_year:  # "from March 2025 to May": May of 2025
            b = _shift(b, a.start.year - b.start.year + ((b.start.month, b.start.day) < (a.start.month, a.start.day)))
            if a.implicit_year and b.start > self.today:  # "between November and February", asked in November
                a, b = _shift(a, -1), _shift(b, -1)
        return self._bound(since=a.start, until=b.end)

    def _rolling(self, m: re.Match[str]) -> bool:
        count = m.groupdict().get("n") or "1"
        n = int(count) if count.isdigit() else _NUMBER_WORDS.get(" ".join(_fold(count).split()), 1)
        unit = _fold(m.group("unit")).rstrip("s")
        if unit == "hour":
            return self._bound_at(since=self.now - timedelta(hours=n))
        return self._bound(since=self.today - relativedelta(**{unit + "s": n}))

    def _bound(self, *, since: date | None = None, until: date | None = None) -> bool:
        """Narrow the time range; an end still in the future is dropped (nothing is recorded there)."""
        end = _utc(until) if until else None
        return self._bound_at(since=_utc(since) if since else None, until=end if end and end <= self.now else None)

    def _bound_at(self, *, since: datetime | None = None, until: datetime | None = None) -> bool:
        self.since = max(self.since, since) if self.since and since else since or self.since
        self.until = min(self.until, until) if self.until and until else until or self.until
        return True

    def _period(self, text: str) -> _Span | None:
        """The calendar period a date expression names; a month or quarter without a year is the latest one begun."""
        m, today = _PERIOD_RE.fullmatch(text.strip()), self.today
        try:
            if not m:
                return None
            g = m.group
            if g("iso"):
                start = date(int(g("iy")), int(g("im")), int(g("id") or 1))
                return _Span(start, start + (timedelta(days=1) if g("id") else relativedelta(months=1)), False)
            if g("dm") or g("md"):
                month, day_text = _MONTHS[_fold(g("dmm") or g("mdm"))[:3]], g("dmd") or g("mdd")
                start, implicit = self._recent(lambda y: date(y, month, int(day_text or 1)), g("dmy") or g("mdy"))
                return _Span(start, start + (timedelta(days=1) if day_text else relativedelta(months=1)), implicit)
            if g("qtr") or g("season"):
                month = 3 * int(g("q")) - 2 if g("qtr") else _SEASONS[_fold(g("sn"))]
                start, implicit = self._recent(lambda y: date(y, month, 1), g("qy") or g("sy"))
                if implicit and _fold(g("sw") or "") == "last" and start + relativedelta(months=3) > today:
                    start -= relativedelta(years=1)  # "last summer", asked in July
                return _Span(start, start + relativedelta(months=3), implicit)
            if g("rel"):
                start, step = {
                    "week": (today - timedelta(days=today.weekday()), relativedelta(weeks=1)),
                    "month": (today.replace(day=1), relativedelta(months=1)),
                    "quarter": (date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), relativedelta(months=3)),
                    "year": (date(today.year, 1, 1), relativedelta(years=1)),
                }[_fold(g("ru"))]
                start -= step if _fold(g("rw")) in ("last", "previous") else relativedelta()
                return _Span(start, start + step, False)
            if g("day"):
                start = today - timedelta(days=0 if _fold(g("day")) == "today" else 1)
                return _Span(start, start + timedelta(days=1), False)
            year = int(g("year"))
            return _Span(date(year, 1, 1), date(year + 1, 1, 1), False) if year <= today.year + 5 else None
        except (ValueError, OverflowError):  # 2026-02-30
            return None

    def _recent(self, make: Callable[[int], date], year: str | None) -> tuple[date, bool]:
        """A date in the given year, else the most recent one that is not in the future."""
        if year:
            return make(int(year)), False
        start = make(self.today.year)
        return (make(self.today.year - 1) if start > self.today else start), True

    # -- outcome, status, kinds
    def read_outcome(self) -> None:
        for pattern in _ASKS_RE:
            self.take(pattern, lambda m: self.set("asks", True))
        self.take(_ASK_ABOUT_RE, self._ask_about)
        for pattern, verdict in _VERDICTS_RE:
            self.take(pattern, lambda m, v=verdict: self.add(self.verdicts, v))

    def _ask_about(self, m: re.Match[str]) -> bool | str:
        words = m.group("keep").split()
        if not words or _fold(words[0]) in _PEOPLE_PRONOUNS:  # "did anyone beat the baseline" asks for winners
            return False
        return self.set("asks", True) and m.group("keep")

    def read_status(self) -> None:
        for pattern, status in _STATUSES_RE:
            self.take(pattern, lambda m, s=status: self.add(self.statuses, s))

    def read_kinds(self) -> None:
        for pattern, kind in _KINDS_RE:
            self.take(pattern, lambda m, k=kind: self.add(self.kinds, k))

    # -- numbers
    def read_numbers(self) -> None:
        pos = 0
        while (m := _NUMBER.search(self.s, pos)) is not None:
            found = self._condition(m)
            if found:
                self.numeric.append(found[2])
                self.cut(found[0], found[1])
            pos = found[0] if found else m.end()

    def _condition(self, m: re.Match[str]) -> tuple[int, int, Compare] | None:
        """``auc > 0.8``, ``batch size of 512``, ``more than 4 cores``: a field from the vocabulary."""
        op = next((o for o, p in _OPS_RE if m.group("op") and p.fullmatch(" ".join(m.group("op").split()))), "=")
        if m.group("post"):
            op = ">=" if _fold(m.group("post")).split()[1] in ("more", "higher", "greater", "above") else "<="
        value = float(m.group("num"))
        before = _WORDS_BEFORE.search(self.s, max(0, m.start() - 200), m.start())
        start = before.start() if before else m.start()
        words = list(re.finditer(r"\S+", self.s[start:m.start()]))
        for k in range(len(words), 0, -1):  # the longest run of words that names a field: "learning rate"
            if ref := self._field(" ".join(w.group() for w in words[-k:])):
                return start + words[-k].start(), m.end(), Compare(ref, op, value)
        after = _WORDS_AFTER.match(self.s, m.end())
        words = list(re.finditer(r"\S+", after.group())) if after else []
        for k in range(len(words), 0, -1):
            if ref := self._field(" ".join(w.group() for w in words[:k])):
                return m.start(), m.end() + words[k - 1].end(), Compare(ref, op, value)
        return None

    def _field(self, words: str) -> FieldRef | None:
        """The one metric or param these words name (``auc`` → val_auc, ``batch size`` → batch_size)."""
        query = _name_tokens(words)
        if not query or any(t in _FILLER for t in query) or all(t in _GENERIC for t in query):
            return None  # "the connect 4 dataset" names no param called dataset
        fits = [(ns, n) for ns, n, toks in self.fields if toks == query] or \
            [(ns, n) for ns, n, toks in self.fields if _contains_run(toks, query)]
        return FieldRef(fits[0][0], fits[0][1]) if len(fits) == 1 else None  # type: ignore[arg-type]

    # -- projects and people
    def read_names(self) -> None:
        # "autosklearn" is a framework before it is the first word of project "autosklearn-metalearning"
        projects = _Names(self.vocab.projects, any_word=False, ambiguous=frozenset(v.lower() for v in self.vocab.values))
        self._take_names(projects.find_all(self.s), self.projects, _AROUND_PROJECT)
        people = _Names(self.vocab.people, any_word=True, min_len=2)
        self._take_names(people.find_all(self.s), self.people, _AROUND_PERSON)
        hints = []  # "by mari", "garc's": a unique prefix, only where the words say it names a person
        for m in _PERSON_HINT.finditer(self.s):
            word = _fold(m.group("w") or m.group("v"))
            fits = [p for p in self.vocab.people if any(t.startswith(word) for t, _, _ in _tokens(p))]
            hints += [(fits[0], *m.span())] if len(fits) == 1 and word not in _FILLER else []
        self._take_names(hints, self.people, _AROUND_PERSON)

    def _take_names(self, hits: list[tuple[str, int, int]], found: list[str], around: tuple) -> None:
        for name, _, _ in hits:
            self.add(found, name)
        for _, start, end in reversed(hits):  # right to left, so the earlier spans stay valid
            self._cut_around(start, end, *around)

    def _cut_around(self, start: int, end: int, before: re.Pattern[str], after: re.Pattern[str]) -> None:
        """Cut a name with the words that only served it: "on the churn model", "maria's runs"."""
        lead, tail = before.search(self.s, max(0, start - 40), start), after.match(self.s, end)
        self.cut(lead.start() if lead else start, tail.end() if tail else end)


def _contains_run(name: tuple[str, ...], query: tuple[str, ...]) -> bool:
    def same(a: str, b: str) -> bool:
        # the question may abbreviate a field's word ("temp" → temperature), not extend it ("regnety" ≠ reg_param)
        return a == b or (len(b) >= 3 and a.startswith(b))
    return any(all(same(name[i + j], q) for j, q in enumerate(query)) for i in range(len(name) - len(query) + 1))


def _leftover(text: str, refs: list[_Ref]) -> str:
    """What surrounds the refs (perhaps a date), without the words that only described them."""
    for ref in sorted(refs, reverse=True):
        text = text[:ref.start] + _HOLE + text[ref.end:]
    return _DESCRIBES_REF.sub(" ", text)


def _shift(span: _Span, years: int) -> _Span:
    return _Span(span.start + relativedelta(years=years), span.end + relativedelta(years=years), span.implicit_year)


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


_FAILURE_WORDS = re.compile(r"\b(?:fail|failed|fails|failing|crash|crashed|crashes|error|errored|die|died|broke|break)\b", re.I)


def as_search(parsed: ParsedQuestion) -> ParsedQuestion:
    """A lineage question whose subject is no known model (``why did h2o fail on Dionis?``) as a search:
    the subject becomes search text, and a failure verb a ``status = FAILED`` filter."""
    text = " ".join(part for part in (*parsed.subjects, parsed.text) if part)
    conditions = parsed.conditions
    status = FieldRef("attr", "status")
    if _FAILURE_WORDS.search(parsed.question) and not any(getattr(c, "field", None) == status for c in conditions):
        conditions = (*conditions, Compare(status, "=", "FAILED"))
    return replace(parsed, intent="search", text=text, subjects=(), conditions=conditions)
