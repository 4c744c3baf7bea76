"""``papertape accounts`` and ``papertape account``: open, fund, read, limit, halt and reset."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import msgspec

from papertape.cli import costs
from papertape.cli.client import (
    PortfolioClient,
    decimal_argument,
    portfolio_handler,
    portfolio_options,
)
from papertape.cli.commands import Subparsers
from papertape.cli.output import fail, print_json, print_record, stdout
from papertape.cli.statements import (
    print_accounts,
    print_report,
    print_statement,
    print_trades,
)
from papertape.contract.codec import to_builtins
from papertape.contract.events.account import (
    DEFAULT_INITIAL_CASH,
    AccountCommand,
    Deposit,
    HaltTrading,
    OpenAccount,
    ResetAccount,
    ResumeTrading,
    SetRiskLimits,
    Withdraw,
)
from papertape.contract.events.portfolio import (
    ExportTradesCsv,
    GetAccountSummary,
    GetClosedTrades,
    GetOpenOrders,
    GetPositions,
    GetReport,
    ListAccounts,
)
from papertape.contract.events.reports import (
    AccountListing,
    AccountReport,
    AccountSummary,
    ClosedTrade,
    OpenOrder,
    PositionView,
)
from papertape.contract.ids import AccountId
from papertape.contract.limits import RiskLimits

LIMIT_OPTIONS: dict[str, tuple[Callable[[str], object], str]] = {
    "max_position_pct": (decimal_argument, "largest position, %% of equity"),
    "max_risk_per_trade_pct": (decimal_argument, "risk to the stop-loss per trade, %% of equity"),
    "max_portfolio_heat_pct": (decimal_argument, "open risk of all positions, %% of equity"),
    "max_daily_loss_pct": (decimal_argument, "loss in a day that trips the breaker, %% of equity"),
    "max_trades_per_day": (int, "trades in a trading day"),
    "min_trade_interval_s": (int, "seconds between two trades"),
}
"""The fields of ``RiskLimits`` as options of ``account limits set`` (``--max-position-pct``)."""


def register(subparsers: Subparsers) -> None:
    """Add ``accounts`` (the list) and ``account`` with its subcommands."""
    common = portfolio_options()
    listing = subparsers.add_parser(
        "accounts", parents=[common], help="list every account (from a running portfolio)"
    )
    listing.add_argument("action", nargs="?", choices=["list"], default="list")
    listing.set_defaults(handler=portfolio_handler(_list))

    parser = subparsers.add_parser("account", help="open, fund, read and halt an account")
    commands = parser.add_subparsers(title="account commands", metavar="ACTION", required=True)

    opening = commands.add_parser("open", parents=[common], help="open a paper account")
    opening.add_argument("account", metavar="ID")
    opening.add_argument("--name", help="display name (default: the id)")
    opening.add_argument(
        "--cash",
        type=decimal_argument,
        default=DEFAULT_INITIAL_CASH,
        help=f"initial cash (default {DEFAULT_INITIAL_CASH})",
    )
    opening.add_argument("--currency", default="USD", help="base currency (default USD)")
    opening.add_argument("--allow-short", action="store_true", help="allow short selling")
    opening.set_defaults(handler=portfolio_handler(_open))

    show = commands.add_parser("show", parents=[common], help="summary, positions and orders")
    show.add_argument("account", metavar="ID")
    show.set_defaults(handler=portfolio_handler(_show))

    for name, verb in (("deposit", "add cash"), ("withdraw", "take cash out")):
        cash = commands.add_parser(name, parents=[common], help=verb)
        cash.add_argument("account", metavar="ID")
        cash.add_argument("amount", type=decimal_argument, metavar="AMOUNT")
        cash.add_argument("--reference", default="", help="a note kept with the event")
        cash.set_defaults(handler=portfolio_handler(_deposit if name == "deposit" else _withdraw))

    trades = commands.add_parser("trades", parents=[common], help="closed trades")
    trades.add_argument("account", metavar="ID")
    trades.add_argument("--csv", action="store_true", help="CSV text, for a spreadsheet")
    trades.add_argument("--limit", type=int, default=None, help="only the last N")
    trades.set_defaults(handler=portfolio_handler(_trades))

    costs.register(commands, common)

    report = commands.add_parser("report", parents=[common], help="the full report with metrics")
    report.add_argument("account", metavar="ID")
    report.set_defaults(handler=portfolio_handler(_report))

    for name, verb in (("halt", "the kill switch: refuse new orders"), ("resume", "lift it")):
        switch = commands.add_parser(name, parents=[common], help=verb)
        switch.add_argument("account", metavar="ID")
        switch.add_argument("--reason", default="", help="why (kept in the log)")
        switch.set_defaults(handler=portfolio_handler(_halt if name == "halt" else _resume))

    _register_limits(commands, common)
    reset = commands.add_parser(
        "reset", parents=[common], help="start a new epoch: fresh cash, no orders, no positions"
    )
    reset.add_argument("account", metavar="ID")
    reset.add_argument(
        "--cash", type=decimal_argument, default=None, help="new cash (default: the initial cash)"
    )
    reset.add_argument("--reason", default="", help="why (kept in the log)")
    reset.set_defaults(handler=portfolio_handler(_reset))


def _register_limits(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("limits", help="show or set the pre-trade risk limits")
    actions = parser.add_subparsers(title="limits commands", metavar="ACTION", required=True)
    show = actions.add_parser("show", parents=[common], help="the account's risk limits")
    show.add_argument("account", metavar="ID")
    show.set_defaults(handler=portfolio_handler(_limits_show))
    change = actions.add_parser(
        "set",
        parents=[common],
        help="change some limits (the others keep their values)",
        description="Exit 1 with invalid_limits when the account refuses the limits.",
    )
    change.add_argument("account", metavar="ID")
    for field, (kind, what) in LIMIT_OPTIONS.items():
        change.add_argument(f"--{field.replace('_', '-')}", type=kind, default=None, help=what)
    change.set_defaults(handler=portfolio_handler(_limits_set))


def _account(args: argparse.Namespace) -> AccountId:
    return AccountId(args.account)


async def _list(client: PortfolioClient, args: argparse.Namespace) -> int:
    accounts: list[AccountListing] = await client.query(ListAccounts())
    if args.json:
        print_json(accounts)
    else:
        print_accounts(accounts)
    return 0


async def _done(
    client: PortfolioClient, args: argparse.Namespace, body: AccountCommand, what: str
) -> int:
    result = await client.command(body)
    if args.json:
        print_json(result)
    else:
        stdout().print(f"{what} (account {args.account} at version {result.version})")
    return 0


async def _open(client: PortfolioClient, args: argparse.Namespace) -> int:
    body = OpenAccount(
        account_id=_account(args),
        name=args.name or args.account,
        base_currency=args.currency,
        initial_cash=args.cash,
        allow_short=args.allow_short,
    )
    return await _done(client, args, body, f"opened with {args.cash} {args.currency}")


async def _deposit(client: PortfolioClient, args: argparse.Namespace) -> int:
    body = Deposit(account_id=_account(args), amount=args.amount, reference=args.reference)
    return await _done(client, args, body, f"deposited {args.amount}")


async def _withdraw(client: PortfolioClient, args: argparse.Namespace) -> int:
    body = Withdraw(account_id=_account(args), amount=args.amount, reference=args.reference)
    return await _done(client, args, body, f"withdrew {args.amount}")


async def _halt(client: PortfolioClient, args: argparse.Namespace) -> int:
    body = HaltTrading(account_id=_account(args), reason=args.reason or "halted by hand")
    return await _done(client, args, body, "trading halted")


async def _resume(client: PortfolioClient, args: argparse.Namespace) -> int:
    body = ResumeTrading(account_id=_account(args), reason=args.reason)
    return await _done(client, args, body, "trading resumed")


async def _show(client: PortfolioClient, args: argparse.Namespace) -> int:
    account = _account(args)
    summary: AccountSummary = await client.query(GetAccountSummary(account_id=account))
    positions: list[PositionView] = await client.query(GetPositions(account_id=account))
    orders: list[OpenOrder] = await client.query(GetOpenOrders(account_id=account))
    if args.json:
        print_json({"summary": summary, "positions": positions, "open_orders": orders})
    else:
        print_statement(f"account {account}", summary, positions, orders)
    return 0


async def _trades(client: PortfolioClient, args: argparse.Namespace) -> int:
    account = _account(args)
    if args.csv:
        csv_text: str = await client.query(ExportTradesCsv(account_id=account))
        sys.stdout.write(csv_text)
        sys.stdout.flush()
        return 0
    trades: list[ClosedTrade] = await client.query(
        GetClosedTrades(account_id=account, limit=args.limit)
    )
    if args.json:
        print_json(trades)
    else:
        print_trades(trades)
    return 0


async def _report(client: PortfolioClient, args: argparse.Namespace) -> int:
    report: AccountReport = await client.query(GetReport(account_id=_account(args)))
    if args.json:
        print_json(report)
    else:
        print_report(f"account {args.account}: report", report)
    return 0


async def _limits(client: PortfolioClient, account: AccountId) -> RiskLimits:
    summary = await client.query(GetAccountSummary(account_id=account))
    return msgspec.convert(to_builtins(summary)["limits"], RiskLimits, strict=False)


async def _limits_show(client: PortfolioClient, args: argparse.Namespace) -> int:
    limits = await _limits(client, _account(args))
    if args.json:
        print_json(limits)
    else:
        print_record(f"risk limits of account {args.account}", to_builtins(limits))
    return 0


async def _limits_set(client: PortfolioClient, args: argparse.Namespace) -> int:
    changes = {f: getattr(args, f) for f in LIMIT_OPTIONS if getattr(args, f) is not None}
    if not changes:
        options = ", ".join(f"--{f.replace('_', '-')}" for f in LIMIT_OPTIONS)
        return fail(f"nothing to set: give one or more of {options}", 2)
    limits = msgspec.structs.replace(await _limits(client, _account(args)), **changes)
    body = SetRiskLimits(account_id=_account(args), limits=limits)
    described = ", ".join(f"{field} {value}" for field, value in changes.items())
    return await _done(client, args, body, f"risk limits set: {described}")


async def _reset(client: PortfolioClient, args: argparse.Namespace) -> int:
    body = ResetAccount(account_id=_account(args), initial_cash=args.cash, reason=args.reason)
    cash = "its initial cash" if args.cash is None else str(args.cash)
    return await _done(client, args, body, f"reset with {cash}")
