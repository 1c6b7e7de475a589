"""``xmem digest`` (once, or on a weekly schedule) and ``xmem similar``."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from memory.digest import Digest, last_full_week, parse_week
from memory.digest_render import FORMATS, render_digest
from memory.errors import InvalidConfig, InvalidQuery
from memory.schedule import Weekly, run_every
from memory.service import MemoryService

DIGEST_HELP = """What did we learn? The learning digest of a week (default: last week) or a period.

Per project: the ideas tried (sweeps folded), what improved the best known result and by how much,
registry promotions and demotions, failed runs with their notes, runs that repeat earlier experiments
(with the earlier result), open threads; overall: the totals and the pipeline runs that failed.

With --every monday-09:00 it keeps running and makes last week's digest at each fire time (UTC),
posting it with --post-to-slack / --slack-channel and/or writing --out. The cron equivalent of
that schedule is `0 9 * * 1 xmem digest --post-to-slack URL`.
"""


def register(app: typer.Typer, *, service: Callable[[typer.Context], Any], errors: Callable[[], Any],
             parse_when: Callable[[Optional[str], str], Optional[datetime]], console: Console, err_console: Console) -> None:
    """Add the commands to the ``xmem`` app (helpers passed in to keep one way of opening the memory)."""

    @app.command(help=DIGEST_HELP)
    def digest(
        ctx: typer.Context,
        week: Optional[str] = typer.Option(None, "--week", help="An ISO week, e.g. 2026-W47 (default: last week)."),
        since: Optional[str] = typer.Option(None, "--since", help="Start of the period (YYYY-MM-DD or ISO time), instead of --week."),
        until: Optional[str] = typer.Option(None, "--until", help="End of the period, exclusive (default: now)."),
        project: List[str] = typer.Option([], "--project", "-p", help="Only these projects (repeatable)."),
        fmt: str = typer.Option("markdown", "--format", "-f", help="markdown, html, slack (Block Kit JSON) or json."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file instead of printing."),
        webhook: Optional[str] = typer.Option(None, "--post-to-slack", metavar="WEBHOOK_URL",
                                              help="Also post it to a Slack incoming webhook."),
        channel: Optional[str] = typer.Option(None, "--slack-channel", help="Also post it as the bot (XMEM_SLACK_BOT_TOKEN) "
                                              "to this channel id; only projects the channel may see (XMEM_SLACK_ACCESS)."),
        every: Optional[str] = typer.Option(None, "--every", help="Keep running: make last week's digest every DAY-HH:MM "
                                            "(UTC), e.g. monday-09:00."),
        repeats: bool = typer.Option(True, "--repeats/--no-repeats", help="Look for runs repeating earlier experiments."),
    ) -> None:
        if fmt not in FORMATS:
            err_console.print(f"[red]error:[/] unknown --format {fmt!r} — use one of {', '.join(FORMATS)}")
            raise typer.Exit(2)
        with errors():
            if week and (since or until):
                raise InvalidQuery("give either --week or --since/--until, not both")
            if until and not since:
                raise InvalidQuery("--until needs --since", hint="e.g. --since 2026-11-16 --until 2026-11-23")
            schedule = Weekly.parse(every) if every else None
            if schedule and (week or since):
                raise InvalidQuery("--every makes last week's digest at each fire time; leave out --week/--since")
            fixed = parse_week(week) if week else None
            start_at, end_at = parse_when(since, "--since"), parse_when(until, "--until")
        with service(ctx) as svc:
            def make(now: datetime) -> None:
                if fixed:
                    period = fixed
                elif start_at:
                    period = (start_at, end_at or now)
                else:
                    period = last_full_week(now)
                result = _digest(svc, period, project, repeats, now, channel, ctx, err_console)
                _deliver(result, fmt, out, webhook, channel, ctx, svc, console, err_console)

            if schedule is None:
                make(datetime.now(timezone.utc))
                return
            err_console.print(f"Making the digest every {every} UTC (cron: `{schedule.cron()} xmem digest …`); "
                              f"next at {schedule.next_after(datetime.now(timezone.utc)):%Y-%m-%d %H:%M} UTC. Ctrl-C stops.")

            def failed(at: datetime, exc: Exception) -> None:
                err_console.print(f"[red]error:[/] the digest of {at:%Y-%m-%d %H:%M} failed: {exc}; trying again next time")

            try:
                run_every(schedule, make, clock=lambda: datetime.now(timezone.utc), sleep=time.sleep, on_error=failed)
            except KeyboardInterrupt:
                err_console.print("Stopped.")

    @app.command()
    def similar(
        ctx: typer.Context,
        urn: Optional[str] = typer.Argument(None, help="A run's URN (from `xmem search --kind run`)."),
        config: Optional[Path] = typer.Option(None, "--config", help='A planned run as JSON (- for stdin): {"project", '
                                              '"name", "params", "dataset", "notes", "tags"}.'),
        limit: int = typer.Option(5, "--limit", "-n", min=1, max=50, help="Number of earlier runs."),
        as_json: bool = typer.Option(False, "--json", help="Print the matches as JSON (the API's shape)."),
    ) -> None:
        """Has this been tried before? The earlier runs most like a run (or a planned config), by params, data and text."""
        if (urn is None) == (config is None):
            err_console.print("[red]error:[/] give a run URN or --config FILE (one of them)")
            raise typer.Exit(2)
        with errors():
            planned = _read_config(config) if config is not None else None
        with service(ctx) as svc:
            result = svc.similar_to_config(planned, limit=limit) if planned is not None else svc.similar(urn, limit=limit)
        if as_json:
            from memory.api.convert import similar_public  # the API's response model, one shape everywhere

            print(similar_public(result).model_dump_json(indent=2))
            return
        run = result.run
        console.print(f"[bold]{run.name}[/] {run.project or ''} — {run.describe_outcome()}", highlight=False)
        if not result.matches:
            console.print("No earlier run looks like it.")
            return
        for match in result.matches:
            e = match.earlier
            facts = ", ".join(x for x in (e.project, f"{e.time:%Y-%m-%d}" if e.time else None,
                                          f"team {e.team}" if e.team else e.person) if x)
            mark = "[bold yellow]repeat[/]" if match.is_repeat else "      "
            console.print(f"{match.score:.2f} {mark} [bold]{escape(e.name)}[/] ({escape(facts)})", highlight=False)
            console.print(f"            {escape(e.describe_outcome())}", highlight=False)
            console.print(f"            [dim]{escape(match.reasons())}[/]", highlight=False)
            console.print(f"            [dim]{escape(e.urn)}[/]" + (f" [link={e.source_url}]open[/]" if e.source_url else ""),
                          highlight=False, soft_wrap=True)


def _read_config(path: Path) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
    except OSError as exc:
        raise InvalidConfig(f"cannot read {path}: {exc.strerror}") from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidQuery(f"{path}: not JSON: {exc}") from None
    return value


def _digest(svc: MemoryService, period: tuple[datetime, datetime], projects: List[str], repeats: bool, now: datetime,
            channel: Optional[str], ctx: typer.Context, err_console: Console) -> Digest:
    principal = _channel_principal(ctx, channel) if channel else None
    kwargs = {"principal": principal} if principal is not None else {}
    with err_console.status(f"Making the digest of {period[0]:%Y-%m-%d} – {(period[1] - timedelta(seconds=1)):%Y-%m-%d}…") as status:
        def progress(what: str, count: int) -> None:
            status.update(f"Making the digest: {count:,} {what}")

        return svc.digest(period[0], period[1], projects=projects, now=now, repeats=repeats, on_progress=progress, **kwargs)


def _channel_principal(ctx: typer.Context, channel: str) -> Any:
    """What the channel may see, from the Slack access file: a digest posted there shows nothing more."""
    from ui.slack.access import SlackAccess

    settings = ctx.obj
    if settings.slack_access is None:
        raise InvalidConfig("--slack-channel needs XMEM_SLACK_ACCESS (which projects the channel may see)")
    principal = SlackAccess.load(settings.slack_access).principal_for(team=None, channel=channel, user=None, public=True)
    if principal is None:
        raise InvalidConfig(f"channel {channel} is not in the Slack access file {settings.slack_access}",
                            hint="add it to a [[principal]] rule's channels")
    return principal


def _deliver(result: Digest, fmt: str, out: Optional[Path], webhook: Optional[str], channel: Optional[str],
             ctx: typer.Context, svc: MemoryService, console: Console, err_console: Console) -> None:
    text = render_digest(result, fmt)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        err_console.print(f"Wrote {result.title} to {out}.")
    elif not (webhook or channel):
        sys.stdout.write(text)
    if webhook:
        from ui.slack.posting import post_webhook

        post_webhook(webhook, result)
        err_console.print(f"Posted {result.title} to the Slack webhook.")
    if channel:
        from ui.slack.posting import bot_client, post_to_channel

        ts = post_to_channel(bot_client(ctx.obj), channel, result)
        err_console.print(f"Posted {result.title} to {channel} (message {ts}).")

