"""Validate OpenLineage events against the official JSON Schemas (spec 2-0-2 and its facets).

Why the spec's JSON Schemas and ``jsonschema`` rather than the ``openlineage-python`` models: the
client's attrs classes are built to *produce* events; they do not check formats or
required fields the way the spec does and give no JSON path to the offending value. The
published JSON Schemas are the spec itself: validating with them gives exact error paths
(``/run/runId: 'x' is not a 'uuid'``), keeps the server independent of a client library
version, and needs no network (every ``$id`` is registered locally). The schemas are read
in place from a checkout of the spec (``XMEM_OPENLINEAGE_SPEC``, by default the copy in the
corpora folder): the core 2-0-2 schema and, for each standard facet, its newest version.

Standard facets are validated by their key (``schema``, ``parent``, ``errorMessage``…)
against the facet schema for their place (run, job, dataset, input or output facets);
custom facets only against the base facet shape, as the spec asks.

Two leniencies, both as Marquez: a missing top-level ``schemaURL`` is accepted (older
producers and Marquez's own demo seed omit it), and an ``eventTime`` without a UTC offset
is read as UTC. Template placeholders (``{{ ... }}``, ``${...}``) in identifying fields
(times, ids, names, namespaces) are rejected: they are test-harness matchers, not values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator
from uuid import UUID

from dateutil import parser as date_parser
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from memory.errors import InvalidConfig
from memory.settings import Settings

CORE_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
#: the standard facets validated by key (each in its newest version under ``facets/<version>/``)
STANDARD_FACETS = """BaseSubsetDatasetFacet CatalogDatasetFacet ColumnLineageDatasetFacet
    DataQualityAssertionsDatasetFacet DataQualityMetricsDatasetFacet DataQualityMetricsInputDatasetFacet
    DatasetTypeDatasetFacet DatasetVersionDatasetFacet DatasourceDatasetFacet DocumentationDatasetFacet
    DocumentationJobFacet EnvironmentVariablesRunFacet ErrorMessageRunFacet ExecutionParametersRunFacet
    ExternalQueryRunFacet ExtractionErrorRunFacet HierarchyDatasetFacet InputStatisticsInputDatasetFacet
    JobDependenciesRunFacet JobTypeJobFacet LifecycleStateChangeDatasetFacet LineageFacet NominalTimeRunFacet
    OutputStatisticsOutputDatasetFacet OwnershipDatasetFacet OwnershipJobFacet ParentRunFacet
    ProcessingEngineRunFacet SQLJobFacet SchemaDatasetFacet SourceCodeJobFacet SourceCodeLocationJobFacet
    StorageDatasetFacet SymlinksDatasetFacet TagsDatasetFacet TagsJobFacet TagsRunFacet TestRunFacet""".split()
DEFAULT_SCHEMA_URL = f"{CORE_ID}#/$defs/RunEvent"
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\$\{[^}]*\}")
#: the facet containers of an event and the base facet type their standard facets extend
_CONTAINERS = ("RunFacet", "JobFacet", "DatasetFacet", "InputDatasetFacet", "OutputDatasetFacet")


@dataclass(frozen=True)
class EventError:
    """Why an event was refused: a JSON pointer into the event and a reason."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


def event_kind(event: dict[str, Any]) -> str:
    """``RunEvent``, ``DatasetEvent`` or ``JobEvent`` (by shape, as the spec's ``oneOf`` does)."""
    if "run" in event:
        return "RunEvent"
    if "dataset" in event:
        return "DatasetEvent"
    return "JobEvent" if "job" in event else "RunEvent"


def parse_time(value: str) -> datetime:
    """An ISO-8601 ``eventTime``; without an offset it is UTC."""
    parsed = date_parser.isoparse(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _format_checker() -> FormatChecker:
    """Only ``uuid`` and ``date-time`` are checked: real producers (and the OpenLineage
    compatibility suite) send ``uri`` fields such as ``bigquery`` or ``file`` that a strict
    RFC 3986 check would refuse, and Marquez accepts them."""
    checker = FormatChecker(formats=())

    @checker.checks("uuid", raises=ValueError)
    def _uuid(value: object) -> bool:
        return not isinstance(value, str) or bool(UUID(value)) and len(value) == 36

    @checker.checks("date-time", raises=(ValueError, OverflowError))
    def _date_time(value: object) -> bool:
        return not isinstance(value, str) or bool(parse_time(value))

    return checker


class Schemas:
    """The core schema and one validator per facet container, compiled once."""

    def __init__(self, spec: Path) -> None:
        core_file = spec / "2-0-2" / "OpenLineage.json"
        if not core_file.is_file():
            raise InvalidConfig(
                f"the OpenLineage JSON Schemas are not at {spec}",
                hint="set XMEM_OPENLINEAGE_SPEC to the spec/ folder of an OpenLineage checkout "
                     "(github.com/OpenLineage/OpenLineage), or XMEM_CORPORA to the shared corpora",
            )
        versions = sorted((d for d in (spec / "facets").iterdir() if d.is_dir()),
                          key=lambda d: tuple(int(p) for p in d.name.split("-")))
        newest = {f.stem: f for d in versions for f in d.glob("*.json")}  # later versions win
        documents = [json.loads(core_file.read_text())] + [
            json.loads(newest[name].read_text()) for name in sorted(STANDARD_FACETS) if name in newest
        ]
        registry: Registry = Registry().with_resources(
            (doc["$id"], Resource.from_contents(doc)) for doc in documents
        )
        checker = _format_checker()
        self.event = {
            kind: Draft202012Validator({"$ref": f"{CORE_ID}#/$defs/{kind}"}, registry=registry, format_checker=checker)
            for kind in ("RunEvent", "DatasetEvent", "JobEvent")
        }
        facets: dict[str, dict[str, Any]] = {c: {} for c in _CONTAINERS}
        for doc in documents[1:]:
            for key, ref in (doc.get("properties") or {}).items():
                target = ref.get("$ref", "") if isinstance(ref, dict) else ""
                definition = doc.get("$defs", {}).get(target.rsplit("/", 1)[-1], {})
                base = ((definition.get("allOf") or [{}])[0].get("$ref") or "").rsplit("/", 1)[-1]
                if target.startswith("#/") and base in facets:
                    facets[base][key] = {"$ref": doc["$id"] + target}
        self.facets = {
            container: Draft202012Validator(
                {"type": "object", "properties": props}, registry=registry, format_checker=checker
            )
            for container, props in facets.items()
        }


@lru_cache(maxsize=1)
def schemas() -> Schemas:
    return Schemas(Settings().resolved_openlineage_spec)


def _pointer(parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _first(errors: Iterator[ValidationError], prefix: tuple[Any, ...] = ()) -> EventError | None:
    ranked = sorted(errors, key=lambda e: (len(e.absolute_path), str(e.message)))
    if not ranked:
        return None
    error = ranked[0]
    # "is not valid under any of the given schemas" hides the useful reason: descend into it
    while error.context:
        error = sorted(error.context, key=lambda e: (-len(e.absolute_path), str(e.message)))[0]
    message = error.message
    if len(message) > 300:
        message = message[:300] + "…"
    return EventError(_pointer(prefix + tuple(error.absolute_path)), message)


def _facet_errors(event: dict[str, Any]) -> EventError | None:
    checks: list[tuple[tuple[Any, ...], str, Any]] = []
    if isinstance(event.get("run"), dict):
        checks.append((("run", "facets"), "RunFacet", event["run"].get("facets")))
    if isinstance(event.get("job"), dict):
        checks.append((("job", "facets"), "JobFacet", event["job"].get("facets")))
    if isinstance(event.get("dataset"), dict):
        checks.append((("dataset", "facets"), "DatasetFacet", event["dataset"].get("facets")))
    for side, extra, container in (("inputs", "inputFacets", "InputDatasetFacet"), ("outputs", "outputFacets", "OutputDatasetFacet")):
        for i, dataset in enumerate(event.get(side) or []):
            if isinstance(dataset, dict):
                checks.append(((side, i, "facets"), "DatasetFacet", dataset.get("facets")))
                checks.append(((side, i, extra), container, dataset.get(extra)))
    for prefix, container, facets in checks:
        if not isinstance(facets, dict):
            continue
        # a facet sent as {"_deleted": true} removes it; there is nothing to check
        live = {k: v for k, v in facets.items() if not (isinstance(v, dict) and v.get("_deleted") is True)}
        found = _first(schemas().facets[container].iter_errors(live), prefix)
        if found:
            return found
    return None


def _placeholder(event: dict[str, Any]) -> EventError | None:
    fields: list[tuple[tuple[Any, ...], Any]] = [
        (("eventTime",), event.get("eventTime")),
        (("producer",), event.get("producer")),
        (("schemaURL",), event.get("schemaURL")),
    ]
    for top in ("run", "job", "dataset"):
        if isinstance(event.get(top), dict):
            for key in ("runId", "namespace", "name"):
                fields.append(((top, key), event[top].get(key)))
    for side in ("inputs", "outputs"):
        for i, dataset in enumerate(event.get(side) or []):
            if isinstance(dataset, dict):
                fields += [((side, i, "namespace"), dataset.get("namespace")), ((side, i, "name"), dataset.get("name"))]
    for path, value in fields:
        if isinstance(value, str) and _PLACEHOLDER.search(value):
            return EventError(_pointer(path), f"{value!r} is a template placeholder, not a value; fill it in before sending")
    return None


def validate_event(event: Any) -> EventError | None:
    """``None`` when the event is a valid RunEvent, DatasetEvent or JobEvent; else the first error."""
    if not isinstance(event, dict):
        return EventError("", f"an OpenLineage event is a JSON object, not {type(event).__name__}")
    checked = event if "schemaURL" in event else {**event, "schemaURL": DEFAULT_SCHEMA_URL}
    kind = event_kind(event)
    return (
        _placeholder(event)
        or _first(schemas().event[kind].iter_errors(checked))
        or _facet_errors(event)
    )
