"""The Feast ingestor over a real feature repository built with `feast apply`, and the run → features join."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ingest.base import IngestReport
from ingest.feast.config import FeastConfig
from ingest.feast.ingestor import FeastIngestor
from memory.cli.main import app
from memory.entities import SourceState, identity
from memory.errors import NotFound
from memory.service import MemoryService
from tests.ingest.feast.builders import feast_apply, write_repo

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "feast_records.json"
FV = "feast://churn_features/feature_views/{}"
SERVICE = "feast://churn_features/feature_services/churn_v1"

TRAIN_WITH_FEAST = textwrap.dedent(
    '''
    import sys
    import pandas as pd
    from feast import FeatureStore

    store = FeatureStore(repo_path=sys.argv[1])
    entity_df = pd.DataFrame({"customer_id": [1, 2], "discount": [0.1, 0.2],
                              "event_timestamp": [pd.Timestamp("2026-03-02", tz="UTC")] * 2})
    with store.mlflow.start_run(run_name="train-churn") as run:
        rows = store.get_historical_features(entity_df=entity_df, features=store.get_feature_service("churn_v1")).to_df()
        assert len(rows) == 2
    print(run.info.run_id)
    '''
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A Feast repo applied with the real CLI, with Feast's MLflow integration on (a SQLite MLflow store),
    and one training run that retrieved the churn_v1 feature service through it."""
    path = write_repo(tmp_path_factory.mktemp("feast") / "churn_repo")
    tracking = f"sqlite:///{path}/mlflow.db"
    with (path / "feature_store.yaml").open("a") as config:
        config.write(f"mlflow:\n  enabled: true\n  tracking_uri: {tracking}\n")
    feast_apply(path)
    script = path.parent / "train.py"  # outside the repo: `feast apply` imports every module in it
    script.write_text(TRAIN_WITH_FEAST)
    done = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return {"path": path, "tracking_uri": tracking, "run_id": done.stdout.strip().splitlines()[-1]}


def ingest(service: MemoryService, path: Path) -> IngestReport:
    return service.ingest(service.make_ingestor("feast", {"repo_path": str(path)}, IngestReport()))


def normalise(records: list[dict[str, Any]], path: Path) -> Any:
    text = json.dumps(records, sort_keys=True).replace(str(path.resolve()), "<repo>")
    text = re.sub(r'"fingerprint": "[^"]*"', '"fingerprint": "<fp>"', text)
    text = re.sub(r'"\d{4}-\d\d-\d\dT[^"]*"', '"<time>"', text)
    return json.loads(text)


def test_records_match_golden(repo: dict[str, Any], update_golden: bool) -> None:
    report = IngestReport()
    ingestor = FeastIngestor(FeastConfig(repo_path=str(repo["path"])), report)
    ingestor.check()
    records = [r.model_dump(mode="json") | {"type": type(r).__name__}
               for r in ingestor.records(SourceState(source_key=ingestor.source_key))]
    got = normalise(records, repo["path"])
    if update_golden or not GOLDEN.exists():
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        if not update_golden:
            pytest.fail(f"golden file {GOLDEN} was missing and has been written; check it and re-run")
    assert got == json.loads(GOLDEN.read_text())
    assert report.read == 7 and report.warning_count == 0


def test_views_services_and_the_shared_dataset(service: MemoryService, repo: dict[str, Any]) -> None:
    first = ingest(service, repo["path"])
    assert first.new > 0
    view = service.show(FV.format("customer_stats")).node
    assert view.properties["ttl_seconds"] == 30 * 86400 and view.properties["tags"] == {"team": "growth"}
    assert [f["name"] for f in view.properties["fields"]] == ["tenure_days", "monthly_spend"]
    assert view.properties["entities"] == [{"name": "customer", "join_key": "customer_id"}]
    parquet = identity.dataset_urn(str((repo["path"] / "data" / "customers.parquet").resolve()))
    assert parquet.startswith("dataset://file:///")
    lineage = service.lineage(SERVICE, direction="up", depth=3)
    assert {FV.format("customer_stats"), FV.format("spend_after_discount"), parquet,
            "feast://churn_features/data_sources/discount"} <= set(lineage.nodes)
    assert service.show(parquet).node.properties["keys"]["feast"]["data_source"] == "customers_source"
    second = ingest(service, repo["path"])
    assert second.nothing_changed and second.skipped_unchanged >= 5


def test_run_logged_with_feasts_mlflow_integration_uses_the_features(service: MemoryService, repo: dict[str, Any]) -> None:
    """Feast tags the MLflow run (feast.project, feast.feature_service, feast.feature_views); the MLflow
    ingestor turns the tags into used_features edges that meet the Feast nodes."""
    ingest(service, repo["path"])
    report = service.ingest(service.make_ingestor("mlflow", {"tracking_uri": repo["tracking_uri"], "registry": False},
                                                  IngestReport()))
    assert report.read >= 1
    run = next(n for n in service.store.dump()["nodes"] if n["urn"].endswith(f"/runs/{repo['run_id']}"))
    features = {e["dst"] for e in service.store.dump()["edges"] if e["src"] == run["urn"] and e["kind"] == "used_features"}
    assert features == {SERVICE, FV.format("customer_stats"), FV.format("spend_after_discount")}
    lineage = service.lineage(run["urn"], direction="up", depth=4)
    parquet = identity.dataset_urn(str((repo["path"] / "data" / "customers.parquet").resolve()))
    assert parquet in lineage.nodes  # run → feature service → feature view → the parquet file


def test_removed_service_is_tombstoned_and_changed_view_rewritten(service: MemoryService, repo: dict[str, Any],
                                                                   tmp_path: Path) -> None:
    copy = tmp_path / "churn_repo"
    shutil.copytree(repo["path"], copy)
    (copy / "feature_store.yaml").write_text((copy / "feature_store.yaml").read_text().split("mlflow:")[0])
    ingest(service, copy)
    write_repo(copy, ttl_days=7, with_service=False)
    feast_apply(copy)
    report = ingest(service, copy)
    assert report.deleted == 1 and report.changed >= 1
    assert service.show(FV.format("customer_stats")).node.properties["ttl_seconds"] == 7 * 86400
    with pytest.raises(NotFound):
        service.show(SERVICE)


def test_missing_registry_says_run_feast_apply(service: MemoryService, tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "never_applied")
    before = service.store.dump()
    with pytest.raises(NotFound, match=r"registry .*registry\.db does not exist — run `feast apply` in"):
        ingest(service, repo)
    assert service.store.dump() == before
    result = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "ingest", "feast", str(repo)])
    assert result.exit_code == 1 and "feast apply" in result.output


def test_folder_without_feature_store_yaml_is_named(service: MemoryService, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="is not a Feast repository: it has no feature_store.yaml"):
        ingest(service, tmp_path)
