"""Map OpenLineage events to graph records. Pure functions; the receiver and the replay share them.

Every accepted event is first kept as it came, as an :class:`EventRecord` on its *subject*
(the job run for a RunEvent, the dataset or job for a static DatasetEvent/JobEvent); the
store de-duplicates identical events. A job run's node and edges are then **folded from
the whole set of its stored events** (:func:`run_records`): the events are sorted by a
total order (time, state rank, canonical JSON), so the result depends only on the set —
events arriving out of order or twice give the graph of the ordered, once-only stream.

Nodes shared between runs (jobs, datasets, dataset versions) carry only what their
identity determines, so no run's events can overwrite another's. What one run saw of a
dataset (schema fields, data source, column lineage, statistics, the version facet) is
kept on that run's ``read``/``wrote`` edge.

Graph shape (edge kinds of DESIGN.md, no new kind):

* ``job_run -version_of-> job``: a run is one execution of its job (as a model version is
  one of its model); it keeps lineage walks from a run to its job and back.
* ``job_run -read-> dataset_version`` when the input names a version (``version`` dataset
  facet or ``datasetVersion`` input facet), else ``job_run -read-> dataset``;
  ``job_run -wrote->`` likewise for outputs; ``dataset_version -version_of-> dataset``.
* ``job_run -child_of-> job_run`` from the ``parent`` run facet (a task run in its DAG run).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Iterable
from urllib.parse import quote

from ingest.openlineage.validate import event_kind, parse_time
from memory.entities import EdgeKind, EdgeUpsert, EventRecord, NodeKind, NodeUpsert, Record, Source
from memory.entities.identity import dataset_urn, dataset_version_urn, openlineage_location

SYSTEM = "openlineage"
#: one source for everything received or replayed (it owns the job-run edges it folds)
SOURCE_KEY = "openlineage"
EVENT_PREFIX = "openlineage."
RUN_PREFIX = "openlineage-run://"
#: the order of states at the same instant: a terminal state wins over RUNNING over START
_STATE_RANK = {"OTHER": 0, "START": 1, "RUNNING": 2, "COMPLETE": 3, "FAIL": 3, "ABORT": 3}
_TERMINAL = ("COMPLETE", "FAIL", "ABORT")
#: OpenLineage states in the status vocabulary search filters already use (MLflow's)
STATUS = {"START": "RUNNING", "RUNNING": "RUNNING", "COMPLETE": "FINISHED", "FAIL": "FAILED", "ABORT": "KILLED"}
_MAX_TEXT = 4000


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def job_urn(namespace: str, name: str) -> str:
    return f"openlineage://{quote(namespace, safe='')}/{quote(name, safe='/.:@-_')}"


def run_urn(run_id: str) -> str:
    """Run ids are UUIDs, unique across jobs: the URN does not depend on the job name."""
    return f"{RUN_PREFIX}{run_id.lower()}"


def _source(object_id: str, namespace: str = "") -> Source:
    return Source(system=SYSTEM, instance=namespace or "openlineage", id=object_id)


def subject_of(event: dict[str, Any]) -> str:
    """The URN an event is filed under (the node it describes)."""
    kind = event_kind(event)
    if kind == "RunEvent":
        return run_urn(event["run"]["runId"])
    if kind == "DatasetEvent":
        return dataset_urn(openlineage_location(event["dataset"]["namespace"], event["dataset"]["name"]))
    return job_urn(event["job"]["namespace"], event["job"]["name"])


def event_records(event: dict[str, Any]) -> list[Record]:
    """What one validated event contributes directly: itself, filed under its subject.

    Static events (DatasetEvent, JobEvent) also upsert their identity nodes; a RunEvent's
    nodes and edges come from :func:`run_records` over all the events of its run.
    """
    kind = event_kind(event)
    at = parse_time(event["eventTime"])
    tag = (event.get("eventType") or "OTHER") if kind == "RunEvent" else kind
    out: list[Record] = [EventRecord(urn=subject_of(event), kind=f"{EVENT_PREFIX}{tag}", at=at, payload=event)]
    if kind == "DatasetEvent":
        out.append(dataset_node(event["dataset"]["namespace"], event["dataset"]["name"]))
    elif kind == "JobEvent":
        out.append(job_node(event["job"]["namespace"], event["job"]["name"]))
        for side in ("inputs", "outputs"):
            out += [dataset_node(d["namespace"], d["name"]) for d in event.get(side) or []]
    return out


def job_node(namespace: str, name: str) -> NodeUpsert:
    return NodeUpsert(
        urn=job_urn(namespace, name),
        kind=NodeKind.job,
        name=name,
        source=_source(f"{namespace}/{name}", namespace),
        properties={"namespace": namespace, "name": name},
    )


def dataset_node(namespace: str, name: str) -> NodeUpsert:
    location = openlineage_location(namespace, name)
    return NodeUpsert(
        urn=dataset_urn(location),
        kind=NodeKind.dataset,
        name=name,
        source=_source(f"{namespace}/{name}", namespace),
        properties={"namespace": namespace, "name": name, "location": location},
    )


def _version_node(namespace: str, name: str, version: str) -> NodeUpsert:
    location = openlineage_location(namespace, name)
    return NodeUpsert(
        urn=dataset_version_urn(location, version),
        kind=NodeKind.dataset_version,
        name=f"{name}@{version}",
        source=_source(f"{namespace}/{name}@{version}", namespace),
        properties={"namespace": namespace, "name": name, "location": location, "version": version},
    )


def _order(event: dict[str, Any]) -> tuple[datetime, int, str]:
    return parse_time(event["eventTime"]), _STATE_RANK.get(event.get("eventType") or "OTHER", 0), _canonical(event)


def _merge_facets(target: dict[str, Any], facets: Any) -> None:
    """Later events (in the total order) replace a facet; ``{"_deleted": true}`` removes it."""
    for key, value in (facets or {}).items() if isinstance(facets, dict) else ():
        if isinstance(value, dict) and value.get("_deleted") is True:
            target.pop(key, None)
        else:
            target[key] = value


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value if len(value) <= _MAX_TEXT else value[:_MAX_TEXT] + "…"


def column_lineage(facet: Any) -> dict[str, list[dict[str, Any]]]:
    """``columnLineage`` as output column → the input fields it is computed from (dataset URNs)."""
    fields = facet.get("fields") if isinstance(facet, dict) else None
    out: dict[str, list[dict[str, Any]]] = {}
    for column, spec in sorted((fields or {}).items()):
        inputs = []
        for item in (spec or {}).get("inputFields") or []:
            if not isinstance(item, dict) or not {"namespace", "name", "field"} <= set(item):
                continue
            transformations = sorted(
                {str(t.get("type", "")) + (f"/{t['subtype']}" if t.get("subtype") else "") for t in item.get("transformations") or []
                 if isinstance(t, dict)} - {""}
            )
            inputs.append({
                "dataset": dataset_urn(openlineage_location(str(item["namespace"]), str(item["name"]))),
                "field": str(item["field"]),
                **({"transformations": transformations} if transformations else {}),
            })
        out[str(column)] = sorted(inputs, key=_canonical)
    return out


def _dataset_view(facets: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """The edge properties: what this run saw of one dataset, compact and deterministic."""
    view: dict[str, Any] = {}
    schema = facets.get("schema")
    if isinstance(schema, dict) and isinstance(schema.get("fields"), list):
        view["schema"] = [
            {k: f[k] for k in ("name", "type", "description") if isinstance(f, dict) and f.get(k) is not None}
            for f in schema["fields"]
        ]
    source = facets.get("dataSource")
    if isinstance(source, dict):
        view["data_source"] = {k: source[k] for k in ("name", "uri") if source.get(k)}
    if isinstance(facets.get("documentation"), dict) and _text(facets["documentation"].get("description")):
        view["description"] = _text(facets["documentation"]["description"])
    if "columnLineage" in facets:
        view["column_lineage"] = column_lineage(facets["columnLineage"])
    for key, name in (("outputStatistics", "statistics"), ("inputStatistics", "statistics"), ("dataQualityMetrics", "quality")):
        if isinstance(extra.get(key), dict):
            view[name] = {k: v for k, v in extra[key].items() if not k.startswith("_")}
    others = sorted(set(facets) | set(extra))
    if others:
        view["facets"] = others
    return view


def _dataset_version(facets: dict[str, Any], extra: dict[str, Any]) -> str | None:
    for bag, key in ((extra, "datasetVersion"), (facets, "version")):
        facet = bag.get(key)
        if isinstance(facet, dict) and facet.get("datasetVersion") not in (None, ""):
            return str(facet["datasetVersion"])
    return None


def run_records(events: Iterable[dict[str, Any]]) -> list[Record]:
    """The job run, its job, datasets and edges, folded from every stored event of one run."""
    ordered = sorted(events, key=_order)
    if not ordered:
        return []
    latest = ordered[-1]
    run_id = latest["run"]["runId"]
    urn = run_urn(run_id)
    namespace, job_name = latest["job"]["namespace"], latest["job"]["name"]
    times = [parse_time(e["eventTime"]) for e in ordered]
    history = sorted(
        {(t.isoformat(), e.get("eventType") or "OTHER") for t, e in zip(times, ordered)},
        key=lambda item: (item[0], _STATE_RANK.get(item[1], 0), item[1]),
    )
    states = [(t, e.get("eventType")) for t, e in zip(times, ordered) if e.get("eventType") not in (None, "OTHER")]
    state = states[-1][1] if states else "OTHER"
    starts = [t for t, s in states if s == "START"]
    ends = [t for t, s in states if s in _TERMINAL]
    started = min(starts) if starts else times[0]
    ended = max(ends) if ends and state in _TERMINAL else None

    run_facets: dict[str, Any] = {}
    job_facets: dict[str, Any] = {}
    inputs: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any], datetime]] = {}
    outputs: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any], datetime]] = {}
    for at, event in zip(times, ordered):
        _merge_facets(run_facets, event["run"].get("facets"))
        _merge_facets(job_facets, event["job"].get("facets"))
        for side, extra_key, bucket in (("inputs", "inputFacets", inputs), ("outputs", "outputFacets", outputs)):
            for dataset in event.get(side) or []:
                key = (dataset["namespace"], dataset["name"])
                facets, extra, first = bucket.get(key, ({}, {}, at))
                _merge_facets(facets, dataset.get("facets"))
                _merge_facets(extra, dataset.get(extra_key))
                bucket[key] = (facets, extra, min(first, at))

    error = run_facets.get("errorMessage") if isinstance(run_facets.get("errorMessage"), dict) else {}
    documentation = job_facets.get("documentation") if isinstance(job_facets.get("documentation"), dict) else {}
    sql = job_facets.get("sql") if isinstance(job_facets.get("sql"), dict) else {}
    job_type = job_facets.get("jobType") if isinstance(job_facets.get("jobType"), dict) else {}
    nominal = run_facets.get("nominalTime") if isinstance(run_facets.get("nominalTime"), dict) else {}
    parent = run_facets.get("parent") if isinstance(run_facets.get("parent"), dict) else {}
    parent_id = (parent.get("run") or {}).get("runId") if isinstance(parent.get("run"), dict) else None
    properties: dict[str, Any] = {
        "run_id": run_id,
        "job": {"namespace": namespace, "name": job_name},
        "state": state,
        "status": STATUS.get(state, state),
        "state_history": [{"state": s, "at": t} for t, s in history],
        "start_time": started.isoformat(),
        "end_time": ended.isoformat() if ended else None,
        "duration_seconds": (ended - started).total_seconds() if ended else None,
        "nominal_start_time": nominal.get("nominalStartTime"),
        "error_message": _text(error.get("message")),
        "error_language": error.get("programmingLanguage"),
        "stack_trace": _text(error.get("stackTrace")),
        "sql": _text(sql.get("query")),
        "job_type": {k: job_type[k] for k in ("processingType", "integration", "jobType") if job_type.get(k)},
        "parent_run_id": parent_id,
        "producer": latest.get("producer"),
        "run_facets": sorted(run_facets),
        "job_facets": sorted(job_facets),
    }
    out: list[Record] = [
        NodeUpsert(
            urn=urn,
            kind=NodeKind.job_run,
            name=f"{job_name} run {run_id[:8]}",
            source=_source(run_id, namespace),
            description=_text(documentation.get("description")),
            created_at=started,
            updated_at=times[-1],
            properties={k: v for k, v in properties.items() if v not in (None, {}, [])},
        ),
        job_node(namespace, job_name),
        EdgeUpsert(src=urn, kind=EdgeKind.version_of, dst=job_urn(namespace, job_name), valid_from=started),
    ]
    if parent_id and isinstance(parent_id, str) and parent_id.lower() != run_id.lower():
        out.append(EdgeUpsert(src=urn, kind=EdgeKind.child_of, dst=run_urn(parent_id), valid_from=started))
    for kind, bucket in ((EdgeKind.read, inputs), (EdgeKind.wrote, outputs)):
        for (ds_namespace, ds_name), (facets, extra, first) in sorted(bucket.items()):
            dataset = dataset_node(ds_namespace, ds_name)
            out.append(dataset)
            target = dataset.urn
            version = _dataset_version(facets, extra)
            if version is not None:
                node = _version_node(ds_namespace, ds_name, version)
                out += [node, EdgeUpsert(src=node.urn, kind=EdgeKind.version_of, dst=dataset.urn)]
                target = node.urn
            out.append(EdgeUpsert(src=urn, kind=kind, dst=target, valid_from=first, properties=_dataset_view(facets, extra)))
    return out


def fingerprint(events: Iterable[dict[str, Any]]) -> str:
    """A digest of a set of events (order and duplicates do not matter)."""
    return hashlib.sha256(_canonical(sorted({_canonical(e) for e in events})).encode()).hexdigest()[:32]
