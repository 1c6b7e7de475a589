"""Derive a node's search document: prose for BM25 and snippets, the text to embed, fields to
match lexically, values to filter.

The embedded text (:func:`semantic_text`) carries only what has meaning for a language model —
kind, name, notes, status, short tags, param *names*, neighbours' names, a failure message —
with numbers and ids written as ``#``: param values, metrics, seeds, fold numbers, dates and
instance ids are matched lexically (BM25) and by filters. So the trials of a sweep, the folds
of a cross-validation and the retries of a job share one embedded text, embedded once.
"""

from __future__ import annotations

import re
from typing import Any

from memory.entities import Edge, Node
from memory.index.base import SearchDocument

_KIND_LABEL = {
    "run": "Experiment run",
    "model": "Registered model",
    "model_version": "Model version",
    "dataset": "Dataset",
    "dataset_version": "Dataset version",
    "project": "Project",
    "person": "Person",
    "code_version": "Code version",
    "job": "Pipeline job",
    "job_run": "Pipeline run",
    "feature_view": "Feature view",
    "evaluation": "Evaluation",
}
_RUN_VERDICT = {"FAILED": "failed", "FINISHED": "succeeded", "KILLED": "was aborted", "RUNNING": "is running"}
#: how a neighbour is described in a document, by edge kind and direction
_LINK_WORDS = {
    ("used", True): "trained on dataset",
    ("produced", True): "produced model",
    ("produced", False): "produced by run",
    ("version_of", True): "version of",
    ("child_of", True): "child of run",
    ("child_of", False): "parent of run",
    ("used_features", True): "used features",
    ("read", True): "read dataset",
    ("read", False): "read by",
    ("wrote", True): "wrote dataset",
    ("wrote", False): "written by",
}


#: the edges a document is built from, by direction (``build_document`` reads no others)
DOCUMENT_EDGES_OUT = frozenset(kind for kind, outgoing in _LINK_WORDS if outgoing)
DOCUMENT_EDGES_IN = frozenset(kind for kind, outgoing in _LINK_WORDS if not outgoing)


def _outcome_sentence(outcome: dict[str, Any]) -> str:
    verdict = outcome.get("verdict")
    metric = outcome.get("metric")
    if not verdict or not metric:
        return ""
    if verdict == "baseline":
        return f"This is the baseline for {metric}."
    if verdict in ("better", "worse"):
        return f"Outcome: {verdict} than the baseline on {metric}."
    return ""


#: dates and times, then numbers standing alone (not part of a name: ``resnet50``, ``ResNet-50``, ``patch16_224``)
_NUMBER = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|(?<![\w.\-])[-+]?\d+(?:[.,:]\d+)*(?:[eE][-+]?\d+)?%?(?![\w\-])"
)
#: ids: UUIDs and hex digests or instance ids (7+ hex characters with a digit)
_ID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
    r"|\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{7,}\b"
)
#: the embedded text is cut here (the model reads at most 256 word pieces; meaning comes first)
SEMANTIC_CHARS = 700
#: at most this many param names are embedded (a 150-param pipeline is matched by BM25)
SEMANTIC_PARAMS = 16


def normalise_for_embedding(text: str) -> str:
    """Numbers and ids become ``#`` so texts that differ only by them are embedded once."""
    return _NUMBER.sub("#", _ID.sub("#", text))


def _meaningful_tag(key: str, value: str) -> bool:
    """Short prose-like tag values; not URLs, paths, ids or numbers."""
    return (
        len(value) < 60
        and not any(mark in value for mark in ("/", "\\", "://", "@"))
        and any(c.isalpha() for c in normalise_for_embedding(value))
    )


def semantic_text(node: Node, links: dict[str, list[str]]) -> str:
    """What the embedding model reads for ``node`` (see the module docstring). Short on purpose:
    the encoder's cost grows with the words it reads, and words every document of a project
    shares (the kind of a run, a tag value already in the name) tell documents apart no better."""
    props = node.properties
    status = props.get("status")
    kind = node.kind.value
    parts = [f"{node.name}." if kind == "run" else f"{_KIND_LABEL.get(kind, kind)}: {node.name}."]
    for text in dict.fromkeys((node.description, props.get("notes"))):
        if text and text.strip():
            parts.append(text.strip()[:400])
    if kind == "job_run" and props.get("error_message"):
        parts.append(f"Failed with error: {str(props['error_message'])[:400]}")
    if status and status not in ("FINISHED", "READY", "COMPLETE"):
        parts.append(f"Status {str(status).lower()}.")
    if node.project:
        parts.append(f"Project {node.project}.")
    if props.get("stage") and props["stage"] != "None":
        parts.append(f"Stage {props['stage']}.")
    name = node.name.lower()
    tags = [f"{k}: {v}" for k, v in sorted((props.get("tags") or {}).items())
            if _meaningful_tag(str(k), str(v)) and str(v).lower() not in name]
    if tags:
        parts.append("Tags: " + "; ".join(tags) + ".")
    names = [str(k) for k in sorted(props.get("params") or {})]
    if names:
        parts.append("Params: " + ", ".join(names[:SEMANTIC_PARAMS]) + ".")
    for words, linked in sorted(links.items()):
        distinct = sorted({normalise_for_embedding(n) for n in linked})
        parts.append(f"{words[0].upper()}{words[1:]} {', '.join(distinct[:3])}.")
    return normalise_for_embedding(" ".join(parts))[:SEMANTIC_CHARS]


def build_document(node: Node, neighbours: list[tuple[Edge, Node]]) -> SearchDocument:
    props = node.properties
    params = {str(k): str(v) for k, v in (props.get("params") or {}).items()}
    metrics = {str(k): float(v) for k, v in (props.get("metrics") or {}).items() if isinstance(v, (int, float))}
    tags = {str(k): str(v) for k, v in (props.get("tags") or {}).items()}
    outcome = dict(props.get("outcome") or {})
    status = props.get("status")

    prose = [f"{_KIND_LABEL.get(node.kind.value, node.kind.value)}: {node.name}."]
    if node.project:
        prose.append(f"Project {node.project}.")
    for text in dict.fromkeys((node.description, props.get("notes"))):  # MLflow notes are also the description
        if text and text.strip():
            prose.append(text.strip())
    if status and status not in ("FINISHED", "READY"):
        prose.append(f"Status {status.lower()}.")
    if props.get("stage") and props["stage"] != "None":
        prose.append(f"Stage {props['stage']}.")
    if props.get("aliases"):
        prose.append("Aliases: " + ", ".join(props["aliases"]) + ".")
    prose_tags = [f"{k}: {v}" for k, v in sorted(tags.items()) if len(v) < 80]
    if prose_tags:
        prose.append("Tags: " + "; ".join(prose_tags) + ".")
    links: dict[str, list[str]] = {}
    group_key = None
    for edge, other in neighbours:
        outgoing = edge.src == node.urn
        words = _LINK_WORDS.get((edge.kind.value, outgoing))
        if node.kind.value == "job_run" and edge.kind.value == "version_of":
            words = "run of pipeline job"
        if words:
            links.setdefault(words, []).append(other.name)
        if edge.kind.value == "child_of":
            # a sweep's trials and its parent run fold into one search result
            group_key = other.urn if outgoing else (group_key or node.urn)
    for words, names in sorted(links.items()):
        prose.append(f"{words[0].upper()}{words[1:]} {', '.join(sorted(set(names))[:10])}.")
    if node.kind.value in ("job", "dataset") and props.get("namespace"):
        prose.append(f"Namespace {props['namespace']}" + (f", at {props['location']}." if props.get("location") else "."))
    if node.kind.value == "job_run":  # "why did the nightly feature job fail?" reads like this sentence
        job = str((props.get("job") or {}).get("name") or node.name).replace("_", " ").replace("-", " ")
        verdict = _RUN_VERDICT.get(str(status), str(status or "").lower())
        error = props.get("error_message")
        prose.append(f"The {job} run {verdict}" + (f" with error: {error[:1000]}" if error else "."))
    outcome_text = _outcome_sentence(outcome)
    if outcome_text:
        prose.append(outcome_text)

    lexical = " ".join(
        [f"{k} {v}" for k, v in sorted(params.items())]
        + sorted(metrics)
        + ([f"commit {props['git_commit']}"] if props.get("git_commit") else [])
        + [node.source.id]
    )
    return SearchDocument(
        urn=node.urn,
        kind=node.kind.value,
        name=node.name,
        source=node.source.system,
        source_id=node.source.id,
        source_url=node.source.url,
        text=" ".join(prose),
        semantic=semantic_text(node, links),
        lexical=lexical,
        project=node.project,
        status=status,
        person=props.get("person"),
        time=node.created_at,
        params=params,
        metrics=metrics,
        tags=tags,
        outcome=outcome,
        group_key=group_key,
    )
