"""Entities and results to response models."""

from __future__ import annotations

from typing import Any

from memory.api.schemas import (
    AnswerPublic, ChangePublic, ConditionPublic, DiffPublic, EdgePublic, HitPublic, LineagePublic, MetricDeltaPublic, NodePublic,
    NodeRefPublic, ParsedQuestionPublic, SimilarMatchPublic, SimilarPublic, SimilarRunPublic, WhyPublic,
)
from memory.entities import Edge, Node
from memory.service import Answer, Diff, Hit, Lineage, RunProfile, SimilarRuns, WhyReport


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


def condition_public(condition: Any) -> ConditionPublic:
    values = getattr(condition, "values", None)
    if values is not None:
        return ConditionPublic(field=str(condition.field), op="in", values=list(values))
    return ConditionPublic(field=str(condition.field), op=condition.op, value=condition.value)


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
            condition_terms=[condition_public(c) for c in parsed.conditions],
        ),
        summary=answer.summary,
        notes=answer.notes,
        hits=[hit_public(h) for h in answer.hits],
        nobody_tried=answer.nobody_tried,
        confidence=answer.confidence,
        closest=[hit_public(h) for h in answer.closest],
        lineage=lineage_public(answer.lineage) if answer.lineage is not None else None,
        diff=answer.diff.as_dict() if answer.diff is not None else None,
        digest=answer.digest.to_dict() if answer.digest is not None else None,
    )


def node_ref(node: Node | None) -> NodeRefPublic | None:
    return None if node is None else NodeRefPublic(urn=node.urn, name=node.name, kind=node.kind.value, url=node.source.url)


def diff_public(result: Diff) -> DiffPublic:
    current, baseline = node_ref(result.current), node_ref(result.baseline)
    assert current is not None and baseline is not None
    return DiffPublic(
        current=current, baseline=baseline,
        current_run=node_ref(result.current_run), baseline_run=node_ref(result.baseline_run),
        changes=[ChangePublic(kind=c.kind, subject=c.subject, before=c.before, after=c.after, summary=c.summary,
                              score=c.score, reason=c.reason, details=c.details, links=c.links) for c in result.changes],
        metrics=[MetricDeltaPublic(name=m.name, before=m.before, after=m.after, delta=m.delta,
                                   higher_is_better=m.higher_is_better, worse=m.worse) for m in result.metrics],
    )


def why_public(report: WhyReport) -> WhyPublic:
    return WhyPublic(
        ref=report.ref, version=node_public(report.version), at=report.at, label=report.label,
        held_since=report.tenure.start if report.tenure else None, baseline=report.baseline_how,
        diff=diff_public(report.diff) if report.diff is not None else None, notes=report.notes,
        lineage=lineage_public(report.lineage),
    )


def similar_run_public(profile: RunProfile) -> SimilarRunPublic:
    return SimilarRunPublic(
        urn=profile.urn, name=profile.name, project=profile.project, time=profile.time, person=profile.person,
        team=profile.team, status=profile.status, source_url=profile.source_url, params=profile.params,
        datasets=sorted(profile.datasets), outcome=profile.outcome, outcome_text=profile.describe_outcome(),
    )


def similar_public(result: SimilarRuns) -> SimilarPublic:
    return SimilarPublic(run=similar_run_public(result.run), matches=[
        SimilarMatchPublic(run=similar_run_public(m.earlier), score=m.score, params=m.params, data=m.data, text=m.text,
                           repeat=m.is_repeat, same_params=list(m.same_params), changed_params=list(m.changed_params),
                           why=m.reasons())
        for m in result.matches
    ])
