"""Entities and results to response models."""

from __future__ import annotations

from memory.api.schemas import AnswerPublic, EdgePublic, HitPublic, LineagePublic, NodePublic, ParsedQuestionPublic
from memory.entities import Edge, Node
from memory.service import Answer, Hit, Lineage


def node_public(node: Node) -> NodePublic:
    return NodePublic(
        urn=node.urn, kind=node.kind.value, name=node.name, project=node.project, description=node.description,
        created_at=node.created_at, updated_at=node.updated_at, source=node.source.model_dump(), properties=node.properties,
    )


def edge_public(edge: Edge) -> EdgePublic:
    return EdgePublic(src=edge.src, kind=edge.kind.value, dst=edge.dst, valid_from=edge.valid_from, valid_to=edge.valid_to)


def hit_public(hit: Hit) -> HitPublic:
    return HitPublic(
        urn=hit.urn, kind=hit.kind, title=hit.title, source=hit.source, source_id=hit.source_id, source_url=hit.source_url,
        project=hit.project, time=hit.time, person=hit.person, status=hit.status, snippet=hit.snippet,
        highlights=hit.highlights, outcome=hit.outcome, score=hit.score, group_size=hit.group_size,
        group_members=hit.group_members,
        group_outcome_range=[min(hit.group_outcomes), max(hit.group_outcomes)] if hit.group_outcomes else None,
        group_best=hit.group_best,
        coverage=hit.coverage,
    )


def lineage_public(graph: Lineage) -> LineagePublic:
    return LineagePublic(
        root=graph.root,
        direction=graph.direction,
        as_of=graph.as_of,
        nodes=[node_public(n) for _, n in sorted(graph.nodes.items())],
        depth=graph.depth_of,
        edges=[edge_public(e) for e in graph.edges],
    )


def answer_public(answer: Answer) -> AnswerPublic:
    parsed = answer.parsed
    chips = parsed.chips()
    return AnswerPublic(
        question=answer.question,
        parsed=ParsedQuestionPublic(
            intent=parsed.intent, text=parsed.text, projects=list(parsed.projects), people=list(parsed.people),
            kinds=list(parsed.kinds), since=parsed.since, until=parsed.until,
            conditions=[c for c in chips if c.split(" ", 1)[0] not in ("project", "person", "kind", "since", "before")],
            asks_outcome=parsed.asks_outcome, subjects=list(parsed.subjects), chips=chips,
        ),
        summary=answer.summary,
        notes=answer.notes,
        hits=[hit_public(h) for h in answer.hits],
        nobody_tried=answer.nobody_tried,
        confidence=answer.confidence,
        closest=[hit_public(h) for h in answer.closest],
        lineage=lineage_public(answer.lineage) if answer.lineage is not None else None,
    )
