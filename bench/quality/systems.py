"""The systems scored on the same questions: Experiment Memory's ``ask``, plain BM25, and MLflow ILIKE.

Each returns an :class:`Outcome`: the records it ranks (mapped to their corpus keys, then to
answer units) and whether it says nobody has tried this.
"""

from __future__ import annotations

import re
import time
from typing import Any

from corpus import Record
from metrics import Outcome
from questions import NOW, Question, unit_of

from memory.query.analysis import STOPWORDS, words


def _run_id(urn: str) -> str:
    return urn.rstrip("/").rsplit("/", 1)[-1]


class Units:
    """MLflow run id → answer unit (a fold maps to its framework × task run)."""

    def __init__(self, run_keys: dict[str, str], records: list[Record]) -> None:
        by_key = {r.key: r for r in records}
        self.unit = {run_id: unit_of(by_key[key]) for run_id, key in run_keys.items() if key in by_key}

    def of_urns(self, urns: list[str]) -> list[str]:
        return [u for u in (self.unit.get(_run_id(urn)) for urn in urns) if u]


class ExperimentMemory:
    """What a user gets from ``xmem ask``: parsed filters, grouped hybrid hits, a confidence verdict."""

    name = "xmem"

    def __init__(self, service: Any, units: Units) -> None:
        self.service, self.units = service, units

    def answer(self, question: Question) -> Outcome:
        started = time.perf_counter()
        answer = self.service.ask(question.text, now=NOW, limit=10)
        seconds = time.perf_counter() - started
        hits = answer.closest if answer.nobody_tried else answer.hits
        # a grouped row stands for its members (one click away): they follow it in the ranking,
        # so a row folding relevant and irrelevant runs is scored like the flat list it hides
        urns = [urn for h in hits for urn in dict.fromkeys([h.urn, *h.group_members])]
        return Outcome(self.units.of_urns(urns), nobody=answer.nobody_tried,
                       confidence=answer.confidence, coverage=answer.coverage,
                       similarity=answer.similarity, seconds=seconds)


class PlainBM25:
    """The question as typed, through the same BM25 index, no parsing, vectors or grouping."""

    name = "bm25"

    def __init__(self, index: Any, units: Units) -> None:
        self.index, self.units = index, units

    def answer(self, question: Question) -> Outcome:
        started = time.perf_counter()
        ranked = self.index.lexical(question.text, None, 50)
        seconds = time.perf_counter() - started
        return Outcome(self.units.of_urns([r.urn for r in ranked]), nobody=not ranked, seconds=seconds)


def _keywords(text: str) -> list[str]:
    return [w for w in dict.fromkeys(words(text)) if w not in STOPWORDS and len(w) >= 3]


class MlflowIlikeTyped:
    """What users do today: the question's keywords typed as one MLflow filter,
    ``attributes.run_name ILIKE '%w1%' AND attributes.run_name ILIKE '%w2%' …`` (newest first).
    "Nobody tried" = the filter returns nothing."""

    name = "mlflow_ilike"

    def __init__(self, tracking_uri: str, units: Units) -> None:
        self.union = MlflowIlikeUnion(tracking_uri, units)

    def answer(self, question: Question) -> Outcome:
        started = time.perf_counter()
        clauses = [f"attributes.run_name ILIKE '%{re.sub(chr(39) + '%_', '', w)}%'" for w in _keywords(question.text)]
        runs = self.union._search(" AND ".join(clauses)) if clauses else []
        runs.sort(key=lambda r: (-(r.info.start_time or 0), r.info.run_id))
        seconds = time.perf_counter() - started
        return Outcome(self.union.units.of_urns([r.info.run_id for r in runs]), nobody=not runs, seconds=seconds)


class MlflowIlikeUnion:
    """A generous ILIKE baseline no MLflow user gets without code: one ``ILIKE '%word%'`` search per
    keyword on the run name and on the note (MLflow filters have no OR), runs ranked by how many
    keywords they matched, then newest first. "Nobody tried" = nothing matched at all.
    """

    name = "mlflow_ilike_any"

    def __init__(self, tracking_uri: str, units: Units) -> None:
        from mlflow.tracking import MlflowClient

        self.client, self.units = MlflowClient(tracking_uri=tracking_uri), units
        self.experiment_ids = [e.experiment_id for e in self.client.search_experiments()]

    def _search(self, filter_string: str) -> list[Any]:
        runs, token = [], None
        while True:
            page = self.client.search_runs(self.experiment_ids, filter_string, max_results=1000, page_token=token)
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def answer(self, question: Question) -> Outcome:
        started = time.perf_counter()
        terms = _keywords(question.text)
        matched: dict[str, set[str]] = {}
        start_time: dict[str, int] = {}
        for term in terms:
            pattern = re.sub(r"['%_]", "", term)
            for field in ("attributes.run_name", "tags.`mlflow.note.content`"):
                for run in self._search(f"{field} ILIKE '%{pattern}%'"):
                    matched.setdefault(run.info.run_id, set()).add(term)
                    start_time[run.info.run_id] = run.info.start_time or 0
        ranked = sorted(matched, key=lambda rid: (-len(matched[rid]), -start_time[rid], rid))
        seconds = time.perf_counter() - started
        return Outcome(self.units.of_urns(ranked), nobody=not ranked, seconds=seconds)
