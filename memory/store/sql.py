"""The SQLAlchemy graph store: SQLite (WAL) embedded by default, PostgreSQL by URL."""

from __future__ import annotations

import base64
import contextlib
import functools
import re
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from sqlalchemy import and_, bindparam, create_engine, event, func, or_, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential
from sqlalchemy.orm import Session, sessionmaker

from memory.entities import (
    Checkpoint,
    Edge,
    EdgeUpsert,
    Event,
    EventRecord,
    Node,
    NodeUpsert,
    Record,
    SourceState,
    Tombstone,
)
from memory.errors import BackendUnavailable, Conflict, NotFound
from memory.store.tokens import TokenVerbs
from memory.store.writes import RowWrites
from memory.store.base import (
    CONSUMES,
    HUB_EDGES,
    PRODUCES,
    ApplyResult,
    GraphStore,
    Lineage,
    Page,
    PendingDoc,
    StoreStats,
    SyncInfo,
)
from memory.store.models import EdgeRow, EventRow, NodeRow, SyncStateRow, UtcDateTime

_CHUNK = 500
_ATTEMPTS = 8
#: PostgreSQL deadlock / serialization failure; SQLite busy
_TRANSIENT_SQLSTATES = {"40P01", "40001"}


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|true|false|none|null", re.I)

class _Transient(Exception):
    """A write lost a race with a concurrent writer; the whole transaction is retried."""


def _is_transient(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError):
        return True  # a concurrent writer inserted the same key first: re-read and apply again
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) in _TRANSIENT_SQLSTATES:
        return True
    return "database is locked" in str(orig)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class SqlGraphStore(RowWrites, TokenVerbs, GraphStore):
    """Graph store on any SQLAlchemy 2 database; the schema is migrated with Alembic on open."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(url, echo=echo, connect_args={"timeout": 60})
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, echo=echo, pool_pre_ping=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._migrate()

    # -- plumbing
    def _migrate(self) -> None:
        """Upgrade the schema to the newest migration (Alembic is loaded only when one is due)."""
        try:
            with self.engine.connect() as connection:
                current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, ProgrammingError):
            current = None
        if current is not None and current == _head_revision():
            return
        from alembic import command
        from alembic.config import Config

        config = Config(str(Path(__file__).with_name("alembic.ini")))
        config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise BackendUnavailable(
                f"cannot open the graph store at {self.engine.url.render_as_string(hide_password=True)}: {exc.orig}",
                hint="check XMEM_DATABASE_URL / XMEM_HOME and that the database is reachable",
            ) from None

    @contextlib.contextmanager
    def _session(self) -> Iterator[Session]:
        """A managed session: commits on success, rolls back on error, maps driver errors."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except (IntegrityError, OperationalError) as exc:
            session.rollback()
            if _is_transient(exc):
                raise _Transient(str(exc.orig)) from exc
            if isinstance(exc, IntegrityError):
                raise Conflict(f"graph store conflict: {exc.orig}") from None
            raise BackendUnavailable(f"graph store error: {exc.orig}") from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def close(self) -> None:
        self.engine.dispose()

    # -- writes
    def apply(
        self, source_key: str, system: str, records: Sequence[Record], cursor: dict[str, Any] | None
    ) -> ApplyResult:
        """Apply in one transaction; a transaction that lost a race with another writer is retried."""
        for attempt in Retrying(
            retry=retry_if_exception_type(_Transient),
            stop=stop_after_attempt(_ATTEMPTS),
            wait=wait_random_exponential(multiplier=0.05, max=2.0),
            reraise=True,
        ):
            with attempt:
                try:
                    return self._apply_once(source_key, system, records, cursor)
                except _Transient:
                    if attempt.retry_state.attempt_number >= _ATTEMPTS:
                        raise Conflict(
                            f"gave up writing a batch of {source_key} after {_ATTEMPTS} attempts (concurrent writers)",
                            hint="run the ingest again: it resumes from its last checkpoint",
                        ) from None
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _apply_once(
        self, source_key: str, system: str, records: Sequence[Record], cursor: dict[str, Any] | None
    ) -> ApplyResult:
        result = ApplyResult()
        now = _utcnow()
        with self._session() as session:
            node_urns = [r.urn for r in records if isinstance(r, (NodeUpsert, Tombstone))]
            existing = self._load_nodes(session, node_urns)
            edge_srcs = sorted({r.src for r in records if isinstance(r, EdgeUpsert)} | set(node_urns))
            edges = self._load_edges(session, edge_srcs)
            changed_urns: set[str] = set()
            upserted_edges: set[tuple[str, str, str]] = set()
            for record in records:
                if isinstance(record, NodeUpsert):
                    self._apply_node(session, source_key, record, existing, result, changed_urns)
                elif isinstance(record, EdgeUpsert):
                    key = (record.src, record.kind.value, record.dst)
                    upserted_edges.add(key)
                    if self._apply_edge(session, source_key, record, edges, result) and record.kind.value not in HUB_EDGES:
                        self._touch(session, (record.src, record.dst), existing)
                elif isinstance(record, EventRecord):
                    self._apply_event(session, source_key, record, result)
                elif isinstance(record, Tombstone):
                    self._apply_tombstone(session, record, existing, result)
                elif isinstance(record, Checkpoint):
                    cursor = record.cursor
            # edges a changed node no longer has in its source end now
            for key, row in edges.items():
                if row.src in changed_urns and row.source_key == source_key and row.valid_to is None:
                    if key not in upserted_edges:
                        row.valid_to = now
                        result.edges += 1
            if cursor is not None:
                state = session.get(SyncStateRow, source_key)
                if state is None:
                    session.add(SyncStateRow(source_key=source_key, system=system, cursor=cursor, last_report={}))
                elif state.cursor != cursor:
                    state.cursor = cursor
        return result

    def _load_nodes(self, session: Session, urns: Sequence[str]) -> dict[str, NodeRow]:
        found: dict[str, NodeRow] = {}
        for chunk in _chunks(sorted(set(urns))):
            for row in session.scalars(select(NodeRow).where(NodeRow.urn.in_(chunk))):
                found[row.urn] = row
        return found

    def _load_edges(self, session: Session, srcs: Sequence[str]) -> dict[tuple[str, str, str], EdgeRow]:
        found: dict[tuple[str, str, str], EdgeRow] = {}
        for chunk in _chunks(srcs):
            for row in session.scalars(select(EdgeRow).where(EdgeRow.src.in_(chunk))):
                found[(row.src, row.kind, row.dst)] = row
        return found

    def finish_sync(self, source_key: str, system: str, report: dict[str, Any], cursor: dict[str, Any]) -> None:
        with self._session() as session:
            state = session.get(SyncStateRow, source_key)
            if state is None:
                state = SyncStateRow(source_key=source_key, system=system, cursor=cursor, last_report=report)
                session.add(state)
            state.cursor = cursor
            state.last_report = report
            state.last_sync_at = _utcnow()

    # -- reads
    def get_source_state(self, source_key: str) -> SourceState:
        with self._session() as session:
            state = session.get(SyncStateRow, source_key)
            rows = session.execute(
                select(NodeRow.urn, NodeRow.fingerprint).where(
                    NodeRow.source_key == source_key, NodeRow.fingerprint.is_not(None), NodeRow.deleted.is_(False)
                )
            )
            fingerprints = {urn: fp for urn, fp in rows}
            return SourceState(
                source_key=source_key,
                cursor=dict(state.cursor) if state else {},
                fingerprints=fingerprints,
                last_sync_at=state.last_sync_at if state else None,
            )

    def get_node(self, urn: str, *, include_deleted: bool = False) -> Node:
        with self._session() as session:
            row = session.get(NodeRow, urn)
            if row is None or (row.deleted and not include_deleted):
                raise NotFound(f"no node {urn!r} in the memory", hint="find URNs with `xmem search`")
            return row.to_entity()

    def get_nodes(self, urns: Sequence[str]) -> dict[str, Node]:
        with self._session() as session:
            return {urn: row.to_entity() for urn, row in self._load_nodes(session, list(urns)).items() if not row.deleted}

    def list_nodes(
        self,
        *,
        kind: str | None = None,
        system: str | None = None,
        name: str | None = None,
        page_size: int = 100,
        page_token: str | None = None,
        include_deleted: bool = False,
        project: str | None = None,
        created_since: datetime | None = None,
        created_until: datetime | None = None,
    ) -> Page[Node]:
        query = select(NodeRow).order_by(NodeRow.urn).limit(page_size + 1)
        if kind:
            query = query.where(NodeRow.kind == kind)
        if project is not None:
            query = query.where(NodeRow.project == project)
        if created_since is not None:
            query = query.where(NodeRow.created_at >= created_since)
        if created_until is not None:
            query = query.where(NodeRow.created_at < created_until)
        if name is not None:
            query = query.where(func.lower(NodeRow.name) == name.lower())
        if system:
            query = query.where(NodeRow.system == system)
        if not include_deleted:
            query = query.where(NodeRow.deleted.is_(False))
        if page_token:
            query = query.where(NodeRow.urn > base64.urlsafe_b64decode(page_token.encode()).decode())
        with self._session() as session:
            rows = list(session.scalars(query))
        token = None
        if len(rows) > page_size:
            rows = rows[:page_size]
            token = base64.urlsafe_b64encode(rows[-1].urn.encode()).decode()
        return Page([row.to_entity() for row in rows], token)

    def list_edges(self, urn: str, *, as_of: datetime | None = None) -> list[Edge]:
        query = select(EdgeRow).where(or_(EdgeRow.src == urn, EdgeRow.dst == urn)).order_by(EdgeRow.kind, EdgeRow.src, EdgeRow.dst)
        query = query.where(*_live_at(as_of))
        with self._session() as session:
            return [row.to_entity() for row in session.scalars(query)]

    def list_edges_from(self, urns: Sequence[str], *, kinds: Sequence[str] = ()) -> list[Edge]:
        out: list[Edge] = []
        with self._session() as session:
            for chunk in _chunks(sorted(set(urns))):
                query = select(EdgeRow).where(EdgeRow.src.in_(chunk), EdgeRow.valid_to.is_(None))
                if kinds:
                    query = query.where(EdgeRow.kind.in_(list(kinds)))
                out.extend(row.to_entity() for row in session.scalars(query.order_by(EdgeRow.src, EdgeRow.kind, EdgeRow.dst)))
        return out

    def neighbours(self, urn: str) -> list[tuple[Edge, Node]]:
        return self._neighbours_of([urn]).get(urn, [])

    def _neighbours_of(
        self, urns: Sequence[str], outgoing: frozenset[str] | None = None, incoming: frozenset[str] | None = None
    ) -> dict[str, list[tuple[Edge, Node]]]:
        """Live neighbours of ``urns`` through edges of the ``outgoing`` / ``incoming`` kinds (None: all)."""

        def through(column: Any, chunk: Sequence[str], kinds: frozenset[str] | None) -> Any:
            return column.in_(chunk) if kinds is None else and_(column.in_(chunk), EdgeRow.kind.in_(sorted(kinds)))

        wanted = set(urns)
        links: list[tuple[str, str, EdgeRow]] = []  # (this, other, edge): an edge between two wanted nodes counts per side
        with self._session() as session:
            for chunk in _chunks(list(urns)):
                rows = session.scalars(
                    select(EdgeRow)
                    .where(or_(through(EdgeRow.src, chunk, outgoing), through(EdgeRow.dst, chunk, incoming)),
                           EdgeRow.valid_to.is_(None))
                    .order_by(EdgeRow.kind, EdgeRow.src, EdgeRow.dst)
                )
                for row in rows:
                    for this, other, kinds in ((row.src, row.dst, outgoing), (row.dst, row.src, incoming)):
                        if this in wanted and (kinds is None or row.kind in kinds):
                            links.append((this, other, row))
            nodes = {u: r for u, r in self._load_nodes(session, sorted({o for _, o, _ in links})).items() if not r.deleted}
            out: dict[str, list[tuple[Edge, Node]]] = defaultdict(list)
            for this, other, row in links:
                if other in nodes:
                    out[this].append((row.to_entity(), nodes[other].to_entity()))
        return out

    def list_events(self, urn: str | None = None, *, since: datetime | None = None) -> list[Event]:
        query = select(EventRow).order_by(EventRow.at, EventRow.id)
        if urn:
            query = query.where(EventRow.urn == urn)
        if since:
            query = query.where(EventRow.at >= since)
        with self._session() as session:
            return [row.to_entity() for row in session.scalars(query)]

    def upstream(self, urn: str, *, depth: int = 3, as_of: datetime | None = None) -> Lineage:
        return self._walk(urn, "up", depth, as_of)

    def downstream(self, urn: str, *, depth: int = 3, as_of: datetime | None = None) -> Lineage:
        return self._walk(urn, "down", depth, as_of)

    def _walk(self, urn: str, direction: str, depth: int, as_of: datetime | None) -> Lineage:
        """Breadth-first lineage walk in one recursive CTE, bounded by ``depth`` and as of ``as_of``."""
        forward, backward = (CONSUMES, PRODUCES) if direction == "up" else (PRODUCES, CONSUMES)
        if as_of is None:
            live = "e.valid_to IS NULL"
        else:
            live = "(e.valid_from IS NULL OR e.valid_from <= :as_of) AND (e.valid_to IS NULL OR e.valid_to > :as_of)"
        sql = text(
            f"""
            WITH RECURSIVE walk(urn, depth) AS (
              SELECT CAST(:root AS VARCHAR(1024)), 0
              UNION
              SELECT CAST(CASE WHEN e.src = w.urn THEN e.dst ELSE e.src END AS VARCHAR(1024)), w.depth + 1
              FROM walk w JOIN edges e
                ON (e.src = w.urn AND e.kind IN :forward) OR (e.dst = w.urn AND e.kind IN :backward)
              WHERE w.depth < :depth AND {live}
            )
            SELECT urn, MIN(depth) FROM walk GROUP BY urn
            """
        ).bindparams(bindparam("forward", expanding=True), bindparam("backward", expanding=True))
        params: dict[str, Any] = {"root": urn, "forward": list(forward), "backward": list(backward), "depth": depth}
        if as_of is not None:
            sql = sql.bindparams(bindparam("as_of", type_=UtcDateTime))
            params["as_of"] = as_of
        with self._session() as session:
            root = session.get(NodeRow, urn)
            if root is None:
                raise NotFound(f"no node {urn!r} in the memory", hint="find URNs with `xmem search`")
            depth_of = {row[0]: int(row[1]) for row in session.execute(sql, params)}
            rows = self._load_nodes(session, sorted(depth_of))
            nodes = {
                u: r.to_entity()
                for u, r in rows.items()
                if _node_live_at(r, as_of) or u == urn
            }
            edge_rows: list[EdgeRow] = []
            kinds = list(CONSUMES + PRODUCES)
            for chunk in _chunks(sorted(nodes)):
                edge_rows.extend(
                    session.scalars(
                        select(EdgeRow)
                        .where(EdgeRow.src.in_(chunk), EdgeRow.kind.in_(kinds), *_live_at(as_of))
                        .order_by(EdgeRow.src, EdgeRow.kind, EdgeRow.dst)
                    )
                )
        edges = [row.to_entity() for row in edge_rows if row.dst in nodes]
        return Lineage(
            root=urn,
            direction=direction,
            nodes=nodes,
            depth_of={u: d for u, d in depth_of.items() if u in nodes},
            edges=edges,
            as_of=as_of,
        )

    def stats(self) -> StoreStats:
        with self._session() as session:
            counts = session.execute(
                select(NodeRow.kind, NodeRow.system, func.count())
                .where(NodeRow.deleted.is_(False))
                .group_by(NodeRow.kind, NodeRow.system)
            )
            by_kind = {(kind, system): n for kind, system, n in counts}
            deleted = session.scalar(select(func.count()).select_from(NodeRow).where(NodeRow.deleted.is_(True))) or 0
            edges = session.scalar(select(func.count()).select_from(EdgeRow).where(EdgeRow.valid_to.is_(None))) or 0
            events = session.scalar(select(func.count()).select_from(EventRow)) or 0
            backlog = session.scalar(select(func.count()).select_from(NodeRow).where(NodeRow.index_pending.is_(True))) or 0
            syncs = [
                SyncInfo(s.source_key, s.system, s.last_sync_at, dict(s.cursor or {}), dict(s.last_report or {}))
                for s in session.scalars(select(SyncStateRow).order_by(SyncStateRow.source_key))
            ]
        return StoreStats(by_kind, deleted, edges, events, backlog, syncs)

    # -- the search-index outbox
    def pending_documents(
        self, limit: int = 500, *, outgoing: frozenset[str] | None = None, incoming: frozenset[str] | None = None
    ) -> list[PendingDoc]:
        with self._session() as session:
            rows = list(
                session.scalars(select(NodeRow).where(NodeRow.index_pending.is_(True)).order_by(NodeRow.urn).limit(limit))
            )
            picked = [(row.to_entity(), row.version) for row in rows]
        neighbours = self._neighbours_of([node.urn for node, _ in picked if not node.deleted], outgoing, incoming)
        return [PendingDoc(node, version, neighbours.get(node.urn, [])) for node, version in picked]

    def mark_indexed(self, versions: dict[str, int]) -> None:
        with self._session() as session:
            for chunk in _chunks(sorted(versions)):
                for row in session.scalars(select(NodeRow).where(NodeRow.urn.in_(chunk))):
                    if row.version == versions[row.urn]:
                        row.index_pending = False

    def mark_all_pending(self) -> int:
        with self._session() as session:
            rows = session.execute(NodeRow.__table__.update().values(index_pending=True))
            return rows.rowcount or 0

    def vocabulary(self, *, sample: int = 20000, max_distinct: int = 2000, max_categories: int = 100) -> dict[str, list[str]]:
        live = NodeRow.deleted.is_(False)
        with self._session() as session:
            projects = session.scalars(select(NodeRow.project).where(live, NodeRow.project.is_not(None)).distinct())
            names = {
                kind: sorted(set(session.scalars(select(NodeRow.name).where(live, NodeRow.kind == kind))))
                for kind in ("person", "model", "dataset")
            }
            recent = session.scalars(
                select(NodeRow.properties).where(live, NodeRow.kind == "run").order_by(NodeRow.created_at.desc()).limit(sample)
            )
            metrics: set[str] = set()
            params: set[str] = set()
            # identity-like values (framework, task, architecture…): text params and tags with few distinct values
            values: dict[str, set[str]] = {}
            for properties in recent:
                metrics.update((properties or {}).get("metrics") or {})
                params.update((properties or {}).get("params") or {})
                for field in ("params", "tags"):
                    for key, value in ((properties or {}).get(field) or {}).items():
                        text = str(value)
                        if 1 < len(text) <= 80 and not _NUMBER.fullmatch(text) and not key.startswith("mlflow."):
                            values.setdefault(key, set()).add(text)
            return {
                "projects": sorted(set(projects)),
                "people": names["person"],
                "models": names["model"],
                "datasets": names["dataset"],
                "metrics": sorted(metrics),
                "params": sorted(params),
                "values": sorted({v for vs in values.values() if len(vs) <= max_distinct for v in vs}),
                "categories": sorted({v for vs in values.values() if len(vs) <= max_categories for v in vs}),
            }

    def dump(self) -> dict[str, Any]:
        with self._session() as session:
            nodes = [
                {
                    "urn": r.urn, "kind": r.kind, "name": r.name, "system": r.system, "instance": r.instance,
                    "source_id": r.source_id, "source_url": r.source_url, "project": r.project,
                    "description": r.description, "created_at": _iso(r.created_at), "updated_at": _iso(r.updated_at),
                    "properties": r.properties, "fingerprint": r.fingerprint, "deleted": r.deleted,
                    "deleted_at": _iso(r.deleted_at),
                }
                for r in session.scalars(select(NodeRow).order_by(NodeRow.urn))
            ]
            edges = [
                {"src": r.src, "kind": r.kind, "dst": r.dst, "valid_from": _iso(r.valid_from),
                 "valid_to": _iso(r.valid_to), "properties": r.properties}
                for r in session.scalars(select(EdgeRow).order_by(EdgeRow.src, EdgeRow.kind, EdgeRow.dst))
            ]
            events = [
                {"urn": r.urn, "kind": r.kind, "at": _iso(r.at), "payload": r.payload}
                for r in session.scalars(select(EventRow).order_by(EventRow.event_key))
            ]
            syncs = {s.source_key: s.cursor for s in session.scalars(select(SyncStateRow))}
        return {"nodes": nodes, "edges": edges, "events": events, "cursors": syncs}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _live_at(as_of: datetime | None) -> list[Any]:
    if as_of is None:
        return [EdgeRow.valid_to.is_(None)]
    return [
        or_(EdgeRow.valid_from.is_(None), EdgeRow.valid_from <= as_of),
        or_(EdgeRow.valid_to.is_(None), EdgeRow.valid_to > as_of),
    ]


def _node_live_at(row: NodeRow, as_of: datetime | None) -> bool:
    if as_of is None:
        return not row.deleted
    if row.created_at is not None and row.created_at > as_of:
        return False
    return not (row.deleted and row.deleted_at is not None and row.deleted_at <= as_of)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@functools.lru_cache(maxsize=1)
def _head_revision() -> str:
    """The newest migration's id, read from the migration files (the one no other revises)."""
    revisions: dict[str, str | None] = {}
    for path in (Path(__file__).with_name("migrations") / "versions").glob("*.py"):
        source = path.read_text()
        found = re.search(r'^revision\s*=\s*["\']([^"\']+)', source, re.M)
        down = re.search(r'^down_revision\s*=\s*["\']([^"\']+)', source, re.M)
        if found:
            revisions[found.group(1)] = down.group(1) if down else None
    heads = set(revisions) - {d for d in revisions.values() if d}
    return heads.pop() if len(heads) == 1 else ""
