"""``papertape account costs``: show and set an account's cost schedule (under ``account``).

``set`` reads the account's schedule, changes one entry (an asset class, or one instrument's
override with ``--symbol``) and sends the whole schedule back (``SetCostModelV2``): the options
given replace those terms, the others keep what the entry had (its defaults when it had none).
"""

from __future__ import annotations

import argparse
from typing import Any

import msgspec

from papertape.cli.client import PortfolioClient, decimal_argument, portfolio_handler
from papertape.cli.commands import Subparsers
from papertape.cli.output import print_json, print_rows, stdout
from papertape.contract.costs import CostSchedule, CostTerms
from papertape.contract.events.account import SetCostModelV2
from papertape.contract.events.portfolio import GetAccountSummary
from papertape.contract.events.reports import AccountSummary
from papertape.contract.ids import AccountId
from papertape.contract.instruments import AssetClass, instrument_for
from papertape.trading.costs import DEFAULT_TERMS, terms_for

TERM_OPTIONS: dict[str, str] = {
    "per_share": "commission per share (unit)",
    "minimum": "least per-share commission of an order",
    "bps": "commission in bps of notional",
    "per_lot": "commission per lot (FX)",
    "lot_units": "units in a lot (default 100000)",
    "fixed": "fixed commission per order",
    "maker_bps": "maker fee in bps (negative: a rebate)",
    "taker_bps": "taker fee in bps",
    "slippage_bps": "fixed slippage of a taker fill in bps",
    "spread_pips": "spread assumed where none is quoted, in pips",
}
COLUMNS = ("entry", "source", "name", *TERM_OPTIONS)


def register(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    """Add ``account costs show`` and ``account costs set`` under ``account``."""
    parser = commands.add_parser("costs", help="the account's fee, slippage and spread schedule")
    verbs = parser.add_subparsers(title="costs commands", metavar="ACTION", required=True)

    show = verbs.add_parser("show", parents=[common], help="the schedule in force, per entry")
    show.add_argument("account", metavar="ID")
    show.set_defaults(handler=portfolio_handler(_show))

    change = verbs.add_parser("set", parents=[common], help="change one entry of the schedule")
    change.add_argument("account", metavar="ID")
    scope = change.add_mutually_exclusive_group(required=True)
    scope.add_argument(
        "--asset-class", choices=[c.value for c in AssetClass], help="the class's entry"
    )
    scope.add_argument("--symbol", help="a per-instrument override (wins over its class)")
    change.add_argument(
        "--clear", action="store_true", help="remove the entry (back to class or default)"
    )
    for term, meaning in TERM_OPTIONS.items():
        change.add_argument(f"--{term.replace('_', '-')}", type=decimal_argument, help=meaning)
    change.set_defaults(handler=portfolio_handler(_set))


async def _schedule(client: PortfolioClient, account: AccountId) -> CostSchedule:
    summary: AccountSummary = await client.query(GetAccountSummary(account_id=account))
    return summary.costs


def schedule_rows(schedule: CostSchedule) -> list[dict[str, Any]]:
    """Each asset class's terms in force (the account's, else the default), then overrides."""
    rows = []
    for asset_class in AssetClass:
        own = schedule.asset_classes.get(asset_class)
        terms = own if own is not None else DEFAULT_TERMS[asset_class]
        rows.append(_row(asset_class.value, "account" if own is not None else "default", terms))
    for symbol, terms in sorted(schedule.instruments.items()):
        rows.append(_row(symbol, "instrument", terms))
    return rows


def _row(entry: str, source: str, terms: CostTerms) -> dict[str, Any]:
    return {"entry": entry, "source": source, **msgspec.to_builtins(terms)}


def changed(schedule: CostSchedule, args: argparse.Namespace) -> CostSchedule:
    """The schedule with the entry ``args`` names replaced (or removed with ``--clear``)."""
    given = {t: getattr(args, t) for t in TERM_OPTIONS if getattr(args, t) is not None}
    if args.symbol:
        entries: dict[Any, CostTerms] = dict(schedule.instruments)
        key: Any = args.symbol
        current = terms_for(schedule, instrument_for(args.symbol))
    else:
        entries = dict(schedule.asset_classes)
        key = AssetClass(args.asset_class)
        current = entries.get(key, DEFAULT_TERMS[key])
    if args.clear:
        entries.pop(key, None)
    else:
        entries[key] = msgspec.structs.replace(current, name=str(key), **given)
    if args.symbol:
        return msgspec.structs.replace(schedule, instruments=entries)
    return msgspec.structs.replace(schedule, asset_classes=entries)


async def _show(client: PortfolioClient, args: argparse.Namespace) -> int:
    schedule = await _schedule(client, AccountId(args.account))
    rows = schedule_rows(schedule)
    if args.json:
        print_json({"account_id": args.account, "entries": rows})
    else:
        print_rows(f"costs of account {args.account}", rows, COLUMNS)
    return 0


async def _set(client: PortfolioClient, args: argparse.Namespace) -> int:
    account = AccountId(args.account)
    schedule = changed(await _schedule(client, account), args)
    result = await client.command(SetCostModelV2(account_id=account, schedule=schedule))
    if args.json:
        print_json(
            {
                "account_id": args.account,
                "entries": schedule_rows(schedule),
                "version": result.version,
                "events": result.events,
            }
        )
    else:
        what = "cleared" if args.clear else "set"
        stdout().print(
            f"costs of {args.symbol or args.asset_class} {what} "
            f"(account {args.account} at version {result.version})"
        )
    return 0
