"""Arbitrary input thrown at the real portfolio service never breaks it or its log.

Hypothesis sends batches of requests to every command and query type on real NATS and
PostgreSQL: valid bodies, bodies with one field made hostile (NaN, -0, 1e400, naive times,
wrong types, ids that are not subject tokens …) and garbage. Every request is answered and
none with ``internal_error``; then every account's every query equals what a replay of its
log gives, and the service's state equals the replay.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from nats.aio.client import Client

from papertape.common.eventlog import decode_envelope
from papertape.contract.codec import encode
from papertape.contract.events.account import account_stream
from papertape.contract.events.portfolio import (
    ExportTradesCsv,
    GetAccountSummary,
    GetActivity,
    GetClosedTrades,
    GetEquityCurve,
    GetOpenOrders,
    GetPerformance,
    GetPositions,
    GetReport,
    ListAccounts,
)
from papertape.contract.ids import AccountId
from papertape.contract.subjects import Subjects
from papertape.portfolio.bootstrap import Portfolio
from papertape.trading.account import INITIAL_STATE, AccountState, reports
from papertape.trading.account.stored import apply_stored, event_codec
from tests.portfolio.conftest import PortfolioClient, replies

pytestmark = pytest.mark.integration

ACCOUNTS = ("h-1", "h-2")
TS = "2024-01-02T14:30:00Z"
_account = st.sampled_from(ACCOUNTS)
_order = st.sampled_from(("o-1", "o-2", "o-1-sl"))
_price = st.sampled_from(("100", "99.5", "101", "0.01"))
_quantity = st.sampled_from(("1", "5", "0.5"))


def _command_templates() -> st.SearchStrategy[dict[str, Any]]:
    """Valid bodies of every command type (decided for real: most are accepted)."""
    base = {"account_id": _account}
    shapes: list[dict[str, Any]] = [
        {"type": "open_account.v1", "name": st.just("H")},
        {"type": "deposit.v1", "amount": st.sampled_from(("100", "2500.25"))},
        {"type": "withdraw.v1", "amount": st.sampled_from(("50", "100000"))},
        {"type": "set_risk_limits.v1", "limits": st.just({"max_position_pct": "50"})},
        {"type": "set_cost_model.v1", "cost_model": st.just({"commission_bps": "1"})},
        {"type": "reset_account.v1", "initial_cash": st.just("5000")},
        {
            "type": "place_order.v1",
            "order_id": _order,
            "symbol": st.sampled_from(("AAPL", "BTCUSD", "EURUSD")),
            "side": st.sampled_from(("buy", "sell")),
            "quantity": _quantity,
            "order_type": st.just("limit"),
            "limit_price": _price,
            "stop_loss": st.sampled_from((None, "90")),
        },
        {"type": "cancel_order.v1", "order_id": _order},
        {"type": "halt_trading.v1", "reason": st.just("test")},
        {"type": "resume_trading.v1"},
        {
            "type": "apply_fill.v1",
            "fill_id": st.sampled_from(("f-1", "f-2", "f-3")),
            "order_id": _order,
            "price": _price,
            "quantity": _quantity,
            "ts": st.just(TS),
        },
        {"type": "apply_mark.v1", "symbol": st.just("AAPL"), "price": _price, "ts": st.just(TS)},
        {"type": "expire_order.v1", "order_id": _order, "ts": st.just(TS)},
        {
            "type": "trigger_order.v1",
            "order_id": _order,
            "trigger_price": _price,
            "ts": st.just(TS),
        },
    ]
    return st.one_of(
        [st.fixed_dictionaries({"type": st.just(s.pop("type")), **base, **s}) for s in shapes]
    )


def _query_templates() -> st.SearchStrategy[dict[str, Any]]:
    """Valid bodies of every query type."""
    account = {"account_id": _account}
    return st.one_of(
        st.just({"type": "list_accounts.v1"}),
        *(
            st.fixed_dictionaries({"type": st.just(tag), **account})
            for tag in (
                "get_account_summary.v1",
                "get_positions.v1",
                "get_open_orders.v1",
                "get_closed_trades.v1",
                "get_activity.v1",
                "get_equity_curve.v1",
                "get_performance.v1",
                "get_report.v1",
                "export_trades_csv.v1",
            )
        ),
    )


HOSTILE: tuple[Any, ...] = (
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "1e30",
    "1e400",
    "-1e400",
    "1e-400",
    "-0",
    "-0.00",
    "-5",
    "0",
    "1.0000000000001",
    "123456789012345678901234567890.5",
    "1000000000001",
    0,
    -1,
    1.5,
    1e308,
    2**64,
    "",
    "a.b",
    "*",
    ">",
    "x" * 300,
    "2024-01-02T14:30:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "2200-01-01T00:00:00Z",
    None,
    True,
    [],
    {},
    {"type": "deposit.v1"},
    "get_report.v1",
)
_hostile = st.sampled_from(HOSTILE)
_garbage = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


def _poisoned(template: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    body = dict(template)
    keys = [*sorted(body), "limit", "since", "from_version", "periods_per_year", "expire_at"]
    key = data.draw(st.sampled_from(keys))
    if isinstance(body.get(key), dict) and data.draw(st.booleans()):
        nested = dict(body[key])
        nested[data.draw(st.sampled_from(sorted(nested)))] = data.draw(_hostile)
        body[key] = nested
    else:
        body[key] = data.draw(_hostile | _garbage)
    return body


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, bytes]:
    """(``command`` or ``query``, the request's bytes): valid, one field hostile, or garbage."""
    kind = draw(st.sampled_from(("command", "query")))
    templates = _command_templates() if kind == "command" else _query_templates()
    template = draw(templates)
    how = draw(st.sampled_from(("valid", "valid", "poisoned", "poisoned", "garbage", "bytes")))
    if how == "bytes":
        return kind, draw(st.binary(max_size=64))
    body: Any = template
    if how == "poisoned":
        body = _poisoned(template, draw(st.data()))
    elif how == "garbage":
        body = draw(_garbage)
    request: dict[str, Any] = {
        "request_id": draw(st.uuids(version=4)).hex,
        "issued_at": TS,
        "actor": "hypothesis",
        "body": body,
    }
    if draw(st.integers(0, 9)) == 0:  # the envelope itself is hostile now and then
        request[draw(st.sampled_from(sorted(request)))] = draw(_hostile)
    return kind, msgspec.json.encode(request)


async def _replayed(portfolio: Portfolio, account_id: str) -> tuple[AccountState, list[Any]]:
    state, envelopes = INITIAL_STATE, []
    async for batch in portfolio.log.read_stream(account_stream(account_id)):
        for recorded in batch:
            state = apply_stored(state, recorded.data)
            envelopes.append(decode_envelope(recorded, event_codec))
    return state, envelopes


def _json(value: Any) -> Any:
    return msgspec.json.decode(encode(value))


async def _assert_queries_equal_a_replay(
    portfolio: Portfolio, client: PortfolioClient, account_id: str
) -> None:
    state, envelopes = await _replayed(portfolio, account_id)
    assert portfolio.book.state(account_id) == state
    account = AccountId(account_id)
    expected: list[tuple[str, Any, Any]] = [
        ("summary", GetAccountSummary(account_id=account), reports.account_summary(state)),
        ("positions", GetPositions(account_id=account), reports.positions(state)),
        ("orders", GetOpenOrders(account_id=account), reports.open_orders(state)),
        ("trades", GetClosedTrades(account_id=account), reports.closed_trades(state)),
        ("activity", GetActivity(account_id=account), envelopes),
        ("equity", GetEquityCurve(account_id=account), reports.equity_curve(state)),
        ("performance", GetPerformance(account_id=account), reports.account_performance(state)),
        ("report", GetReport(account_id=account), reports.account_report(state)),
        (
            "csv",
            ExportTradesCsv(account_id=account),
            reports.trades_csv(reports.closed_trades(state)),
        ),
    ]
    for name, query, replayed in expected:
        answer = await client.query(name, query)
        if not state.account_id:
            assert answer.error_code == "unknown_account", (name, answer)
            continue
        assert answer.ok, (name, answer.error)
        assert answer.result == _json(replayed), name


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(requests(), min_size=1, max_size=6))
async def test_hostile_input_never_breaks_the_service_and_queries_equal_a_replay(
    batch: list[tuple[str, bytes]],
    portfolio: Portfolio,
    client: PortfolioClient,
    nats_client: Client,
    subjects: Subjects,
) -> None:
    for kind, payload in batch:
        subject = (
            subjects.portfolio_command() if kind == "command" else subjects.portfolio_query("any")
        )
        reply = replies.decode((await nats_client.request(subject, payload, timeout=10)).data)
        assert reply.error_code != "internal_error", reply.error
        event(f"{kind}: {reply.error_code or 'ok'}")
        if not reply.ok:
            refusals = (
                "malformed_request",
                "unknown_account",
                "duplicate_request",
                "service_only_command",  # a client's fill, trigger, expiry or mark
            )
            assert reply.error_code in refusals, reply
    listed = await client.query("accounts", ListAccounts())
    assert listed.ok, listed.error
    known = {a["account_id"] for a in listed.result} | set(ACCOUNTS)
    for account_id in sorted(known):
        await _assert_queries_equal_a_replay(portfolio, client, account_id)
