"""`dispatch`, `letters list`, `letters mark-posted`, `demo` and `run`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.cli import texts as t
from bot.cli.common import (
    JSON_HELP,
    app,
    echo_console,
    emit_json,
    fail,
    lang,
    lazy,
    letters_app,
    local_iso,
    out,
    print_rows,
    refuse,
    run,
    say,
    settings,
    stop_on_signals,
)
from bot.cli.reports import leadership_warnings, warn
from bot.errors import KlasbotError

if TYPE_CHECKING:
    import asyncio

    from bot import bootstrap
    from bot.dispatch.loop import RoundStats, Runner, run_round
    from bot.usecases import queries
else:  # imported when a command runs: `--help` needs neither the dispatcher nor the use cases
    asyncio = lazy("asyncio")
    Runner = lazy("bot.dispatch.loop", "Runner")
    run_round = lazy("bot.dispatch.loop", "run_round")
    queries = lazy("bot.usecases.queries")


@app.command("dispatch")
def dispatch(
    once: bool = typer.Option(
        False, "--once", help="Fire what is due, run the daily sweep, deliver, then exit."
    ),
) -> None:
    """Fire every scheduled message that is due, run the daily sweep when it is due, then
    deliver what is due (the outbox)."""

    async def go(a: bootstrap.App) -> RoundStats | None:
        if once:
            return await run_round(a.ctx, a.dispatcher)
        await Runner(
            a.ctx, a.dispatcher, poll_interval=a.settings.dispatch.poll_interval
        ).run_forever(stop_on_signals())
        return None

    result = run(go, console_echo=echo_console, connect="send")
    if result is not None:
        if result.fired.total:
            say(
                t.M_FIRED,
                fired=result.fired.fired,
                missed=result.fired.missed,
                refused=result.fired.refused,
            )
        swept = result.swept
        if swept.ran:
            say(
                t.M_SWEPT,
                invites=swept.birthday_invites,
                reports=swept.expired_reports,
                groups=swept.archived_groups,
            )
        stats = result.delivered
        say(
            t.M_DISPATCHED,
            sent=stats.sent,
            notices=stats.notices,
            letters=stats.letters,
            retried=stats.retried,
            rerouted=stats.rerouted,
            failed=stats.failed,
            held=stats.held,
            waiting=stats.waiting,
        )


@letters_app.command("list")
def letters_list(
    show_all: bool = typer.Option(False, "--all", help="Also letters already posted."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Letters the office must print and post: announcements, invitations and every other letter."""

    async def go(a: bootstrap.App) -> Any:
        return await queries.letters(a.ctx, show_all=show_all)

    rows = [
        {
            "key": x.key,
            "recipient": x.recipient_name,
            "address": x.address,
            "path": x.path,
            "pupils": list(x.pupils),
            "announcements": list(x.announcements),
            "notices": list(x.notices),
            "created_at": local_iso(x.created_at),
            "posted_at": local_iso(x.posted_at),
        }
        for x in run(go)
    ]
    if as_json:
        emit_json(rows)
        return
    print_rows(
        (t.H_KEY, t.H_RECIPIENT, t.H_ADDRESS, t.H_PDF, t.H_POSTED),
        [(r["key"], r["recipient"], r["address"], r["path"], r["posted_at"] or "") for r in rows],
        whole=(0,),  # the key, as `letters mark-posted` takes it
    )


@letters_app.command("mark-posted")
def letters_mark_posted(
    keys: list[str] = typer.Argument(None, help="Letter keys from `letters list`.", metavar="KEY"),
    all_letters: bool = typer.Option(False, "--all", help="Every letter not yet posted."),
) -> None:
    """Record letters as posted; their deliveries become `sent`."""
    settings()
    if not keys and not all_letters:
        refuse(t.M_NAME_LETTERS)

    async def go(a: bootstrap.App) -> Any:
        return await queries.mark_posted(a.ctx, list(keys or []), every=all_letters)

    unknown, done = run(go)
    if unknown:
        refuse(t.M_UNKNOWN_LETTERS, keys=", ".join(unknown))
    say(t.M_MARKED_POSTED, count=len(done))


@app.command("demo")
def demo(
    script: Path | None = typer.Option(
        None,
        "--script",
        metavar="FILE",
        help="Replay lines `SPEAKER: message` and print the transcript.",
    ),
) -> None:
    """An interactive chat in the terminal with the bundled demo school."""
    from bot.demo import run_demo

    config = settings()
    if script is not None and not script.is_file():
        refuse(t.M_NO_SUCH_FILE, path=script)
    try:
        code = asyncio.run(run_demo(config, script=script, console=out))
    except KlasbotError as exc:
        fail(exc.render(lang()))
    raise typer.Exit(code)


@app.command("run")
def run_bot() -> None:
    """The long-running bot: the dispatcher and every configured platform."""

    async def go(a: bootstrap.App) -> None:
        from adapters.timer import ApschedulerTimer

        stop = stop_on_signals()
        say(t.M_RUNNING, platforms=", ".join(sorted(a.platforms)))
        warn(await leadership_warnings(a.ctx, log_level=logging.WARNING))
        async with ApschedulerTimer(a.clock) as timer:
            runner = Runner(
                a.ctx, a.dispatcher, timer, poll_interval=a.settings.dispatch.poll_interval
            )
            await runner.run_forever(stop)
        say(t.M_STOPPED)

    run(go, console_echo=echo_console, connect="receive")
