"""What happened, as a ``Notified``: from account events, execution reports, signals, sessions
and account summaries. No I/O; a notification's id is derived from the event behind it, so the
same event always makes the same notification (and the same deliveries)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from papertape.contract.events.account import (
    CircuitBreakerTripped,
    OrderFilledV2,
    OrderRejected,
    TradingHalted,
)
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.execution import OrderTriggerReported
from papertape.contract.events.notifications import Happening, Notified
from papertape.contract.events.orders import OrderRole
from papertape.contract.events.reports import AccountSummary
from papertape.contract.events.sessions import SessionStarted, SessionStatus, SessionStopped
from papertape.contract.events.signals import SignalGenerated
from papertape.contract.ids import AccountId, derived_uuid7

CENTS = Decimal("0.01")


def _notified(
    key: str,
    account_id: str,
    happening: Happening,
    title: str,
    text: str,
    ts: datetime,
    *,
    id_ms: int | None = None,
    **details: Any,
) -> Notified:
    """A notification whose id is derived from ``key`` and ``id_ms`` (the time it is about,
    ``ts`` unless said), so the same happening seen again is the same notification."""
    at_ms = int(ts.timestamp() * 1000) if id_ms is None else id_ms
    return Notified(
        notification_id=derived_uuid7(f"{happening}:{key}", at_ms),
        account_id=AccountId(account_id),
        happening=happening,
        title=title[:200],
        text=text[:1000],
        details={k: str(v) for k, v in details.items() if v is not None},
        ts=ts,
    )


def of_account_event(envelope: Envelope[Any], role: str | None) -> list[Notified]:
    """An account event's notifications; ``role`` is the filled order's place in a bracket."""
    event, key = envelope.data, str(envelope.event_id)
    if isinstance(event, OrderFilledV2):
        side = event.side.value
        facts: dict[str, Any] = {
            "order_id": event.order_id,
            "fill_id": event.fill_id,
            "symbol": event.symbol,
            "side": side,
            "price": event.price,
            "quantity": event.quantity,
            "fee": event.fee,
            "realized_pnl": event.realized_pnl,
        }
        what = f"{side} {event.quantity} {event.symbol} @ {event.price}"
        found = [
            _notified(
                key, event.account_id, Happening.FILL, f"Filled: {what}", what, event.ts, **facts
            )
        ]
        exit_of = {
            OrderRole.STOP_LOSS.value: (Happening.STOP_LOSS_HIT, "Stop-loss hit"),
            OrderRole.TAKE_PROFIT.value: (Happening.TAKE_PROFIT_HIT, "Take-profit hit"),
        }
        if role in exit_of:
            happening, title = exit_of[role]
            text = f"{title}: {what}, realized P&L {event.realized_pnl}"
            found.append(
                _notified(
                    key,
                    event.account_id,
                    happening,
                    f"{title}: {event.symbol}",
                    text,
                    event.ts,
                    **facts,
                )
            )
        return found
    if isinstance(event, OrderRejected):
        text = f"{event.side.value} {event.quantity} {event.symbol} refused: {event.message}"
        return [
            _notified(
                key,
                event.account_id,
                Happening.ORDER_REFUSED,
                f"Order refused ({event.reason_code.value})",
                text,
                event.ts,
                order_id=event.order_id,
                symbol=event.symbol,
                reason_code=event.reason_code.value,
            )
        ]
    if isinstance(event, CircuitBreakerTripped):
        loss = event.loss_pct.quantize(CENTS)
        text = f"Daily loss {loss}% hit the limit: new entries refused until tomorrow"
        return [
            _notified(
                key,
                event.account_id,
                Happening.CIRCUIT_BREAKER,
                "Circuit breaker tripped",
                text,
                event.ts,
                loss_pct=event.loss_pct.quantize(CENTS),
                equity=event.equity.quantize(CENTS),
            )
        ]
    if isinstance(event, TradingHalted):
        return [
            _notified(
                key,
                event.account_id,
                Happening.TRADING_HALTED,
                "Trading halted",
                f"Trading halted: {event.reason}",
                event.ts,
                reason=event.reason,
            )
        ]
    return []


def of_execution_report(envelope: Envelope[Any]) -> list[Notified]:
    """A venue report's notifications: a stop order triggered."""
    report = envelope.data
    if not isinstance(report, OrderTriggerReported):
        return []
    text = (
        f"{report.symbol} stop at {report.trigger_price} triggered (market {report.market_price})"
    )
    return [
        _notified(
            str(envelope.event_id),
            report.account_id,
            Happening.ORDER_TRIGGERED,
            f"Stop triggered: {report.symbol}",
            text,
            report.ts,
            order_id=report.order_id,
            symbol=report.symbol,
            trigger_price=report.trigger_price,
        )
    ]


def of_signal(signal: SignalGenerated) -> Notified:
    """A signal's notification (rules choose by its confidence)."""
    title = f"{signal.decision.value} {signal.symbol} ({signal.confidence}%, {signal.strategy})"
    return _notified(
        signal.signal_id,
        signal.account_id,
        Happening.SIGNAL,
        title,
        signal.reasoning,
        signal.ts,
        signal_id=signal.signal_id,
        session_id=signal.session_id,
        strategy=signal.strategy,
        symbol=signal.symbol,
        decision=signal.decision.value,
        confidence=signal.confidence,
        entry=signal.entry,
        stop=signal.stop,
    )


def of_session_event(envelope: Envelope[Any], account_id: str) -> list[Notified]:
    """A bot session started, ended or failed."""
    event, key = envelope.data, str(envelope.event_id)
    if isinstance(event, SessionStarted):
        text = f"{event.strategy} on {', '.join(event.symbols)} ({event.mode.value})"
        return [
            _notified(
                key,
                account_id,
                Happening.SESSION_STARTED,
                f"Bot session {event.session_id} started",
                text,
                event.ts,
                session_id=event.session_id,
                strategy=event.strategy,
            )
        ]
    if isinstance(event, SessionStopped):
        errored = event.status is SessionStatus.ERROR
        happening = Happening.SESSION_ERRORED if errored else Happening.SESSION_ENDED
        verb = "failed" if errored else "ended"
        text = event.error or event.reason or event.status.value
        return [
            _notified(
                key,
                account_id,
                happening,
                f"Bot session {event.session_id} {verb}",
                text,
                event.ts,
                session_id=event.session_id,
                status=event.status.value,
            )
        ]
    return []


def of_drawdown(
    summary: AccountSummary, rule_id: str, level: Decimal, day: date, now: datetime
) -> Notified | None:
    """The drawdown beyond a rule's level (once per rule, level and day)."""
    drawdown = summary.drawdown_pct.quantize(CENTS)
    if drawdown < level:
        return None
    text = f"Drawdown {drawdown}% is beyond {level}% (equity {summary.equity.quantize(CENTS)})"
    return _notified(
        f"{summary.account_id}:{rule_id}:{level}:{day.isoformat()}",
        summary.account_id,
        Happening.DRAWDOWN,
        f"Drawdown beyond {level}%",
        text,
        now,
        id_ms=_day_ms(day),  # once a day: not a new notification at every look
        drawdown_pct=drawdown,
        level_pct=level,
        equity=summary.equity.quantize(CENTS),
    )


def of_daily_pnl(
    summary: AccountSummary, day: date, opening_equity: Decimal, now: datetime
) -> Notified:
    """The P&L of a day that is over: equity now against equity when the day began."""
    equity = summary.equity.quantize(CENTS)
    pnl = (summary.equity - opening_equity).quantize(CENTS)
    text = (
        f"{day.isoformat()}: P&L {pnl} {summary.base_currency}, equity {equity},"
        f" unrealized {summary.unrealized_pnl.quantize(CENTS)},"
        f" drawdown {summary.drawdown_pct.quantize(CENTS)}%"
    )
    return _notified(
        f"{summary.account_id}:{day.isoformat()}",
        summary.account_id,
        Happening.DAILY_PNL,
        f"Daily P&L {day.isoformat()}: {pnl}",
        text,
        now,
        id_ms=_day_ms(day),
        day=day.isoformat(),
        pnl=pnl,
        equity=equity,
        opening_equity=opening_equity.quantize(CENTS),
    )


def _day_ms(day: date) -> int:
    """The day's first millisecond (UTC): what a once-a-day notification's id is derived from."""
    return int(datetime.combine(day, time.min, UTC).timestamp() * 1000)
