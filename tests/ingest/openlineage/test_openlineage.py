"""OpenLineage events from the real corpora: validation, mapping, order independence, known lineage."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

import pytest

from ingest.openlineage.validate import validate_event
from memory.entities.identity import normalize_location, openlineage_location
from memory.errors import InvalidEvent
from memory.service import MemoryService
from memory.settings import Settings

NS = "food_delivery"


def seed(corpora: Path) -> list[dict[str, Any]]:
    """Marquez's demo seed (13 jobs, 26 events) with concrete timestamps."""
    return json.loads((corpora / "marquez" / "docker_at_f7a9643_parent" / "metadata.json").read_text())


def ds(name: str, namespace: str = NS) -> str:
    return f"dataset://{openlineage_location(namespace, name)}"


def names(service: MemoryService, urn: str, kind: str, direction: str = "up", depth: int = 20) -> set[str]:
    graph = service.lineage(urn, direction=direction, depth=depth)
    return {n.name for u, n in graph.nodes.items() if n.kind.value == kind and u != urn}


def event(run_id: str, state: str, at: str, **extra: Any) -> dict[str, Any]:
    return {
        "eventType": state, "eventTime": at, "producer": "https://example.com/tests", "schemaURL":
        "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id, **({"facets": extra.pop("run_facets")} if "run_facets" in extra else {})},
        "job": {"namespace": "ml", "name": extra.pop("job", "nightly_feature_job")}, **extra,
    }


def test_identity_rules() -> None:
    assert openlineage_location("s3://bucket", "path/to/file") == "s3://bucket/path/to/file"
    assert openlineage_location("postgres://Host:5432", "db.schema.table") == "postgres://host:5432/db.schema.table"
    assert openlineage_location("file", "/data/x.csv") == "file:///data/x.csv"
    assert openlineage_location("S3A://Bucket/", "/features/churn.parquet/") == "s3://bucket/features/churn.parquet"
    assert openlineage_location("bigquery", "proj.ds.table") == "bigquery/proj.ds.table"
    assert normalize_location("postgresql://user:secret@DB:5432/x") == "postgres://db:5432/x"
    assert normalize_location("/tmp/data.csv") == "file:///tmp/data.csv"
    assert normalize_location("churn-training-set") == "churn-training-set"


def test_every_compatibility_event_ingests(service: MemoryService, corpora: Path) -> None:
    files = sorted((corpora / "openlineage-compatibility-tests" / "consumer" / "scenarios").glob("*/events/*.json"))
    assert len(files) == 74
    events = [json.loads(f.read_text()) for f in files]
    errors = {f.parent.parent.name + "/" + f.name: str(validate_event(e)) for f, e in zip(files, events) if validate_event(e)}
    # the one event of the placeholder producer uses "run_id" as its run id; the spec says uuid
    assert errors == {"simple_run_event/simple_run_event.json": "/run/runId: 'run_id' is not a 'uuid'"}
    valid = [e for e in events if validate_event(e) is None]
    report = service.ingest_lineage(valid)
    distinct = {json.dumps(e, sort_keys=True) for e in valid}  # a few scenarios share identical events
    assert report.read == 73 and report.events == len(distinct) == 69 and report.warning_count == 0
    runs = {e["run"]["runId"] for e in valid}
    assert len(service.store.list_nodes(kind="job_run", page_size=1000).items) == len(runs)
    # Airflow task runs hang under their DAG run through the parent facet
    child = next(e for e in valid if e["job"]["name"] == "dag.task_0" and "parent" in e["run"].get("facets", {}))
    parent_id = child["run"]["facets"]["parent"]["run"]["runId"]
    edges = service.store.list_edges(f"openlineage-run://{child['run']['runId']}")
    assert ("child_of", f"openlineage-run://{parent_id}") in {(e.kind.value, e.dst) for e in edges}


def test_column_lineage_is_kept_on_the_output(service: MemoryService, corpora: Path) -> None:
    folder = corpora / "openlineage-compatibility-tests" / "consumer" / "scenarios" / "CLL" / "events"
    service.ingest_lineage([json.loads(f.read_text()) for f in sorted(folder.glob("*.json"))])
    run = "openlineage-run://019127df-0850-72bc-b214-b255290588a6"
    wrote = next(e for e in service.store.list_edges(run) if e.kind.value == "wrote")
    assert wrote.dst == "dataset://file:///tmp/cll_test/tbl1"
    ident = wrote.properties["column_lineage"]["ident"]
    assert {"dataset": "dataset://file:///tmp/cll_test/cll_source1", "field": "a",
            "transformations": ["DIRECT/IDENTITY", "INDIRECT/FILTER", "INDIRECT/GROUP_BY", "INDIRECT/JOIN"]} in ident
    view = service.show(wrote.dst)
    assert any(e.properties.get("column_lineage") for e, _ in view.neighbours)


def test_marquez_seed_reproduces_its_lineage_graph(service: MemoryService, corpora: Path) -> None:
    report = service.ingest_lineage(seed(corpora))
    assert report.read == 26 and report.warning_count == 0
    stats = service.store.stats().nodes_by_kind_and_system
    assert stats == {("job", "openlineage"): 13, ("job_run", "openlineage"): 13, ("dataset", "openlineage"): 13}
    assert names(service, ds("public.orders_7_days"), "job") == {
        "etl_orders_7_days", "etl_menus", "etl_menu_items", "etl_orders", "etl_categories"}
    assert names(service, ds("public.orders_7_days"), "dataset") == {
        "public.menus", "public.menu_items", "public.orders", "public.categories"}
    assert names(service, ds("public.delivery_7_days"), "dataset") == {
        "public.orders_7_days", "public.customers", "public.order_status", "public.drivers", "public.restaurants",
        "public.menus", "public.menu_items", "public.orders", "public.categories"}
    assert names(service, ds("public.top_delivery_times"), "job") == {
        "delivery_times_7_days", "etl_delivery_7_days", "etl_orders_7_days", "etl_customers", "etl_order_status",
        "etl_drivers", "etl_restaurants", "etl_menus", "etl_menu_items", "etl_orders", "etl_categories"}
    assert names(service, ds("public.popular_orders_day_of_week"), "dataset", depth=2) == {
        "public.top_delivery_times", "public.customers"}
    # downstream: who depends on the customers table
    down = service.lineage(ds("public.customers"), direction="down", depth=20).nodes.values()
    assert {n.properties["job"]["name"] for n in down if n.kind.value == "job_run"} == {
        "etl_delivery_7_days", "delivery_times_7_days", "orders_popular_day_of_week", "email_discounts"}
    run = next(n for n in service.store.list_nodes(kind="job_run", page_size=100).items if n.name.startswith("etl_menus "))
    assert run.properties["state"] == "COMPLETE" and run.properties["status"] == "FINISHED"
    assert [h["state"] for h in run.properties["state_history"]] == ["START", "COMPLETE"]
    assert run.description == "Loads newly added restaurant menus daily."
    schema = next(e for e in service.store.list_edges(run.urn) if e.kind.value == "wrote").properties["schema"]
    assert [f["name"] for f in schema] == ["id", "name", "restaurant_id", "description"]


def test_out_of_order_and_duplicated_events_give_the_same_graph(tmp_path: Path, embedder: Any, corpora: Path) -> None:
    events = seed(corpora)
    dumps = []
    for attempt in range(3):
        stream = list(events) if attempt == 0 else events + random.Random(attempt).sample(events, 12)
        if attempt:
            random.Random(100 + attempt).shuffle(stream)
        with MemoryService(Settings(home=tmp_path / f"home{attempt}"), embedder=embedder) as svc:
            for start in range(0, len(stream), 5):  # several requests, like a producer would send
                svc.ingest_lineage(stream[start:start + 5])
            dump = svc.store.dump()
        dumps.append({k: v for k, v in dump.items() if k != "cursors"})
    assert dumps[0] == dumps[1] == dumps[2]
    assert len(dumps[0]["events"]) == 26


def test_state_history_error_and_late_start(service: MemoryService) -> None:
    run_id = str(uuid.uuid4())
    failed = event(run_id, "FAIL", "2026-03-02T02:10:00Z", run_facets={"errorMessage": {
        "_producer": "https://example.com", "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json",
        "message": "OOM while joining the clicks table", "programmingLanguage": "python"}})
    start = event(run_id, "START", "2026-03-02T02:00:00Z", outputs=[{"namespace": "s3://lake", "name": "features/churn.parquet"}])
    running = event(run_id, "RUNNING", "2026-03-02T02:05:00+00:00")
    service.ingest_lineage([failed])
    service.ingest_lineage([running, start, failed])  # the START arrives last, and FAIL twice
    node = service.store.get_node(f"openlineage-run://{run_id}")
    assert node.properties["state"] == "FAIL" and node.properties["status"] == "FAILED"
    assert [h["state"] for h in node.properties["state_history"]] == ["START", "RUNNING", "FAIL"]
    assert node.properties["start_time"] == "2026-03-02T02:00:00+00:00"
    assert node.properties["end_time"] == "2026-03-02T02:10:00+00:00"
    assert node.properties["duration_seconds"] == 600.0
    assert node.properties["error_message"] == "OOM while joining the clicks table"
    assert [(e.kind.value, e.dst) for e in service.store.list_edges(node.urn) if e.src == node.urn] == [
        ("version_of", "openlineage://ml/nightly_feature_job"), ("wrote", "dataset://s3://lake/features/churn.parquet")]
    assert len(service.store.list_events(node.urn)) == 3


def test_versioned_datasets_get_version_nodes(service: MemoryService, corpora: Path) -> None:
    folder = corpora / "marquez" / "api" / "src" / "test" / "resources" / "open_lineage"
    full = json.loads((folder / "event_simple.json").read_text())
    run_id = str(uuid.uuid4())
    versioned = event(run_id, "COMPLETE", "2026-03-01T00:00:00Z", inputs=[{"namespace": "s3://lake", "name": "raw/clicks",
        "facets": {"version": {"_producer": "https://example.com", "_schemaURL":
                   "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json", "datasetVersion": "v42"}}}])
    service.ingest_lineage([full, versioned])
    version = service.store.get_node("dataset://s3://lake/raw/clicks@v42")
    assert version.kind.value == "dataset_version" and version.properties["version"] == "v42"
    up = service.lineage(f"openlineage-run://{run_id}", depth=3)
    assert {"dataset://s3://lake/raw/clicks@v42", "dataset://s3://lake/raw/clicks"} <= set(up.nodes)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("event_invalid_dataset_facet.json", "/outputs/0/facets/ownership/owners/0: 'name' is a required property"),
        ("event_invalid_input_dataset_facet.json", "/inputs/0/inputFacets/dataQualityMetrics: 'columnMetrics' is a required property"),
        ("event_invalid_job_facet.json", "/job/facets/ownership/owners/0: 'name' is a required property"),
        ("event_invalid_output_dataset_facet.json", "/outputs/0/outputFacets/outputStatistics/rowCount: 'wrong' is not of type 'integer'"),
        ("event_invalid_run_facet.json", "/run/facets/parent/run: 'runId' is a required property"),
        ("event_no_run_id.json", "/run: 'runId' is a required property"),
    ],
)
def test_invalid_events_are_refused_with_their_path(service: MemoryService, corpora: Path, name: str, message: str) -> None:
    path = corpora / "openlineage-test-events" / "proxy" / "fluentd" / "events" / name
    before = service.store.dump()
    with pytest.raises(InvalidEvent) as refused:
        service.ingest_lineage([json.loads(path.read_text())])
    assert str(refused.value) == message
    assert service.store.dump() == before


def test_templates_are_refused_not_stored(service: MemoryService, corpora: Path) -> None:
    template = json.loads((corpora / "marquez" / "docker" / "metadata.template.json").read_text())
    with pytest.raises(InvalidEvent, match=r"^/eventTime: '\{\{RUN_START_TIME\}\}' is a template placeholder"):
        service.ingest_lineage(template[:1])
    assert service.store.stats().events == 0


def test_postgres_builds_the_same_graph_from_shuffled_concurrent_requests(
    tmp_path: Path, embedder: Any, corpora: Path, postgres_url: str
) -> None:
    """Four threads send the shuffled seed (with repeats) to PostgreSQL; SQLite gets it in order, once."""
    from concurrent.futures import ThreadPoolExecutor

    events = seed(corpora)
    with MemoryService(Settings(home=tmp_path / "sqlite"), embedder=embedder) as ordered:
        ordered.ingest_lineage(events)
        expected = {k: v for k, v in ordered.store.dump().items() if k != "cursors"}
    stream = events + events[:8]
    random.Random(7).shuffle(stream)
    settings = Settings(home=tmp_path / "pg", database_url=postgres_url)
    with MemoryService(settings, embedder=embedder) as svc, ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda e: svc.ingest_lineage([e]), stream))
        got = {k: v for k, v in svc.store.dump().items() if k != "cursors"}
    assert got == expected


def test_static_dataset_and_job_events_are_kept_on_their_nodes(service: MemoryService, corpora: Path) -> None:
    folder = corpora / "marquez" / "api" / "src" / "test" / "resources" / "open_lineage"
    dataset_event = json.loads((folder / "event_dataset_event.json").read_text())
    job_event = json.loads((folder / "event_job_event.json").read_text())
    service.ingest_lineage([dataset_event, job_event])
    dataset = ds(dataset_event["dataset"]["name"], dataset_event["dataset"]["namespace"])
    assert service.store.get_node(dataset).kind.value == "dataset"
    assert [e.kind for e in service.store.list_events(dataset)] == ["openlineage.DatasetEvent"]
    job = f"openlineage://{job_event['job']['namespace']}/{job_event['job']['name']}"
    view = service.show(job)
    assert view.node.kind.value == "job" and [e.kind for e in view.events] == ["openlineage.JobEvent"]


def test_a_missing_spec_folder_is_a_clear_configuration_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest as _pytest

    from ingest.openlineage.validate import Schemas
    from memory.errors import InvalidConfig

    with _pytest.raises(InvalidConfig) as caught:
        Schemas(tmp_path / "no-spec")
    assert "XMEM_OPENLINEAGE_SPEC" in (caught.value.hint or "")
