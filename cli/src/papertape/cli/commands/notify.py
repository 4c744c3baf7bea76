"""``papertape notify …``: an account's notification rules, endpoints, deliveries, dead letters."""

from __future__ import annotations

import argparse
import sys

from papertape.cli.client import decimal_argument, portfolio_options
from papertape.cli.commands import Subparsers
from papertape.cli.notifications import (
    DELIVERY_COLUMNS,
    ENDPOINT_COLUMNS,
    RULE_COLUMNS,
    NotificationsClient,
    notifications_handler,
    show,
)
from papertape.contract.events.notifications import (
    AddEndpoint,
    AddRule,
    EndpointKind,
    Happening,
    ListDeadLetters,
    ListDeliveries,
    ListEndpoints,
    ListRules,
    RemoveEndpoint,
    RemoveRule,
    ResendDeadLetter,
)
from papertape.contract.ids import AccountId

_NEXT_PAGE = "the next page: the deliveries older than this one (the last shown)"


def register(subparsers: Subparsers) -> None:
    """Add ``notify`` and its actions."""
    common = portfolio_options()
    parser = subparsers.add_parser("notify", help="notification rules, endpoints and deliveries")
    actions = parser.add_subparsers(title="notify actions", metavar="ACTION", required=True)

    def action(
        name: str, what: str, run: object, *, account: bool = True
    ) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, parents=[common], help=what, description=what)
        if account:
            sub.add_argument("account", metavar="ACCOUNT")
        sub.set_defaults(handler=notifications_handler(run))  # type: ignore[arg-type]
        return sub

    action("rules", "an account's rules", _rules)
    add = action("add", "add (or replace) a rule: happenings on endpoints and the socket", _add)
    add.add_argument("rule_id", metavar="RULE")
    add.add_argument(
        "--on", action="append", required=True, choices=[h.value for h in Happening],
        help="a happening that notifies (repeat for more)",
    )  # fmt: skip
    add.add_argument("--endpoint", action="append", default=[], help="an endpoint id (repeat)")
    add.add_argument("--no-websocket", action="store_true", help="not on the notify.<account> feed")
    add.add_argument("--min-confidence", type=int, default=0, help="signals at or above (0-100)")
    add.add_argument("--drawdown-pct", type=decimal_argument, default=None, help="default 10")
    remove = action("remove", "remove a rule", _remove)
    remove.add_argument("rule_id", metavar="RULE")

    action("endpoints", "an account's endpoints (secrets are never shown again)", _endpoints)
    webhook = action("add-webhook", "add a webhook; prints its signing secret once", _add_webhook)
    webhook.add_argument("endpoint_id", metavar="ENDPOINT")
    webhook.add_argument("url", metavar="URL")
    webhook.add_argument("--secret", help="your own signing secret (default: one is made)")
    mail = action("add-email", "add an e-mail address", _add_email)
    mail.add_argument("endpoint_id", metavar="ENDPOINT")
    mail.add_argument("email", metavar="ADDRESS")
    telegram = action("add-telegram", "add a Telegram chat (the bot's token from stdin)", _add_tg)
    telegram.add_argument("endpoint_id", metavar="ENDPOINT")
    telegram.add_argument("chat_id", metavar="CHAT_ID")
    drop = action("remove-endpoint", "remove an endpoint and erase its secret", _remove_endpoint)
    drop.add_argument("endpoint_id", metavar="ENDPOINT")

    deliveries = action("deliveries", "the delivery log, newest first", _deliveries)
    deliveries.add_argument("--endpoint", help="one endpoint's")
    deliveries.add_argument("--limit", type=int, default=50)
    deliveries.add_argument("--before", metavar="DELIVERY", help=_NEXT_PAGE)
    dead = action("dead-letters", "deliveries that ran out of attempts", _dead, account=False)
    dead.add_argument("account", metavar="ACCOUNT", nargs="?", help="one account's (default all)")
    dead.add_argument("--limit", type=int, default=50)
    dead.add_argument("--before", metavar="DELIVERY", help=_NEXT_PAGE)
    resend = action("resend", "send a dead letter again", _resend)
    resend.add_argument("delivery_id", metavar="DELIVERY")


async def _rules(client: NotificationsClient, args: argparse.Namespace) -> int:
    rules = await client.query(ListRules(account_id=AccountId(args.account)))
    return show("rules", rules, RULE_COLUMNS, args)


async def _add(client: NotificationsClient, args: argparse.Namespace) -> int:
    extra = {"drawdown_pct": args.drawdown_pct} if args.drawdown_pct is not None else {}
    rule = AddRule(
        account_id=AccountId(args.account),
        rule_id=args.rule_id,
        happenings=tuple(Happening(h) for h in args.on),
        endpoints=tuple(args.endpoint),
        websocket=not args.no_websocket,
        min_confidence=args.min_confidence,
        **extra,
    )
    return show("rule", await client.command(rule), RULE_COLUMNS, args)


async def _remove(client: NotificationsClient, args: argparse.Namespace) -> int:
    await client.command(RemoveRule(account_id=AccountId(args.account), rule_id=args.rule_id))
    print(f"removed rule {args.rule_id}")
    return 0


async def _endpoints(client: NotificationsClient, args: argparse.Namespace) -> int:
    found = await client.query(ListEndpoints(account_id=AccountId(args.account)))
    return show("endpoints", found, ENDPOINT_COLUMNS, args)


async def _added(client: NotificationsClient, args: argparse.Namespace, **fields: object) -> int:
    command = AddEndpoint(
        account_id=AccountId(args.account),
        endpoint_id=args.endpoint_id,
        **fields,  # type: ignore[arg-type]
    )
    view = await client.command(command)
    if not args.json and view.secret:
        sys.stderr.write("the secret is shown this once: keep it now\n")
    return show("endpoint", view, (*ENDPOINT_COLUMNS, "secret"), args)


async def _add_webhook(client: NotificationsClient, args: argparse.Namespace) -> int:
    return await _added(client, args, kind=EndpointKind.WEBHOOK, url=args.url, secret=args.secret)


async def _add_email(client: NotificationsClient, args: argparse.Namespace) -> int:
    return await _added(client, args, kind=EndpointKind.EMAIL, email=args.email)


async def _add_tg(client: NotificationsClient, args: argparse.Namespace) -> int:
    token = sys.stdin.readline().strip()  # never on the command line, where `ps` shows it
    return await _added(
        client, args, kind=EndpointKind.TELEGRAM, chat_id=args.chat_id, secret=token
    )


async def _remove_endpoint(client: NotificationsClient, args: argparse.Namespace) -> int:
    account = AccountId(args.account)
    await client.command(RemoveEndpoint(account_id=account, endpoint_id=args.endpoint_id))
    print(f"removed endpoint {args.endpoint_id}")
    return 0


async def _deliveries(client: NotificationsClient, args: argparse.Namespace) -> int:
    query = ListDeliveries(
        account_id=AccountId(args.account),
        endpoint_id=args.endpoint,
        limit=args.limit,
        before=args.before,
    )
    return show("deliveries", await client.query(query), DELIVERY_COLUMNS, args)


async def _dead(client: NotificationsClient, args: argparse.Namespace) -> int:
    account = AccountId(args.account) if args.account else None
    query = ListDeadLetters(account_id=account, limit=args.limit, before=args.before)
    found = await client.query(query)
    return show("dead letters", found, DELIVERY_COLUMNS, args)


async def _resend(client: NotificationsClient, args: argparse.Namespace) -> int:
    command = ResendDeadLetter(account_id=AccountId(args.account), delivery_id=args.delivery_id)
    return show("re-sent", await client.command(command), DELIVERY_COLUMNS, args)
