"""PostgreSQL for the graph and Elasticsearch for search: same code, selected by configuration."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from ingest.base import IngestReport
from memory.cli.main import app
from memory.index.elastic import ElasticsearchIndex
from memory.index.embedded import EmbeddedIndex
from memory.service import MemoryService
from memory.settings import Settings
from memory.store import SqlGraphStore
from tests.ingest.mlflow.builders import build_churn_experiment

runner = CliRunner()
QUERIES = [
    "label smoothing on the churn model",
    "noisy labels",
    "GPU ran out of memory",
    "focal loss gamma sweep",
    "tabular mixup went NaN",
    "plain gradient boosting baseline",
    "which runs used the March training data",
    "churn classifier in production",
]


def ingest(svc: MemoryService, url: str, name: str) -> IngestReport:
    config = {"tracking_uri": url, "experiments": (name,), "registry": True}
    return svc.ingest(svc.make_ingestor("mlflow", config, IngestReport()))


@pytest.fixture
def experiment(mlflow_server: Any) -> dict[str, Any]:
    name, model = f"scale-{uuid.uuid4().hex[:6]}", f"scale-model-{uuid.uuid4().hex[:6]}"
    built = build_churn_experiment(MlflowClient(mlflow_server.url), name, registry_model=model)
    return {"name": name, "model": model, **built}


def test_postgres_and_elasticsearch_answer_like_the_embedded_default(
    tmp_path: Path, embedder: Any, mlflow_server: Any, experiment: dict[str, Any], postgres_url: str,
    elasticsearch_url: str, es_alias: str,
) -> None:
    embedded = MemoryService(Settings(home=tmp_path / "embedded"), embedder=embedder)
    scaled_settings = Settings(
        home=tmp_path / "scaled", database_url=postgres_url, search_backend="elasticsearch",
        elasticsearch_url=elasticsearch_url, elasticsearch_index=es_alias,
    )
    scaled = MemoryService(scaled_settings, embedder=embedder)
    assert isinstance(scaled.index, ElasticsearchIndex) and scaled.store.engine.dialect.name == "postgresql"  # type: ignore[attr-defined]
    try:
        reports = [ingest(svc, mlflow_server.url, experiment["name"]) for svc in (embedded, scaled)]
        assert reports[0].new == reports[1].new and reports[0].edges == reports[1].edges
        assert ingest(scaled, mlflow_server.url, experiment["name"]).nothing_changed
        assert embedded.store.dump()["nodes"] == scaled.store.dump()["nodes"]
        assert embedded.index.count() == scaled.index.count()

        instance = mlflow_server.url.split("//")[1]
        version = f"mlflow://{instance}/models/{experiment['model']}/versions/2"
        up = [set(svc.lineage(version, direction="up", depth=6).nodes) for svc in (embedded, scaled)]
        assert up[0] == up[1] and len(up[0]) == 6  # version, model, run, dataset version, dataset, code

        overlaps, same_first = [], 0
        for text in QUERIES:
            tops = [
                [h.urn for h in svc.search(svc.build_query(text, projects=[experiment["name"]], limit=10, group=False)).hits]
                for svc in (embedded, scaled)
            ]
            same_first += tops[0][0] == tops[1][0]
            overlaps.append(len(set(tops[0]) & set(tops[1])) / max(len(tops[0]), 1))
        # BM25 differs slightly between SQLite and Lucene (IDF formulas), so near-ties may swap;
        # the answers must still be essentially the same
        assert sum(overlaps) / len(overlaps) >= 0.8, overlaps
        assert same_first >= 0.75 * len(QUERIES), (same_first, overlaps)

        # the digest, repeats included (one pass over the earlier runs' vectors on both backends)
        window = (datetime(2000, 1, 1, tzinfo=timezone.utc), datetime.now(timezone.utc) + timedelta(days=1))
        digests = [svc.digest(*window, projects=[experiment["name"]]).to_dict() for svc in (embedded, scaled)]
        for digest in digests:
            digest.pop("generated_at")
        assert digests[0]["totals"]["runs"] > 0 and digests[0] == digests[1]
    finally:
        embedded.close()
        scaled.close()


def test_search_index_down_during_ingest_keeps_the_graph_and_queues_documents(
    tmp_path: Path, embedder: Any, mlflow_server: Any, experiment: dict[str, Any], elasticsearch_url: str, es_alias: str,
) -> None:
    settings = Settings(home=tmp_path / "home")
    down = MemoryService(settings, embedder=embedder, index=ElasticsearchIndex("http://127.0.0.1:9", alias=es_alias))
    report = ingest(down, mlflow_server.url, experiment["name"])
    assert report.new > 0 and "search index unavailable" in report.warnings
    assert "xmem reindex --pending" in report.warnings["search index unavailable"].message
    backlog = down.stats().store.index_backlog
    assert backlog == report.new  # every new node waits in the outbox
    down.store.close()

    up = MemoryService(settings, embedder=embedder, index=ElasticsearchIndex(elasticsearch_url, alias=es_alias))
    try:
        written = up.reindex(pending_only=True)
        assert written > 0 and up.stats().store.index_backlog == 0
        hits = up.search(up.build_query("smoothed noisy labels", projects=[experiment["name"]])).hits
        assert hits and hits[0].source_id == experiment["runs"]["smoothing"]
    finally:
        up.close()


def test_wrong_elasticsearch_url_is_one_line_naming_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XMEM_SEARCH_BACKEND", "elasticsearch")
    monkeypatch.setenv("XMEM_ELASTICSEARCH_URL", "http://127.0.0.1:9")
    result = runner.invoke(app, ["--home", str(tmp_path), "search", "anything"])
    assert result.exit_code == 1
    assert "XMEM_ELASTICSEARCH_URL" in result.output and "Traceback" not in result.output


def test_reindex_to_elasticsearch_and_migrate_to_postgres_from_the_cli(
    tmp_path: Path, embedder: Any, mlflow_server: Any, experiment: dict[str, Any], postgres_url: str,
    elasticsearch_url: str, es_alias: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    result = runner.invoke(app, ["--home", str(home), "ingest", "mlflow", "--tracking-uri", mlflow_server.url,
                                 "-e", experiment["name"]])
    assert result.exit_code == 0, result.output
    embedded_count = EmbeddedIndex(home / "index").count()

    monkeypatch.setenv("XMEM_ELASTICSEARCH_URL", elasticsearch_url)
    monkeypatch.setenv("XMEM_ELASTICSEARCH_INDEX", es_alias)
    result = runner.invoke(app, ["--home", str(home), "reindex", "--to", "elasticsearch"])
    assert result.exit_code == 0, result.output
    assert ElasticsearchIndex(elasticsearch_url, alias=es_alias).count() == embedded_count

    result = runner.invoke(app, ["--home", str(home), "migrate", "--to", postgres_url])
    assert result.exit_code == 0, result.output
    assert "checksum" in result.output and "match" in result.output
    source, target = SqlGraphStore(f"sqlite:///{home / 'memory.db'}"), SqlGraphStore(postgres_url)
    assert source.dump() == target.dump()
    source.close()
    target.close()
    again = runner.invoke(app, ["--home", str(home), "migrate", "--to", postgres_url])
    assert again.exit_code == 1 and "not empty" in again.output

    monkeypatch.setenv("XMEM_DATABASE_URL", postgres_url)
    monkeypatch.setenv("XMEM_SEARCH_BACKEND", "elasticsearch")
    searched = runner.invoke(app, ["--home", str(home), "search", "smoothed labels", "--json", "-p", experiment["name"]])
    assert searched.exit_code == 0, searched.output
    assert json.loads(searched.stdout)["hits"][0]["source_id"] == experiment["runs"]["smoothing"]


def test_mapping_change_reindexes_behind_the_alias(elasticsearch_url: str, es_alias: str, embedder: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from memory.index import SearchDocument
    from memory.index import elastic

    index = ElasticsearchIndex(elasticsearch_url, alias=es_alias)
    doc = SearchDocument(urn="t://1", kind="run", name="mixup", source="mlflow", source_id="1", text="Mixup on images.")
    doc.vector = embedder.embed([doc.text])[0]
    index.index([doc])
    first = index.client.indices.get_alias(name=es_alias)
    monkeypatch.setattr(elastic, "MAPPING_VERSION", elastic.MAPPING_VERSION + 1)
    reopened = ElasticsearchIndex(elasticsearch_url, alias=es_alias)
    reopened.ensure_index(384)
    second = reopened.client.indices.get_alias(name=es_alias)
    assert set(first) != set(second) and len(second) == 1  # a new index now serves the alias
    assert reopened.count() == 1 and reopened.lexical("mixup", None, 5)[0].urn == "t://1"
