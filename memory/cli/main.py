"""``xmem``: ingest, search, ask, show, lineage, why, diff, digest, similar, stats, demo, serve, ui."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, List, Optional

import typer
from dateutil import parser as date_parser
from rich.console import Console

from memory.answer import NOBODY_BELOW
from memory.cli import render
from memory.cli.ingesting import RateTracker, progress_bar, run_ingest
from memory.errors import InvalidQuery, XmemError
from memory.incident import FORMATS, render_diff, render_why
from memory.service import MemoryService
from memory.settings import Settings, settings_environment

app = typer.Typer(
    name="xmem",
    help="Experiment Memory: search every ML experiment your organization ever ran.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
ingest_app = typer.Typer(help="Pull a source system into the memory (idempotent and incremental).", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
token_app = typer.Typer(help="API tokens: scopes (read, ingest, admin) and the projects a token may see.", no_args_is_help=True)
app.add_typer(token_app, name="token")

console = Console()
err_console = Console(stderr=True)


@app.callback()
def main(
    ctx: typer.Context,
    home: Optional[Path] = typer.Option(None, "--home", envvar="XMEM_HOME", help="Folder of the memory (default ~/.xmem)."),
) -> None:
    """Build settings once; every command opens the service with them."""
    try:
        ctx.obj = Settings(home=home) if home else Settings()
    except Exception as exc:  # pydantic's ValidationError names the bad setting
        err_console.print(f"[red]error:[/] invalid configuration: {exc}")
        raise typer.Exit(2) from None


@contextlib.contextmanager
def service(ctx: typer.Context) -> Iterator[MemoryService]:
    """Open the memory; print any domain error as one line and exit non-zero."""
    with errors():
        svc = MemoryService(ctx.obj)
        try:
            yield svc
        finally:
            svc.close()


@contextlib.contextmanager
def errors() -> Iterator[None]:
    try:
        yield
    except XmemError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def parse_when(value: Optional[str], option: str) -> Optional[datetime]:
    if not value:
        return None
    try:
        parsed = date_parser.isoparse(value)
    except ValueError:
        raise InvalidQuery(f"{option} {value!r} is not a date", hint="use YYYY-MM-DD or an ISO timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _label(paths: List[Path]) -> str:
    return str(paths[0]) + (f" (+{len(paths) - 1})" if len(paths) > 1 else "")


#: every ``xmem ingest`` command takes it
DEFER_VECTORS = typer.Option(
    False, "--defer-vectors",
    help="Stop once the graph and BM25 are committed (searchable at once); the vectors are embedded later by "
    "`xmem reindex --pending` or a running `xmem serve`.",
)


def _ingest(ctx: typer.Context, system: str, config: dict, label: str, *, defer_vectors: bool = False,
            skipped: str | None = None) -> None:
    """Run one ingest with its progress bars and report; when items were rejected (listed in the report),
    print ``skipped`` (formatted with the report's ``rejected`` and ``read``) and exit 1."""
    with service(ctx) as svc:
        report = run_ingest(svc, system, config, label, console=console, progress_console=err_console,
                            vectors=not defer_vectors)
    if report.rejected and skipped:
        err_console.print(skipped.format(rejected=report.rejected, read=report.read))
        raise typer.Exit(1)


@ingest_app.command("mlflow")
def ingest_mlflow(
    ctx: typer.Context,
    tracking_uri: str = typer.Option(..., "--tracking-uri", help="http://host:port of an MLflow tracking server (or sqlite:///path)."),
    experiment: List[str] = typer.Option([], "--experiment", "-e", help="Only these experiments (repeatable)."),
    registry: bool = typer.Option(True, "--registry/--no-registry", help="Also ingest the model registry."),
    checkpoint_every: int = typer.Option(1000, "--checkpoint-every", help="Runs per committed checkpoint."),
    defer_vectors: bool = DEFER_VECTORS,
) -> None:
    """Experiments, runs (params, metrics, tags, notes, datasets, code) and the model registry."""
    with service(ctx) as svc:
        config = {
            "tracking_uri": tracking_uri,
            "experiments": tuple(experiment),
            "registry": registry,
            "checkpoint_every": checkpoint_every,
        }
        report = run_ingest(svc, "mlflow", config, tracking_uri, console=console, progress_console=err_console,
                            vectors=not defer_vectors)
    if report.warning_count and report.new == report.changed == 0 and report.read == 0:
        raise typer.Exit(1)


@ingest_app.command("openlineage")
def ingest_openlineage(
    ctx: typer.Context,
    paths: List[Path] = typer.Argument(..., help="Event files (.json: one event or a list; .ndjson/.jsonl) or folders."),
    batch_size: int = typer.Option(500, "--batch-size", help="Events committed per transaction."),
    defer_vectors: bool = DEFER_VECTORS,
) -> None:
    """Replay OpenLineage events from files: invalid ones are reported (file:line: JSON path: reason) and skipped."""
    _ingest(ctx, "openlineage", {"paths": tuple(str(p) for p in paths), "batch_size": batch_size}, _label(paths),
            defer_vectors=defer_vectors,
            skipped="[red]{rejected:,} invalid event(s) skipped[/]; the {read:,} valid ones are kept.")


@ingest_app.command("dvc")
def ingest_dvc(
    ctx: typer.Context,
    repo: Path = typer.Argument(..., help="Root of a DVC repository (a git working copy with .dvc/)."),
    project: Optional[str] = typer.Option(None, "--project", help="Project of its runs (default: the folder name)."),
    experiments: bool = typer.Option(True, "--experiments/--no-experiments", help="Also read `dvc exp run` experiments."),
    max_commits: Optional[int] = typer.Option(None, "--max-commits", help="Only the newest N pipeline commits."),
    defer_vectors: bool = DEFER_VECTORS,
) -> None:
    """A DVC repository's history: each pipeline commit and experiment as a run, stage outputs as dataset versions."""
    config = {"repo_path": str(repo), "project": project, "experiments": experiments, "max_commits": max_commits}
    _ingest(ctx, "dvc", config, str(repo), defer_vectors=defer_vectors,
            skipped="[red]{rejected:,} revision(s) skipped[/] (unreadable pipeline files, listed above); the rest is kept.")


@ingest_app.command("delta")
def ingest_delta(
    ctx: typer.Context,
    tables: List[str] = typer.Argument(..., help="Delta table locations: paths or URIs (s3://, gs://, abfss://, file://)."),
    project: Optional[str] = typer.Option(None, "--project", help="Project the tables belong to."),
    storage_option: List[str] = typer.Option([], "--storage-option", help="KEY=VALUE passed to deltalake (repeatable)."),
    defer_vectors: bool = DEFER_VECTORS,
) -> None:
    """Delta tables: every version of the transaction log (operation, schema and its changes, row/file counts)."""
    options = dict(o.split("=", 1) for o in storage_option if "=" in o)
    failed = 0
    with service(ctx) as svc:
        for table in tables:
            config = {"table_uri": table, "project": project, "storage_options": options}
            try:
                run_ingest(svc, "delta", config, table, console=console, progress_console=err_console,
                           vectors=not defer_vectors)
            except XmemError as exc:  # one bad table does not stop the others
                failed += 1
                err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


@ingest_app.command("wandb")
def ingest_wandb(
    ctx: typer.Context,
    paths: List[Path] = typer.Argument(..., help="W&B run files (run-<id>.wandb) or folders holding wandb/offline-run-*."),
    default_entity: str = typer.Option("local", "--default-entity", help="Entity of runs that named none (offline runs)."),
    checkpoint_every: int = typer.Option(50, "--checkpoint-every", help="Runs per committed checkpoint."),
    defer_vectors: bool = DEFER_VECTORS,
) -> None:
    """Runs (config, summary, history, tags, notes, exit) and artifacts read from W&B run files written offline."""
    config = {"paths": tuple(str(p) for p in paths), "default_entity": default_entity, "checkpoint_every": checkpoint_every}
    _ingest(ctx, "wandb", config, _label(paths), defer_vectors=defer_vectors,
            skipped="[red]{rejected:,} unreadable run file(s) skipped[/]; the other runs are ingested.")


@ingest_app.command("feast")
def ingest_feast(
    ctx: typer.Context,
    repo_path: Path = typer.Argument(..., help="The Feast feature repository (the folder holding feature_store.yaml)."),
    defer_vectors: bool = DEFER_VECTORS,
) -> None:
    """Entities, data sources, feature views, on-demand views and feature services from a Feast registry."""
    _ingest(ctx, "feast", {"repo_path": str(repo_path)}, str(repo_path), defer_vectors=defer_vectors)


@app.command()
def sources() -> None:
    """List the source systems the memory can ingest, and why any is unavailable."""
    from memory.service import list_sources

    for name, error in list_sources().items():
        state = f"[red]unavailable[/]: {error}" if error else "[green]available[/]"
        console.print(f"{name:12} {state}")


@app.command()
def search(
    ctx: typer.Context,
    text: str = typer.Argument(..., help="What to look for, in plain words."),
    project: List[str] = typer.Option([], "--project", "-p", help="Only these projects (repeatable)."),
    kind: List[str] = typer.Option([], "--kind", "-k", help="Only these node kinds: run, model_version, … (repeatable)."),
    source: List[str] = typer.Option([], "--source", help="Only these source systems, e.g. mlflow."),
    person: List[str] = typer.Option([], "--person", help="Only work by these people."),
    since: Optional[str] = typer.Option(None, "--since", help="Only from this date on (YYYY-MM-DD)."),
    until: Optional[str] = typer.Option(None, "--until", help="Only before this date."),
    where: Optional[str] = typer.Option(None, "--where", "-w", help="Filter, e.g. \"metric.val_auc > 0.8 and param.optimizer = adam\"."),
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=1000, help="Number of results."),
    group: bool = typer.Option(True, "--group/--no-group", help="Fold the runs of one swept idea into one result."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable hits."),
) -> None:
    """Hybrid (BM25 + embedding) search over every experiment, model and dataset."""
    with errors():
        query_since, query_until = parse_when(since, "--since"), parse_when(until, "--until")
    with service(ctx) as svc:
        query = svc.build_query(
            text, projects=project, kinds=kind, sources=source, people=person, since=query_since,
            until=query_until, where=where, limit=limit, group=group,
        )
        result = svc.search(query)
    if as_json:
        print(json.dumps({"query": text, "count": len(result.hits), "confidence": result.confidence,
                          "hits": [h.to_dict() for h in result.hits]}, indent=2))
        return
    if not result.hits:
        console.print("No results. Try fewer filters or other words; `xmem stats` shows what the memory holds.")
        return
    if result.confidence < NOBODY_BELOW:
        console.print(f"[yellow]No result matches all of “{text}” (confidence {result.confidence:.0%}): "
                      "these are the closest.[/]")
    console.print(render.search_table(result))


@app.command()
def ask(
    ctx: typer.Context,
    question: str = typer.Argument(..., help='A question, e.g. "has anyone tried mixup on churn since March?"'),
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=100, help="Number of results."),
    as_json: bool = typer.Option(False, "--json", help="Print the parsed query, summary and hits as JSON."),
) -> None:
    """Ask in plain language; the parsed filters are shown so you learn them."""
    with service(ctx) as svc:
        answer = svc.ask(question, limit=limit)
    if as_json:
        parsed = answer.parsed
        print(json.dumps({
            "question": question, "intent": parsed.intent, "text": parsed.text, "chips": parsed.chips(),
            "summary": answer.summary, "notes": answer.notes, "nobody_tried": answer.nobody_tried,
            "confidence": answer.confidence, "hits": [h.to_dict() for h in answer.hits],
            "closest": [h.to_dict() for h in answer.closest],
            "digest": answer.digest.to_dict() if answer.digest is not None else None,
        }, indent=2, default=str))
        return
    for part in render.answer_parts(answer):
        console.print(part)
    if answer.digest is not None:
        from rich.markdown import Markdown

        from memory.digest_render import render_digest

        console.print(Markdown(render_digest(answer.digest, "markdown")))


@app.command()
def show(
    ctx: typer.Context,
    urn: str = typer.Argument(..., help="The node's URN (from search results)."),
    as_json: bool = typer.Option(False, "--json", help="Print the node as JSON."),
) -> None:
    """A node with its params, metrics, tags, neighbours and lifecycle events."""
    with service(ctx) as svc:
        view = svc.show(urn)
    if as_json:
        print(json.dumps({
            "node": view.node.model_dump(mode="json"),
            "neighbours": [{"edge": e.model_dump(mode="json"), "node": n.urn} for e, n in view.neighbours],
            "events": [e.model_dump(mode="json") for e in view.events],
        }, indent=2))
        return
    for part in render.node_view(view):
        console.print(part)


@app.command()
def lineage(
    ctx: typer.Context,
    urn: str = typer.Argument(..., help="Where to start."),
    up: bool = typer.Option(False, "--up", help="What it was made from (default)."),
    down: bool = typer.Option(False, "--down", help="What was made from it."),
    depth: int = typer.Option(5, "--depth", "-d", min=1, max=50, help="How many hops."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="The graph as it was at this moment (ISO date/time)."),
    as_json: bool = typer.Option(False, "--json", help="Print nodes and edges as JSON."),
) -> None:
    """The lineage subgraph of a node, upstream or downstream."""
    if up and down:
        err_console.print("[red]error:[/] choose one of --up and --down")
        raise typer.Exit(2)
    with errors():
        moment = parse_when(as_of, "--as-of")
    with service(ctx) as svc:
        graph = svc.lineage(urn, direction="down" if down else "up", depth=depth, as_of=moment)
    if as_json:
        print(json.dumps({
            "root": graph.root,
            "direction": graph.direction,
            "nodes": [{**n.model_dump(mode="json"), "depth": graph.depth_of.get(u)} for u, n in sorted(graph.nodes.items())],
            "edges": [e.model_dump(mode="json") for e in graph.edges],
        }, indent=2))
        return
    console.print(render.lineage_tree(graph))


WHY_FORMATS = FORMATS  # text, markdown, json, html, mermaid, dot; diff takes the first four


def _check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        err_console.print(f"[red]error:[/] unknown --format {fmt!r} — use one of {', '.join(allowed)}")
        raise typer.Exit(2)


@app.command()
def why(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="MODEL@production, MODEL@alias, MODEL/vN or a model-version URN."),
    at: Optional[str] = typer.Option(None, "--at", help="The version that held the stage/alias then, and its lineage as of then."),
    against: str = typer.Option("previous-good", "--against", help="previous-good (the last version that held the same "
                                "stage/alias before this one) or a model reference."),
    depth: int = typer.Option(6, "--depth", "-d", min=1, max=50, help="How many hops upstream."),
    fmt: str = typer.Option("text", "--format", "-f", help="text, markdown, json, html, mermaid or dot."),
) -> None:
    """Why did this model fail? Its upstream lineage as of a moment and what changed against the last good version."""
    _check_format(fmt, WHY_FORMATS)
    with errors():
        moment = parse_when(at, "--at")
    with service(ctx) as svc:
        report = svc.why(ref, at=moment, against=against, depth=depth)
    if fmt == "text":
        for part in render.why_parts(report):
            console.print(part)
        return
    sys.stdout.write(render_why(report, fmt))


@app.command()
def diff(
    ctx: typer.Context,
    a: str = typer.Argument(..., help="The baseline model version (MODEL/vN, MODEL@alias or URN)."),
    b: str = typer.Argument(..., help="The model version to explain."),
    depth: int = typer.Option(6, "--depth", "-d", min=1, max=50, help="How many hops upstream."),
    at: Optional[str] = typer.Option(None, "--at", help="Both lineages as of this moment."),
    fmt: str = typer.Option("text", "--format", "-f", help="text, markdown, json or html."),
) -> None:
    """What changed from model version A to B (params, code, data, schema, upstream runs, metrics), ranked."""
    _check_format(fmt, WHY_FORMATS[:4])
    with errors():
        moment = parse_when(at, "--at")
    with service(ctx) as svc:
        result = svc.diff(a, b, depth=depth, at=moment)
    if fmt == "text":
        for part in render.diff_parts(result):
            console.print(part)
        return
    sys.stdout.write(render_diff(result, fmt))


@app.command()
def stats(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Counts per kind and source, index size and backlog, last sync per source."""
    with service(ctx) as svc:
        figures = svc.stats()
    if as_json:
        print(json.dumps({
            "nodes": [{"kind": k, "source": s, "count": n} for (k, s), n in sorted(figures.store.nodes_by_kind_and_system.items())],
            "edges": figures.store.edges,
            "events": figures.store.events,
            "tombstones": figures.store.deleted,
            "index_backend": figures.index_backend,
            "indexed_documents": figures.indexed_documents,
            "index_bytes": figures.index_bytes,
            "index_error": figures.index_error,
            "index_backlog": figures.store.index_backlog,
            "vectors_pending": figures.vectors_pending,
            "vector_model": figures.vector_model,
            "sources": [{"source": s.source_key, "last_sync_at": s.last_sync_at.isoformat() if s.last_sync_at else None,
                         "last_report": s.last_report} for s in figures.store.syncs],
        }, indent=2, default=str))
        return
    for table in render.stats_tables(figures):
        console.print(table)


@app.command()
def reindex(
    ctx: typer.Context,
    to: Optional[str] = typer.Option(None, "--to", help="Rebuild into this backend: embedded or elasticsearch (default: the configured one)."),
    pending: bool = typer.Option(
        False, "--pending",
        help="Only the backlogs: queued documents (e.g. after the index was down) and documents without vectors "
        "(`--defer-vectors`, or a new embedding model).",
    ),
) -> None:
    """Rebuild the search index from the graph, then embed every document without a vector (unchanged
    texts reuse their cached embeddings)."""
    if to is not None:
        if to not in ("embedded", "elasticsearch"):
            err_console.print(f"[red]error:[/] unknown backend {to!r} — use embedded or elasticsearch")
            raise typer.Exit(2)
        ctx.obj = ctx.obj.model_copy(update={"search_backend": to})
    with service(ctx) as svc, progress_bar(err_console) as progress:
        documents = RateTracker(progress, f"index into {svc.index.name}: documents + BM25", svc.stats().store.index_backlog
                                if pending else None)
        written = svc.reindex(pending_only=pending, on_progress=lambda _w, n: documents.update(n), vectors=False)
        documents.update(written, written)
        vectors = RateTracker(progress, "vectors", svc.vector_backlog())
        left = svc.embed_pending(on_progress=vectors.update)
    console.print(f"Indexed {written:,} documents into the {to or ctx.obj.search_backend} index"
                  + (f"; {left:,} still without a vector." if left else "; every document has its vector."))


@app.command()
def migrate(
    ctx: typer.Context,
    to: str = typer.Option(..., "--to", help="SQLAlchemy URL of an empty database, e.g. postgresql+psycopg://user@host/xmem."),
) -> None:
    """Copy the graph into another database (e.g. SQLite → PostgreSQL), verified by row counts and a checksum."""
    with service(ctx) as svc, progress_bar(err_console) as progress:
        tasks: dict[str, object] = {}

        def on_progress(table: str, rows: int) -> None:
            if table not in tasks:
                tasks[table] = RateTracker(progress, f"copy {table}")
            tasks[table].update(rows)  # type: ignore[attr-defined]

        result = svc.migrate_to(to, on_progress=on_progress)
    counts = ", ".join(f"{table} {rows:,}" for table, rows in result.rows.items())
    console.print(f"Migrated: {counts}. Row counts match; checksum {result.checksum[:16]} matches.")
    console.print("Point XMEM_DATABASE_URL at the new database to use it.")


@app.command()
def demo(
    ctx: typer.Context,
    port: int = typer.Option(5055, "--port", help="Port of the demo MLflow tracking server (loopback)."),
    scale: float = typer.Option(1.0, "--scale", min=0.05, max=20, help="Multiply the number of demo runs."),
    seed: int = typer.Option(7, "--seed", help="Random seed (the demo is deterministic)."),
    serve: bool = typer.Option(False, "--serve/--no-serve", help="Then serve the API, the app and the MLflow UI until Ctrl-C."),
    api_port: int = typer.Option(8765, "--api-port", help="Port of the API when serving (loopback)."),
    ui_port: int = typer.Option(8501, "--ui-port", help="Port of the Streamlit app when serving (loopback)."),
) -> None:
    """Build a realistic demo organization in a local MLflow server, ingest it, and optionally serve it."""
    from memory.demo.runner import run_demo

    with errors():
        run_demo(ctx.obj, port=port, scale=scale, seed=seed, serve=serve, console=console, api_port=api_port,
                 ui_port=ui_port)


@app.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    anonymous: bool = typer.Option(
        False, "--anonymous", help="Answer requests without a token (read scope, every project): for one's own machine."
    ),
    workers: int = typer.Option(
        1, "--workers", min=1, max=64,
        help="Worker processes (each loads the embedding model); more than one needs PostgreSQL and Elasticsearch.",
    ),
) -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    import uvicorn

    from memory.api import create_app

    settings = ctx.obj.model_copy(update={"api_allow_anonymous": True}) if anonymous else ctx.obj
    if settings.api_allow_anonymous and host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print("[red]error:[/] anonymous access is only allowed on loopback; create tokens with `xmem token create`")
        raise typer.Exit(2)
    shared = settings.search_backend == "elasticsearch" and not settings.resolved_database_url.startswith("sqlite")
    if workers > 1 and not shared:
        err_console.print(
            "[red]error:[/] several workers need a store and an index they can share: set XMEM_DATABASE_URL to "
            "PostgreSQL and XMEM_SEARCH_BACKEND=elasticsearch (the embedded memory is served by one process)"
        )
        raise typer.Exit(2)
    with errors():
        console.print(f"Experiment Memory API on http://{host}:{port} (docs at /docs)"
                      + (f", {workers} worker processes" if workers > 1 else ""))
        if workers == 1:
            uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
            return
        os.environ.update(settings_environment(settings))  # each worker process rebuilds the same settings
        uvicorn.run("memory.api.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                    log_level="warning")


@app.command("ui")
def ui_command(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback only: the app has no login)."),
    port: int = typer.Option(8501, "--port", help="Port to listen on."),
    api: Optional[str] = typer.Option(None, "--api", help="Use a running API (`xmem serve`) at this URL instead of "
                                      "the embedded memory, e.g. http://memory.internal:8765."),
    token: Optional[str] = typer.Option(None, "--token", envvar="XMEM_API_TOKEN", show_envvar=True,
                                        help="The API token for --api (scope read); better given as XMEM_API_TOKEN."),
) -> None:
    """Open the Streamlit app: ask, node pages with charts, compare runs, lineage graph as of any moment.

    It reads the embedded memory in-process, or with --api a running API as the token (its projects only)."""
    import signal

    from ui.app import launch

    with errors():
        process = launch.start(ctx.obj, host=host, port=port, api=api, token=token)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a plain `kill` stops the app's server too
        try:
            launch.wait_until_ready(process, f"http://{host}:{port}")
            over = f"the API at {api}" if api else str(ctx.obj.home)
            console.print(f"Experiment Memory app at http://{host}:{port} over {over}; press Ctrl-C to stop.")
            process.wait()
        except KeyboardInterrupt:
            pass
        finally:
            launch.stop(process)


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Who or what the token is for."),
    scopes: str = typer.Option("read", "--scopes", help="Comma-separated: read, ingest, admin."),
    projects: Optional[str] = typer.Option(None, "--projects", help="Comma-separated projects it may see (default: all)."),
) -> None:
    """Create a token; its secret is printed once and only its hash is stored."""
    with service(ctx) as svc:
        token, stored = svc.create_token(
            name, [s.strip() for s in scopes.split(",") if s.strip()],
            [p.strip() for p in projects.split(",") if p.strip()] if projects else None,
        )
    console.print(f"Token {stored.id} for {name!r}: scopes {', '.join(sorted(s.value for s in stored.scopes))}; "
                  f"projects {', '.join(sorted(stored.projects)) if stored.projects is not None else 'all'}")
    console.print("Keep it now, it is not shown again:")
    print(token)


@token_app.command("list")
def token_list(ctx: typer.Context) -> None:
    """Tokens with their scopes, projects and state."""
    from rich.table import Table

    with service(ctx) as svc:
        tokens = svc.list_tokens()
    table = Table("id", "name", "scopes", "projects", "created", "state")
    for t in tokens:
        table.add_row(t.id, t.name, ",".join(sorted(s.value for s in t.scopes)),
                      ",".join(sorted(t.projects)) if t.projects is not None else "all",
                      t.created_at.strftime("%Y-%m-%d"), "revoked" if t.revoked_at else "active")
    console.print(table)


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, token_id: str = typer.Argument(..., help="The token id from `xmem token list`.")) -> None:
    """Revoke a token: it stops working at once."""
    with service(ctx) as svc:
        revoked = svc.revoke_token(token_id)
    console.print(f"Revoked token {revoked.id} ({revoked.name}).")


from memory.cli import digesting  # noqa: E402  (registers `xmem digest` and `xmem similar` on the app above)

digesting.register(app, service=service, errors=errors, parse_when=parse_when, console=console, err_console=err_console)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
