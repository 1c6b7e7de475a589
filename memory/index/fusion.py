"""Hybrid search, identical for every backend: reciprocal rank fusion, snippets, grouping.

RRF (Cormack et al. 2009) scores a document ``sum(1 / (k + rank))`` over the rankers
that returned it; it needs no score calibration between BM25 and cosine similarity.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Sequence

import numpy as np

from memory.query.analysis import STOPWORDS, analyze, words
from memory.index.base import Hit, Ranked, SearchDocument, SearchIndex, SearchResult
from memory.query.ast import SearchQuery
from memory.query.terms import coverage, names_matched

RRF_K = 60
GROUP_SIMILARITY = 0.9
#: how much matching the query's concepts counts against rank fusion: a hit that matches every
#: concept outranks one that matches half of them unless fusion ranks the latter far higher
#: (tuned on the development questions of bench/quality)
COVERAGE_WEIGHT = 0.05

def query_terms(text: str) -> list[str]:
    """Distinct lower-case words of ``text`` without stop words, in order (for snippets)."""
    seen: dict[str, None] = {}
    for word in words(text):
        if word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Ranked]], k: int = RRF_K) -> list[tuple[str, float, list[int | None]]]:
    """Fused ``(urn, score, ranks per ranker)``, best first; ties broken by URN for determinism."""
    scores: dict[str, float] = defaultdict(float)
    ranks: dict[str, list[int | None]] = defaultdict(lambda: [None] * len(rankings))
    for i, ranking in enumerate(rankings):
        for rank, item in enumerate(ranking, start=1):
            scores[item.urn] += 1.0 / (k + rank)
            ranks[item.urn][i] = rank
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(urn, score, ranks[urn]) for urn, score in ordered]


def _stem(word: str) -> str:
    return word[:5] if len(word) > 5 else word


def make_snippet(doc: SearchDocument, terms: Sequence[str], width: int = 220) -> tuple[str, list[str]]:
    """The sentence of the document that shares most query terms, and the terms it matched."""
    stems = {_stem(t) for t in terms}
    body = " ".join(part for part in (doc.text, doc.lexical) if part)
    sentences = [s.strip() for s in re.split(r"(?<=[.!?;\n])\s+", body) if s.strip()] or [doc.name]
    best, best_score, best_words = sentences[0], -1, []
    for sentence in sentences:
        matched = [w for w in words(sentence) if _stem(w) in stems]
        score = len(set(map(_stem, matched)))
        # on a tie, the longer sentence (up to the width) says more than a title line
        if score > best_score or (score == best_score and min(len(sentence), width) > min(len(best), width)):
            best, best_score, best_words = sentence, score, matched
    if len(best) > width:
        first = min((best.lower().find(w) for w in best_words), default=0)
        start = max(0, first - width // 3)
        best = ("…" if start else "") + best[start : start + width].rstrip() + "…"
    return best, sorted(set(best_words))


def _name_stem(name: str) -> str:
    return re.sub(r"[\d.]+", "#", name.lower())


def _group(hits: list[Hit], docs: dict[str, SearchDocument]) -> list[Hit]:
    """Fold near-identical hits (one idea swept over params) into their best-ranked member."""
    leaders: list[Hit] = []
    for hit in hits:
        doc = docs[hit.urn]
        home = None
        for leader in leaders:
            lead_doc = docs[leader.urn]
            if (lead_doc.kind, lead_doc.project) != (doc.kind, doc.project):
                continue
            if abs((hit.coverage or 0.0) - (leader.coverage or 0.0)) > 1e-6:
                continue  # one matches what was asked and the other does not: not the same answer
            if doc.group_key and doc.group_key == lead_doc.group_key:
                home = leader
                break
            if (
                _name_stem(doc.name) == _name_stem(lead_doc.name)
                and doc.vector is not None
                and lead_doc.vector is not None
                and float(np.dot(doc.vector, lead_doc.vector)) >= GROUP_SIMILARITY
            ):
                home = leader
                break
        if home is None:
            hit.group_members = [hit.urn]
            value = hit.outcome.get("value")
            hit.group_outcomes = [value] if isinstance(value, (int, float)) else []
            leaders.append(hit)
        else:
            home.group_size += 1
            home.group_members.append(hit.urn)
            value = hit.outcome.get("value")
            if isinstance(value, (int, float)):
                home.group_outcomes.append(value)
    for leader in leaders:
        leader.group_best = _best_member(leader, docs) if leader.group_size > 1 else None
    return leaders


def _best_member(leader: Hit, docs: dict[str, SearchDocument]) -> str | None:
    """The member whose key metric is best, in the direction the metric is judged (``higher_is_better``)."""
    scored = [(doc.outcome["value"], urn) for urn in leader.group_members
              if (doc := docs.get(urn)) is not None and isinstance(doc.outcome.get("value"), (int, float))]
    if not scored:
        return None
    higher = leader.outcome.get("higher_is_better", True) is not False
    return (max(scored) if higher else min(scored))[1]


def hybrid_search(index: SearchIndex, query: SearchQuery, query_vector: np.ndarray | None) -> SearchResult:
    terms = query_terms(query.text)
    rankings: list[list[Ranked]] = []
    also = sorted({s for c in query.concepts for alt in c.alternatives for s in alt})
    if query.text.strip():
        rankings.append(index.lexical(query.text, query.filter, query.candidates, also=also) if terms or also else [])
        rankings.append(index.vector(query_vector, query.filter, query.candidates) if query_vector is not None else [])
    else:
        rankings.append(index.browse(query.filter, query.candidates))
    fused = reciprocal_rank_fusion(rankings)
    pool = fused[: max(query.limit * 10, 50) if query.group else query.limit]
    docs = index.get_documents([urn for urn, _, _ in pool], with_vectors=query.group or query_vector is not None)
    hits: list[Hit] = []
    for urn, score, ranks in pool:
        doc = docs.get(urn)
        if doc is None:
            continue
        hits.append(
            Hit(
                urn=doc.urn,
                kind=doc.kind,
                title=doc.name,
                source=doc.source,
                source_id=doc.source_id,
                source_url=doc.source_url,
                project=doc.project,
                time=doc.time,
                person=doc.person,
                status=doc.status,
                snippet="",  # made below, for the hits that are returned only
                highlights=[],
                outcome=dict(doc.outcome),
                score=round(score, 6),
                text=doc.text,
                lexical_rank=ranks[0] if query.text.strip() else None,
                vector_rank=ranks[1] if len(ranks) > 1 else None,
            )
        )
    if query_vector is not None:
        for hit in hits:
            vector = docs[hit.urn].vector
            hit.similarity = round(float(np.dot(vector, query_vector)), 4) if vector is not None else None
    if query.concepts:
        for hit in hits:
            doc = docs[hit.urn]
            tokens = set(analyze(f"{doc.name} {doc.text} {doc.lexical}").split())
            hit.coverage = round(coverage(query.concepts, tokens), 4)
            hit.names_matched = round(names_matched(query.concepts, tokens), 4)
        hits.sort(key=lambda h: -(h.score + COVERAGE_WEIGHT * (h.coverage or 0.0)))
    if query.group:
        hits = _group(hits, docs)
    hits = hits[: query.limit]
    for hit in hits:
        hit.snippet, hit.highlights = make_snippet(docs[hit.urn], terms)
    best = max((h.names_matched for h in hits if h.names_matched is not None), default=1.0 if hits else 0.0)
    closest = max((h.similarity for h in hits if h.similarity is not None), default=0.0)
    return SearchResult(query=query, hits=hits, total_candidates=len(fused), backend=index.name,
                        coverage=best if hits else 0.0, similarity=closest)
