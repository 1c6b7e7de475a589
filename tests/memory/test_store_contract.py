"""Contract suite of the graph store, parametrised over backends (PostgreSQL joins the list when configured)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest

from memory.entities import Checkpoint, EdgeKind, EdgeUpsert, EventRecord, NodeKind, NodeUpsert, Source, Tombstone
from memory.errors import NotFound
from memory.store import GraphStore, SqlGraphStore

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
KEY = "test:one"


def _backends() -> list[str]:
    found = ["sqlite"]
    if os.environ.get("XMEM_TEST_POSTGRES_URL"):
        found.append("postgresql")
    return found


@pytest.fixture(params=_backends())
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty graph database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'graph.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[GraphStore]:
    graph = SqlGraphStore(store_url)
    yield graph
    graph.close()


def node(urn: str, kind: NodeKind = NodeKind.run, *, created: datetime = T0, **props: object) -> NodeUpsert:
    return NodeUpsert(
        urn=urn,
        kind=kind,
        name=urn.rsplit("/", 1)[-1],
        source=Source(system="test", instance="one", id=urn),
        project="churn",
        created_at=created,
        properties=dict(props),
        fingerprint=f"fp-{sorted(props.items())}",
    )


def edge(src: str, kind: EdgeKind, dst: str, at: datetime = T0) -> EdgeUpsert:
    return EdgeUpsert(src=src, kind=kind, dst=dst, valid_from=at)


def model_chain() -> list[object]:
    """dataset d1 <-used- run r1 -produced-> model version mv1, with code c1."""
    return [
        node("t://d1", NodeKind.dataset_version),
        node("t://c1", NodeKind.code_version),
        node("t://r1", lr="0.1"),
        node("t://mv1", NodeKind.model_version, created=T0 + timedelta(days=1)),
        edge("t://r1", EdgeKind.used, "t://d1"),
        edge("t://r1", EdgeKind.ran_code, "t://c1"),
        edge("t://r1", EdgeKind.produced, "t://mv1", T0 + timedelta(days=1)),
    ]


def test_apply_is_idempotent(store: GraphStore) -> None:
    first = store.apply(KEY, "test", model_chain(), {"n": 1})
    assert (first.new, first.edges) == (4, 3)
    before = store.dump()
    second = store.apply(KEY, "test", model_chain(), {"n": 1})
    assert second.writes == 0 and second.unchanged == 4
    assert store.dump() == before


def test_changed_node_is_updated_and_its_stale_edges_end(store: GraphStore) -> None:
    store.apply(KEY, "test", model_chain(), None)
    changed = store.apply(KEY, "test", [node("t://r1", lr="0.2"), edge("t://r1", EdgeKind.ran_code, "t://c1")], None)
    assert changed.changed == 1
    assert store.get_node("t://r1").properties == {"lr": "0.2"}
    live = {(e.kind.value, e.dst) for e in store.list_edges("t://r1")}
    assert live == {("ran_code", "t://c1")}  # used/produced were not re-sent with the changed run


def test_tombstone_hides_node_and_ends_edges(store: GraphStore) -> None:
    store.apply(KEY, "test", model_chain(), None)
    gone_at = T0 + timedelta(days=5)
    result = store.apply(KEY, "test", [Tombstone(urn="t://r1", at=gone_at)], None)
    assert result.deleted == 1
    with pytest.raises(NotFound):
        store.get_node("t://r1")
    assert store.get_node("t://r1", include_deleted=True).deleted
    assert store.list_edges("t://r1") == []
    assert "t://r1" not in store.get_source_state(KEY).fingerprints
    # as of before the deletion the run is still in the lineage
    assert "t://r1" in store.upstream("t://mv1", as_of=gone_at - timedelta(days=1)).nodes
    assert "t://r1" not in store.upstream("t://mv1").nodes


def test_failed_batch_leaves_store_and_cursor_unchanged(store: GraphStore) -> None:
    store.apply(KEY, "test", model_chain(), {"at": "first"})
    before = store.dump()
    bad = [node("t://r9"), NodeUpsert.model_construct(urn=None, kind=NodeKind.run)]  # type: ignore[arg-type]
    with pytest.raises(Exception):
        store.apply(KEY, "test", bad, {"at": "second"})
    assert store.dump() == before
    assert store.get_source_state(KEY).cursor == {"at": "first"}


def test_checkpoint_record_moves_cursor(store: GraphStore) -> None:
    store.apply(KEY, "test", [*model_chain(), Checkpoint(cursor={"pass": 3})], None)
    state = store.get_source_state(KEY)
    assert state.cursor == {"pass": 3}
    assert set(state.fingerprints) == {"t://d1", "t://c1", "t://r1", "t://mv1"}


def test_events_are_deduplicated(store: GraphStore) -> None:
    event = EventRecord(urn="t://mv1", kind="stage", at=T0, payload={"stage": "Production"})
    assert store.apply(KEY, "test", [event, event], None).events == 1
    assert store.apply(KEY, "test", [event], None).events == 0
    assert [e.payload for e in store.list_events("t://mv1")] == [{"stage": "Production"}]


def test_upstream_downstream_depth_and_as_of(store: GraphStore) -> None:
    store.apply(KEY, "test", model_chain(), None)
    up = store.upstream("t://mv1", depth=5)
    assert set(up.nodes) == {"t://mv1", "t://r1", "t://d1", "t://c1"}
    assert up.depth_of["t://d1"] == 2
    assert {(e.src, e.kind.value, e.dst) for e in up.edges} == {
        ("t://r1", "produced", "t://mv1"),
        ("t://r1", "used", "t://d1"),
        ("t://r1", "ran_code", "t://c1"),
    }
    assert set(store.upstream("t://mv1", depth=1).nodes) == {"t://mv1", "t://r1"}
    assert set(store.downstream("t://d1", depth=5).nodes) == {"t://d1", "t://r1", "t://mv1"}
    # before the model version existed, its producing edge did not either
    assert set(store.upstream("t://mv1", as_of=T0 + timedelta(hours=1)).nodes) == {"t://mv1"}


def test_lineage_walk_terminates_on_cycles(store: GraphStore) -> None:
    store.apply(
        KEY,
        "test",
        [node("t://a"), node("t://b"), edge("t://a", EdgeKind.used, "t://b"), edge("t://b", EdgeKind.used, "t://a")],
        None,
    )
    assert set(store.upstream("t://a", depth=50).nodes) == {"t://a", "t://b"}


def test_list_nodes_pages_with_opaque_tokens(store: GraphStore) -> None:
    store.apply(KEY, "test", [node(f"t://r{i:02d}") for i in range(25)], None)
    seen, token = [], None
    while True:
        page = store.list_nodes(kind="run", page_size=10, page_token=token)
        seen.extend(n.urn for n in page.items)
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"t://r{i:02d}" for i in range(25)]


def test_list_nodes_by_name_ignores_case(store: GraphStore) -> None:
    store.apply(KEY, "test", [node("t://m1", NodeKind.model), node("t://m2", NodeKind.model), node("t://r1")], None)
    assert [n.urn for n in store.list_nodes(kind="model", name="M2").items] == ["t://m2"]
    assert store.list_nodes(kind="model", name="r1").items == []  # a run, not a model


def test_list_nodes_by_creation_time_and_project_and_edges_from_many(store: GraphStore) -> None:
    runs = [node(f"t://r{i}", created=T0 + timedelta(days=i)) for i in range(6)]
    runs = [r.model_copy(update={"project": "a" if i % 2 else "b"}) for i, r in enumerate(runs)]
    store.apply(KEY, "test", [*runs, node("t://d1", NodeKind.dataset_version),
                              *(edge(f"t://r{i}", EdgeKind.used, "t://d1") for i in range(3)),
                              edge("t://r0", EdgeKind.child_of, "t://r1")], None)
    week = store.list_nodes(kind="run", created_since=T0 + timedelta(days=1), created_until=T0 + timedelta(days=4))
    assert [n.urn for n in week.items] == ["t://r1", "t://r2", "t://r3"]
    assert [n.urn for n in store.list_nodes(kind="run", project="a", created_until=T0 + timedelta(days=4)).items] == [
        "t://r1", "t://r3"]
    used = store.list_edges_from(["t://r0", "t://r2", "t://r5"], kinds=["used"])
    assert [(e.src, e.dst) for e in used] == [("t://r0", "t://d1"), ("t://r2", "t://d1")]
    assert {e.kind.value for e in store.list_edges_from(["t://r0"])} == {"used", "child_of"}


def test_outbox_versions_protect_concurrent_changes(store: GraphStore) -> None:
    store.apply(KEY, "test", model_chain(), None)
    pending = {p.node.urn: p.version for p in store.pending_documents()}
    assert set(pending) == {"t://d1", "t://c1", "t://r1", "t://mv1"}
    store.apply(KEY, "test", [node("t://r1", lr="0.3")], None)  # changes after the indexer read it
    store.mark_indexed(pending)
    assert [p.node.urn for p in store.pending_documents()] == ["t://r1"]


def test_new_link_queues_both_ends_for_reindexing(store: GraphStore) -> None:
    store.apply(KEY, "test", model_chain(), None)
    store.mark_indexed({p.node.urn: p.version for p in store.pending_documents()})
    store.apply(KEY, "test", [node("t://mv2", NodeKind.model_version), edge("t://r1", EdgeKind.produced, "t://mv2")], None)
    assert {p.node.urn for p in store.pending_documents()} == {"t://r1", "t://mv2"}


def test_stats_count_by_kind_and_system(store: GraphStore) -> None:
    store.apply(KEY, "test", model_chain(), None)
    store.finish_sync(KEY, "test", {"read": 4}, {"done": True})
    stats = store.stats()
    assert stats.nodes_by_kind_and_system[("run", "test")] == 1
    assert stats.edges == 3
    assert stats.syncs[0].last_report == {"read": 4} and stats.syncs[0].last_sync_at is not None


def _ingest_in_process(url: str, worker: int, batches: int) -> None:
    """One of two concurrent ingestors: its own runs, plus people and code both of them upsert."""
    graph = SqlGraphStore(url)
    for b in range(batches):
        records: list[object] = []
        for i in range(10):
            run = f"t://w{worker}/r{b}-{i}"
            person, code = f"t://person/{i % 3}", f"t://code/{(b + i) % 4}"
            records += [
                node(run), node(person, NodeKind.person), node(code, NodeKind.code_version),
                edge(run, EdgeKind.by, person), edge(run, EdgeKind.ran_code, code),
            ]
        graph.apply(f"test:w{worker}", "test", records, {"batch": b})
    graph.close()


def test_concurrent_ingestors_neither_deadlock_nor_duplicate(store: GraphStore, store_url: str) -> None:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_ingest_in_process, args=(store_url, w, 15)) for w in (1, 2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=180)
        assert process.exitcode == 0
    stats = store.stats()
    assert stats.nodes_by_kind_and_system == {("run", "test"): 300, ("person", "test"): 3, ("code_version", "test"): 4}
    assert stats.edges == 600
    assert {s.source_key: s.cursor for s in stats.syncs} == {"test:w1": {"batch": 14}, "test:w2": {"batch": 14}}


def test_reopening_keeps_everything(store_url: str) -> None:
    url = store_url
    first = SqlGraphStore(url)
    first.apply(KEY, "test", model_chain(), {"c": 1})
    dump = first.dump()
    first.close()
    second = SqlGraphStore(url)  # migrations are a no-op the second time
    assert second.dump() == dump
    second.close()


def _seen_by(system: str, **props: object) -> NodeUpsert:
    """The same dataset version as another system records it (same content key, so the same URN)."""
    urn = "dataset://s3://bucket/features.parquet@abc123"
    return NodeUpsert(urn=urn, kind=NodeKind.dataset_version, name=f"features@{system}",
                      source=Source(system=system, instance=f"{system}-1", id=f"{system}-id", url=f"http://{system}/x"),
                      properties=dict(props), fingerprint=f"{system}-fp")


@pytest.mark.parametrize("first,second", [("mlflow", "dvc"), ("dvc", "mlflow")])
def test_two_systems_one_node_with_an_alias_each(store: GraphStore, first: str, second: str) -> None:
    """Identity across systems: one node, the first writer its source, the other in ``also_known_as``; stable."""
    props = {"mlflow": {"digest": "abc123", "schema": {"fields": [{"name": "a", "type": "long"}]}},
             "dvc": {"md5": "abc123", "size": 10}}
    store.apply(f"{first}:x", first, [_seen_by(first, **props[first])], None)
    result = store.apply(f"{second}:x", second, [_seen_by(second, **props[second])], None)
    assert result.changed == 1
    shared = store.get_node("dataset://s3://bucket/features.parquet@abc123")
    assert shared.source.system == first
    aliases = shared.properties["also_known_as"]
    assert list(aliases) == [second] and aliases[second]["id"] == f"{second}-id"
    assert aliases[second]["properties"] == props[second]
    assert {**props[first], **props[second]}.items() <= shared.properties.items()
    # re-ingesting either side changes nothing
    for system in (first, second, first):
        again = store.apply(f"{system}:x", system, [_seen_by(system, **props[system])], None)
        assert again.changed == again.new == 0, system
    # the owner changes its record: what the other system contributed stays
    store.apply(f"{first}:x", first, [_seen_by(first, **props[first], note="updated")], None)
    updated = store.get_node(shared.urn)
    assert updated.properties["note"] == "updated" and second in updated.properties["also_known_as"]
    assert props[second].items() <= updated.properties.items()
    assert store.apply(f"{second}:x", second, [_seen_by(second, **props[second])], None).changed == 0
