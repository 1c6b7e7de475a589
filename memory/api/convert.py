"""Entities and results to response models."""

from __future__ import annotations

from memory.api.schemas import EdgePublic, HitPublic, NodePublic
from memory.entities import Edge, Node
from memory.service import Hit


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
    )
