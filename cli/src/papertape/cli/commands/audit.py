"""``papertape audit``: verify, replay, export, republish and fork, straight from the event log."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import asyncpg
import msgspec
import nats.errors

from papertape.cli import endpoints
from papertape.cli.audit.exports import export_jsonl
from papertape.cli.audit.forks import ForkError, fork_account
from papertape.cli.audit.rebuilds import position_at, replay_account
from papertape.cli.audit.republishing import NoReplayStream, republish
from papertape.cli.audit.verification import AuditableLog, AuditReport, audit
from papertape.cli.backtests.logs import LogFileError, read_log
from papertape.cli.client import (
    PortfolioClient,
    PortfolioUnavailable,
    cli_actor,
    connected,
    timestamp_argument,
)
from papertape.cli.commands import Subparsers, add_json_option
from papertape.cli.output import fail, print_json, progress, stdout
from papertape.cli.statements import print_statement
from papertape.common.eventlog import Anchor
from papertape.common.eventlog.anchors import anchor_now, read_anchor_file, read_anchor_stream
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.codec import to_builtins
from papertape.contract.events.account import account_stream
from papertape.trading.account import reports


def register(subparsers: Subparsers) -> None:
    """Add ``audit`` and its subcommands."""
    parser = subparsers.add_parser(
        "audit",
        help="verify, replay, export, republish and fork the event log",
        description="Audit tools that read the event log directly (PostgreSQL).",
    )
    commands = parser.add_subparsers(title="audit commands", metavar="AUDIT", required=True)

    verify = commands.add_parser(
        "verify",
        help="hash chain, positions, versions, and projections against a replay",
        description="Exit 0 when everything checks out; 1 and the first bad position otherwise.",
    )
    endpoints.add_database_option(verify)
    _add_file_option(verify)
    endpoints.add_nats_options(verify)
    verify.add_argument("--no-live", action="store_true", help="skip the live portfolio check")
    verify.add_argument(
        "--anchor-file",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="check the log against the anchors in this file of JSON lines (repeatable)",
    )
    verify.add_argument(
        "--anchors-from-nats",
        action="store_true",
        help="check the log against every anchor in the ANCHORS stream",
    )
    verify.add_argument("--live-timeout", type=float, default=2.0, help="seconds (default 2)")
    add_json_option(verify, "print the report as JSON")
    verify.set_defaults(handler=_run(_verify))

    anchor = commands.add_parser(
        "anchor",
        help="publish the chain head (position, hash) to the ANCHORS stream now",
        description="Anchor the log's head outside the database, so audit verify can catch a "
        "rewritten tail; --file appends the anchor to a file of JSON lines too.",
    )
    anchor.add_argument("--file", type=Path, metavar="FILE", help="append the anchor here too")
    add_json_option(anchor, "print the anchor as JSON")
    endpoints.add_database_option(anchor)
    endpoints.add_nats_options(anchor)
    anchor.set_defaults(handler=_run(_anchor))

    replay = commands.add_parser(
        "replay",
        help="rebuild an account as of a global position or a time",
    )
    replay.add_argument("account", metavar="ACCOUNT")
    as_of = replay.add_mutually_exclusive_group()
    as_of.add_argument("--as-of-position", type=int, metavar="N")
    as_of.add_argument(
        "--as-of-time", type=timestamp_argument, metavar="ISO", help="e.g. 2025-01-31T16:00Z"
    )
    add_json_option(replay, "print the state as JSON")
    endpoints.add_database_option(replay)
    _add_file_option(replay)
    replay.set_defaults(handler=_run(_replay))

    export = commands.add_parser("export", help="events as JSON Lines (one envelope a line)")
    _add_selection(export)
    export.add_argument("--all", action="store_true", help="every stream (the default)")
    export.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    # The export is JSON Lines either way: --json is accepted for scripts that pass it to all.
    add_json_option(export, "JSON Lines (the only format of an export)")
    endpoints.add_database_option(export)
    export.set_defaults(handler=_run(_export_to_output))

    again = commands.add_parser(
        "republish",
        help="publish a range of the log to replay.<NAME> for a new subscriber",
        description="Core NATS by default (subscribe first); --jetstream publishes with acks and "
        "Nats-Msg-Id = event id to a stream the subscriber has created over the subject.",
    )
    again.add_argument("--subject-name", required=True, metavar="NAME")
    again.add_argument("--jetstream", action="store_true", help="publish to JetStream with acks")
    add_json_option(again, "print the subject and the count as JSON")
    _add_selection(again)
    endpoints.add_database_option(again)
    endpoints.add_nats_options(again)
    again.set_defaults(handler=_run(_republish))

    fork = commands.add_parser("fork", help="copy an account's history up to a position")
    fork.add_argument("account", metavar="ACCOUNT")
    fork.add_argument("--as-of-position", type=int, required=True, metavar="N")
    fork.add_argument("--into", required=True, metavar="NEW_ACCOUNT")
    add_json_option(fork, "print the new account, its events and positions as JSON")
    endpoints.add_database_option(fork)
    fork.set_defaults(handler=_run(_fork))


def _add_file_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--file",
        dest="log_file",
        type=Path,
        metavar="LOG.jsonl",
        help="a log file (audit export's JSON Lines, or a backtest's log) instead of the database",
    )


def _add_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stream", action="append", default=[], metavar="ID", help="repeatable")
    parser.add_argument(
        "--account", action="append", default=[], metavar="ID", help="an account's stream"
    )
    parser.add_argument("--from-position", type=int, default=1, metavar="N")
    parser.add_argument("--to-position", type=int, default=None, metavar="N")


def _streams(args: argparse.Namespace) -> list[str]:
    return [*args.stream, *(account_stream(a) for a in args.account)]


def _run(
    command: Callable[[argparse.Namespace], Coroutine[Any, Any, int]],
) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        try:
            return asyncio.run(command(args))
        except (
            OSError,
            asyncpg.PostgresError,
            nats.errors.Error,
            PortfolioUnavailable,
            ForkError,
            NoReplayStream,
            msgspec.DecodeError,
            LogFileError,
        ) as error:
            return fail(str(error) or type(error).__name__)

    return handle


@asynccontextmanager
async def _log(args: argparse.Namespace) -> AsyncIterator[AuditableLog]:
    """The log to audit: the file given with ``--file``, else the database."""
    if getattr(args, "log_file", None) is not None:
        yield read_log(args.log_file)
        return
    async with _database_log(args) as log:
        yield log


@asynccontextmanager
async def _database_log(args: argparse.Namespace) -> AsyncIterator[PostgresEventLog]:
    url = endpoints.database_url(args)
    try:
        log = await PostgresEventLog.connect(url, min_size=1, max_size=2, migrate=False)
    except (OSError, asyncpg.PostgresError) as error:
        raise OSError(f"cannot open the event log at {url}: {error}") from error
    try:
        yield log
    finally:
        await log.close()


async def _anchors(args: argparse.Namespace) -> list[Anchor]:
    """The anchors ``audit verify`` was given: from files, and from NATS when asked."""
    found = [anchor for path in args.anchor_file for anchor in read_anchor_file(path)]
    if args.anchors_from_nats:
        async with connected(endpoints.nats_url(args)) as nc:
            found += await read_anchor_stream(nc.jetstream(), endpoints.subjects(args))
    return found


async def _anchor(args: argparse.Namespace) -> int:
    async with _log(args) as log, connected(endpoints.operator_nats_url(args)) as nc:
        anchor = await anchor_now(log, nc.jetstream(), endpoints.subjects(args), args.file)
    if args.json:
        print_json(to_builtins(anchor))
    else:
        stdout().print(f"anchored position {anchor.position}: {anchor.hash}")
    return 0


async def _verify(args: argparse.Namespace) -> int:
    anchors = await _anchors(args)
    async with _log(args) as log:
        head = await log.head_position()
        if args.no_live or args.log_file is not None:
            with progress("verifying", head) as advance:
                report = await audit(log, advance, anchors=anchors)
        else:
            report = await _verify_with_live(args, log, head, anchors)
    if args.json:
        print_json({**to_builtins(report), "ok": report.ok})
    else:
        _print_report(report)
    return 0 if report.ok else 1


async def _verify_with_live(
    args: argparse.Namespace, log: AuditableLog, head: int, anchors: list[Anchor]
) -> AuditReport:
    url = endpoints.nats_url(args)
    try:
        async with connected(url, connect_timeout=args.live_timeout) as nc:
            client = PortfolioClient(nc, endpoints.subjects(args), timeout=args.live_timeout)
            with progress("verifying", head) as advance:
                return await audit(log, advance, client, anchors)
    except PortfolioUnavailable as error:
        with progress("verifying", head) as advance:
            report = await audit(log, advance, anchors=anchors)
        return msgspec.structs.replace(report, live_skipped=str(error))


def _print_report(report: AuditReport) -> None:
    out = stdout()
    chain = report.log
    out.print(f"log: {chain.checked} of {chain.head_position} events checked")
    if chain.anchors_checked:
        out.print(f"anchors checked: {chain.anchors_checked}")
    out.print(
        f"accounts: {report.accounts}, snapshots checked: {report.snapshots_checked}, "
        f"live summaries checked: {report.live_checked}"
    )
    if report.live_skipped:
        out.print(f"live check skipped: {report.live_skipped}")
    if chain.first_bad_position is not None:
        out.print(f"FAIL at position {chain.first_bad_position}: {chain.reason}")
    for mismatch in report.mismatches:
        out.print(
            f"FAIL account {mismatch.account_id}: {mismatch.source} at version {mismatch.version}"
            f" (position {mismatch.position}) differs from the replay in: "
            + ", ".join(mismatch.fields)
        )
    if report.ok:
        out.print("OK")
    else:
        out.print(f"first bad position: {report.first_bad_position}")


async def _replay(args: argparse.Namespace) -> int:
    async with _log(args) as log:
        to_position = args.as_of_position
        if args.as_of_time is not None:
            to_position = await position_at(log, args.as_of_time)
        rebuilt = await replay_account(log, args.account, to_position=to_position)
        as_of = to_position if to_position is not None else await log.head_position()
    if not rebuilt.state.account_id:
        return fail(f"account {args.account!r} has no events as of position {as_of}")
    state = rebuilt.state
    summary = reports.account_summary(state)
    positions, orders = reports.positions(state), reports.open_orders(state)
    trades = reports.closed_trades(state)
    if args.json:
        print_json(
            {
                "as_of_position": as_of,
                "last_event_position": rebuilt.position,
                "version": rebuilt.version,
                "summary": summary,
                "positions": positions,
                "open_orders": orders,
                "closed_trades": trades,
            }
        )
    else:
        title = f"account {args.account} as of position {as_of} (version {rebuilt.version})"
        print_statement(title, summary, positions, orders, trades)
    return 0


async def _export_to_output(args: argparse.Namespace) -> int:
    if not args.output:
        return await _export(args, sys.stdout.buffer)
    with Path(args.output).open("wb") as out:  # noqa: ASYNC230 (opened once, written in batches)
        return await _export(args, out)


async def _export(args: argparse.Namespace, out: IO[bytes]) -> int:
    streams = _streams(args)
    async with _log(args) as log:
        head = await log.head_position()
        last = head if args.to_position is None else min(head, args.to_position)
        total = None if streams else max(0, last - args.from_position + 1)
        with progress("exporting", total) as advance:
            written = await export_jsonl(
                log,
                out,
                streams=streams,
                from_position=args.from_position,
                to_position=args.to_position,
                advance=advance,
            )
    sys.stderr.write(f"exported {written} events\n")
    return 0


async def _republish(args: argparse.Namespace) -> int:
    subject = endpoints.subjects(args).republish(args.subject_name)
    async with _log(args) as log, connected(endpoints.operator_nats_url(args)) as nc:
        with progress("republishing", None) as advance:
            sent = await republish(
                log,
                nc,
                subject,
                streams=_streams(args),
                from_position=args.from_position,
                to_position=args.to_position,
                jetstream=args.jetstream,
                advance=advance,
            )
    if args.json:
        print_json({"subject": subject, "published": sent})
    else:
        stdout().print(f"published {sent} events to {subject}")
    return 0


async def _fork(args: argparse.Namespace) -> int:
    async with _log(args) as log:
        forked = await fork_account(
            log,
            args.account,
            as_of_position=args.as_of_position,
            into=args.into,
            actor=cli_actor(),
        )
    if args.json:
        print_json(forked)
        return 0
    stdout().print(
        f"forked {forked.source_account_id} as of position {forked.as_of_position} into "
        f"{forked.account_id}: {forked.events} events at positions "
        f"{forked.positions[0]}..{forked.positions[-1]}"
    )
    return 0
