"""``papertape accounts`` and ``papertape account``: open, fund, read and halt accounts."""

from __future__ import annotations

import argparse
import sys

from papertape.cli import costs
from papertape.cli.client import (
    PortfolioClient,
    decimal_argument,
    portfolio_handler,
    portfolio_options,
)
from papertape.cli.commands import Subparsers
from papertape.cli.output import print_json, stdout
from papertape.cli.statements import (
    print_accounts,
    print_report,
    print_statement,
    print_trades,
)
from papertape.contract.events.account import (
    DEFAULT_INITIAL_CASH,
    AccountCommand,
    Deposit,
    HaltTrading,
    OpenAccount,
    ResumeTrading,
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
