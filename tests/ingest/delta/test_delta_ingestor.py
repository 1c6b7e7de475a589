"""The Delta Lake ingestor on a real table written with ``deltalake`` (appends, overwrite, schema changes)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pytest
from deltalake import write_deltalake
from typer.testing import CliRunner

from ingest.base import IngestReport
from ingest.delta import DeltaConfig, DeltaIngestor
from memory.cli.main import app
from memory.demo.data_sources import build_delta_table
from memory.entities import SourceState
from memory.errors import NotFound
from memory.service import MemoryService

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "delta_records.json"


@pytest.fixture
def table(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "customer_activity"
    build_delta_table(path)
    yield path


def ingest(service: MemoryService, path: Path) -> IngestReport:
    return service.ingest(service.make_ingestor("delta", {"table_uri": str(path), "project": "churn"}, IngestReport()))


def normalise(records: list[dict[str, Any]], root: Path) -> Any:
    """Stable names for what the writer sets at run time: the path, times, the table id, file sizes and timings."""
    text = json.dumps(records, sort_keys=True).replace(str(root), "<table>")
    text = re.sub(r'"\d{4}-\d\d-\d\dT[^"]+"', '"<time>"', text)
    text = re.sub(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', "<uuid>", text)
    text = re.sub(r'"(size_bytes|execution_time_ms|num_retries|engine)": ("[^"]*"|\d+)', r'"\1": "<varies>"', text)
    text = re.sub(r'"fingerprint": "[^"]*"', '"fingerprint": "<fp>"', text)
    return json.loads(text)


def test_records_match_golden(table: Path, update_golden: bool) -> None:
    report = IngestReport()
    ingestor = DeltaIngestor(DeltaConfig(table_uri=str(table), project="churn"), report)
    ingestor.check()
    records = [r.model_dump(mode="json") | {"type": type(r).__name__} for r in ingestor.records(SourceState(source_key=ingestor.source_key))]
    got = normalise(records, table)
    if update_golden or not GOLDEN.exists():
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        if not update_golden:
            pytest.fail(f"golden file {GOLDEN} was missing and has been written; check it and re-run")
    assert got == json.loads(GOLDEN.read_text())
    assert report.read == 7 and report.warning_count == 0


def test_versions_schema_changes_and_counts(service: MemoryService, table: Path) -> None:
    report = ingest(service, table)
    assert (report.read, report.events) == (7, 2)
    location = f"file://{table}"
    version = {v: service.store.get_node(f"dataset://{location}@{v}") for v in range(7)}
    assert [version[v].properties["operation_parameters"]["mode"] for v in range(7)] == [
        "ErrorIfExists", "Append", "Append", "Append", "Overwrite", "Append", "Overwrite"]
    assert [version[v].properties["num_rows"] for v in range(7)] == [500, 980, 1490, 1985, 2000, 2505, 520]
    assert version[4].properties["operation_parameters"]["mode"] == "Overwrite"
    assert "schema_change" not in version[4].properties
    assert version[5].properties["schema_change"] == {"added": ["channel"], "removed": [], "type_changed": {}}
    assert version[6].properties["schema_change"]["type_changed"] == {"spend": ["double", "string"]}
    assert "spend double → string" in (version[6].description or "")
    events = [e for e in service.store.list_events(f"dataset://{location}") if e.kind == "schema_changed"]
    assert [e.payload["version"] for e in events] == [5, 6]
    # each version belongs to the table and is findable
    assert {e.dst for e in service.store.list_edges(version[3].urn) if e.kind.value == "version_of"} == {f"dataset://{location}"}
    hits = service.search(service.build_query("customer_activity schema changed spend", limit=5)).hits
    assert any(h.urn == version[6].urn for h in hits), [h.urn for h in hits]


def test_new_versions_are_read_incrementally(service: MemoryService, table: Path) -> None:
    ingest(service, table)
    write_deltalake(table, pd.DataFrame({"customer_id": [1], "day": [pd.Timestamp("2026-11-09")], "sessions": [2],
                                         "spend": ["4.5"], "channel": ["web"]}), mode="append")
    second = ingest(service, table)
    assert (second.read, second.new) == (1, 1)
    assert service.store.get_node(f"dataset://file://{table}@7").properties["num_rows"] == 521
    assert ingest(service, table).nothing_changed


def test_a_path_that_is_not_a_table_is_refused_and_the_others_ingested(service: MemoryService, table: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "part-0.parquet").write_bytes(b"PAR1")
    with pytest.raises(NotFound, match="is not a Delta table"):
        DeltaIngestor(DeltaConfig(table_uri=str(plain)), IngestReport()).check()
    home = service.settings.home
    service.close()
    result = CliRunner().invoke(app, ["--home", str(home), "ingest", "delta", str(plain), str(table)])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert f"{plain} is not a Delta table (no _delta_log/ with a commit in it)" in said
    with MemoryService(service.settings) as svc:
        assert len([n for n in svc.store.list_nodes(kind="dataset_version").items]) == 7
