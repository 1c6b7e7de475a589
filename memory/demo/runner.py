"""`xmem demo`: a local MLflow server holding the demo organization, ingested into the memory."""

from __future__ import annotations

import os
import shlex
import shutil
import time

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from memory.cli.ingesting import run_ingest
from memory.demo import data_sources
from memory.demo.mlflow_server import MlflowServer
from memory.demo.mlflow_writer import quiet_mlflow, write_organization
from memory.demo.org import Organization, generate_organization
from memory.errors import NotFound, SourceUnavailable, XmemError
from memory.service import MemoryService
from memory.settings import Settings, default_home

#: what is already on the tracking server
MISSING, COMPLETE, INCOMPLETE = "missing", "complete", "incomplete"


def run_demo(
    settings: Settings, *, port: int, scale: float, seed: int, serve: bool, console: Console, api_port: int = 8765,
    ui_port: int = 8501,
) -> None:
    """Start (or reuse) the demo MLflow server, write the organization once, ingest it, show what to try."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # the demo never phones home
    org = generate_organization(seed=seed, scale=scale)
    folder = settings.home / "demo-mlflow"
    server = MlflowServer(folder, port)
    reused = server.healthy()
    if reused:
        if _store_state(server.url, org) == MISSING:
            raise SourceUnavailable(
                f"port {port} is already serving something that is not the demo MLflow server", hint="choose another --port"
            )
        console.print(f"Reusing the MLflow server already running at {server.url}.")
    else:
        _start(server, console)
    try:
        state = _store_state(server.url, org)
        if state == INCOMPLETE:
            if reused:
                raise SourceUnavailable(
                    f"the MLflow server at {server.url} holds an incomplete or different demo organization",
                    hint="stop it, or choose another --port",
                )
            console.print(f"[yellow]The demo store in {folder} is incomplete or was written with other settings; rebuilding it.[/]")
            server.stop()
            shutil.rmtree(folder)
            _start(server, console)
            state = MISSING
        if state == MISSING:
            _write(org, server.url, console)
        else:
            console.print(f"The demo organization is already in MLflow ({org.run_count:,} runs): not writing it again.")

        world = _data_world(server.url, settings.home / "demo-data", console)
        with MemoryService(settings) as svc:
            run_ingest(svc, "mlflow", {"tracking_uri": server.url}, server.url, console=console)
            run_ingest(svc, "dvc", {"repo_path": str(world.dvc_repo), "project": data_sources.PROJECT},
                       str(world.dvc_repo), console=console)
            run_ingest(svc, "delta", {"table_uri": str(world.delta_table), "project": data_sources.PROJECT},
                       str(world.delta_table), console=console)
            run_ingest(svc, "feast", {"repo_path": str(world.feast_repo)}, str(world.feast_repo), console=console)
            _print_examples(svc, org, server.url, settings, console)
        if serve:
            _serve(server, settings, api_port, console, ui_port)
        elif reused:
            console.print(f"The MLflow server at {server.url} was already running; it keeps running.")
        else:
            console.print(f"Stopping the MLflow server now; add --serve to keep its UI at {server.url} running.")
    finally:
        server.stop()  # a reused server was not started here and keeps running


def _start(server: MlflowServer, console: Console) -> None:
    with console.status(f"Starting an MLflow tracking server on {server.url} (store: {server.folder}); this takes ~20 s"):
        began = time.perf_counter()
        server.start()
    console.print(f"MLflow tracking server up at {server.url} in {time.perf_counter() - began:.0f} s.")


def _store_state(url: str, org: Organization) -> str:
    """MISSING (no demo experiment), COMPLETE (the same experiments, runs of the first one, model versions) or INCOMPLETE."""
    retries = os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES")
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "1"  # a wrong server should fail fast, not after minutes
    try:
        with quiet_mlflow():
            from mlflow.entities import ViewType
            from mlflow.tracking import MlflowClient

            client = MlflowClient(tracking_uri=url, registry_uri=url)
            try:
                first = client.get_experiment_by_name(org.projects[0].name)
                if first is None:
                    return MISSING
                if any(client.get_experiment_by_name(p.name) is None for p in org.projects[1:]):
                    return INCOMPLETE
                runs, token = 0, None
                while True:
                    page = client.search_runs([first.experiment_id], run_view_type=ViewType.ALL, max_results=1000, page_token=token)
                    runs, token = runs + len(page), page.token
                    if not token:
                        break
                if runs != len(org.projects[0].runs):
                    return INCOMPLETE
                for model in org.models:
                    if len(client.search_model_versions(filter_string=f"name = '{model.name}'")) != len(model.versions):
                        return INCOMPLETE
            except Exception:  # not an MLflow server, or an error page: nothing we can use
                return MISSING
        return COMPLETE
    finally:
        if retries is None:
            os.environ.pop("MLFLOW_HTTP_REQUEST_MAX_RETRIES", None)
        else:
            os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = retries


def _write(org: Organization, url: str, console: Console) -> None:
    columns = (
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} runs"),
        TextColumn("[cyan]{task.fields[rate]}/s"),
        TimeElapsedColumn(),
    )
    began = time.perf_counter()
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("log demo runs to MLflow", total=org.run_count, rate="0")

        def on_run(count: int) -> None:
            rate = count / max(time.perf_counter() - began, 1e-6)
            progress.update(task, completed=count, rate=f"{rate:,.0f}")

        counts = write_organization(org, url, on_run=on_run)
    console.print(
        f"Logged {counts['experiments']} experiments, {counts['runs']:,} runs, {counts['models']} registered models "
        f"and {counts['versions']} model versions in {time.perf_counter() - began:.0f} s."
    )


def _data_world(url: str, folder: "os.PathLike[str]", console: Console) -> data_sources.DataWorld:
    """The demo's DVC repository and Delta table, and the MLflow runs trained on them (built once)."""
    from pathlib import Path

    from mlflow.tracking import MlflowClient

    folder = Path(folder)
    world = data_sources.DataWorld(folder / "churn-pipeline", folder / "delta" / "customer_activity", folder / "feature_repo")
    with quiet_mlflow():
        logged = MlflowClient(tracking_uri=url).get_experiment_by_name(data_sources.PROJECT) is not None
        built = [world.dvc_repo / ".dvc", world.delta_table / "_delta_log", world.feast_repo / "data" / "registry.db"]
        if logged and all(p.exists() for p in built):
            console.print(f"The demo's DVC repository, Delta table and Feast repository are already in {folder}: "
                          "not building them again.")
            return world
        with console.status("Building the demo's DVC repository (git + dvc repro), Delta table and Feast repository "
                            "(feast apply); ~1 min"):
            began = time.perf_counter()
            world = data_sources.build_data_world(folder)
            if not logged:
                data_sources.log_training_runs(world, url)
        console.print(f"Built a DVC repository ({len(world.commits)} pipeline commits, {len(world.experiments)} experiments), "
                      f"a Delta table ({len(world.delta_versions)} versions) and a Feast repository in {folder} in "
                      f"{time.perf_counter() - began:.0f} s; their training runs are in MLflow.")
    return world


def _champion_urn(org: Organization, url: str) -> str | None:
    from ingest.mlflow.mapping import Urns, instance_of

    for model in org.models:
        for number, version in enumerate(model.versions, start=1):
            if "champion" in version.aliases:
                return Urns(instance_of(url)).model_version(model.name, str(number))
    return None


def _print_examples(svc: MemoryService, org: Organization, url: str, settings: Settings, console: Console) -> None:
    from ingest.mlflow.mapping import instance_of

    home = "" if settings.home.resolve() == default_home().resolve() else f" --home {shlex.quote(str(settings.home))}"
    xmem = f"xmem{home}"
    urn = _champion_urn(org, url)
    try:
        model_urn = svc.show(urn).node.urn if urn else None
    except NotFound:
        model_urn = None
    commands: list[tuple[str, str]] = [
        ("Sweeps fold into one hit; the outcome column compares with the project's baseline",
         f'{xmem} search "has anyone tried label smoothing"'),
        ("Only what beat the baseline, in one project", f'{xmem} search "graph features" --project fraud-detection --where "outcome = better"'),
    ]
    if model_urn:
        commands += [
            ("The production churn model: notes, stage and alias history, neighbours", f"{xmem} show {model_urn}"),
            ("Where it came from: the run, its dataset version and code commit", f"{xmem} lineage {model_urn} --up"),
        ]
    commands += [
        ("Across systems: MLflow model version → run → DVC data version → the commit that wrote it",
         f"{xmem} lineage mlflow://{instance_of(url)}/models/{data_sources.MODEL}/versions/4 --up --depth 8"),
        ("What changed since the last production version (schema, data, params, code), ranked",
         f"{xmem} why {data_sources.MODEL}@production"),
        ("What the memory holds", f"{xmem} stats"),
    ]
    console.print("\n[bold]Try:[/]")
    for what, command in commands:
        console.print(f"  [dim]# {what}[/]")
        console.print(f"  {command}", highlight=False, soft_wrap=True)
    console.print(f"\nMLflow UI of the demo organization: {url}")


def _serve(server: MlflowServer, settings: Settings, api_port: int, console: Console, ui_port: int = 8501) -> None:
    """Serve the memory's HTTP API (anonymous, loopback only) and the app until Ctrl-C; the caller stops MLflow."""
    import uvicorn

    from memory.api import create_app

    local = settings.model_copy(update={"api_allow_anonymous": True})
    app = _start_app(settings, ui_port, console)
    try:
        console.print(
            f"Serving the Experiment Memory API at http://127.0.0.1:{api_port} (docs: /docs)"
            + (f", the app at http://127.0.0.1:{ui_port}" if app else "")
            + f" and the MLflow UI at {server.url}; press Ctrl-C to stop."
        )
        uvicorn.run(create_app(local), host="127.0.0.1", port=api_port, log_level="warning")
    finally:
        if app is not None:
            from ui.app import launch

            launch.stop(app)
    console.print("Stopped.")


def _start_app(settings: Settings, port: int, console: Console) -> object | None:
    """The Streamlit app over the same memory, in its own process; ``None`` (said why) when it cannot start."""
    try:
        from ui.app import launch

        process = launch.start(settings, port=port, log=settings.home / "app.log")
        try:
            launch.wait_until_ready(process, f"http://127.0.0.1:{port}")
        except XmemError:
            launch.stop(process)
            raise
        return process
    except (ImportError, XmemError) as exc:
        console.print(f"[yellow]The app is not served: {exc}[/] (see {settings.home / 'app.log'})")
        return None
