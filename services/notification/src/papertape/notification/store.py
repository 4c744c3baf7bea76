"""Deliveries in PostgreSQL: the service's own tables, so a restart loses no pending delivery.

A delivery is one notification on its way to one endpoint; its id is derived from both, and
inserting it again changes nothing, so a redelivered event never sends twice. A delivery is
claimed before it is sent by moving its ``next_attempt_at`` past the attempt's timeout (a
lease): a service killed mid-attempt leaves it pending, and it is sent again once the lease
ends. Every attempt is recorded (status, latency, error); a failure sets the next attempt after
a backoff, and the last one of its budget makes the delivery a dead letter, which a re-send
makes pending again with a fresh budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

import asyncpg
import msgspec

from papertape.common.migrations import MigrationSet
from papertape.contract.events.notifications import (
    AttemptView,
    DeliveryStatus,
    DeliveryView,
    EndpointKind,
    Happening,
)

STORE = MigrationSet(
    package="papertape.notification.migrations",
    table="notification_schema_migrations",
    lock_key=0x6E_6F_74_01,  # advisory locks are per database; this key is ours
)

_COLUMNS = (
    "delivery_id, account_id, endpoint_id, kind, target, notification_id, happening, payload,"
    " status, attempts, budget, created_at, next_attempt_at, delivered_at, last_error"
)


class NewDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery to enqueue."""

    delivery_id: str
    account_id: str
    endpoint_id: str
    kind: EndpointKind
    target: str
    """The URL, address or chat id as the endpoint was when the notification happened."""
    notification_id: str
    happening: Happening
    payload: bytes
    """The encoded ``Notified``."""


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """A stored delivery."""

    delivery_id: str
    account_id: str
    endpoint_id: str
    kind: EndpointKind
    target: str
    notification_id: str
    happening: Happening
    payload: bytes
    status: DeliveryStatus
    attempts: int
    budget: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    """What one try of a delivery came to."""

    ok: bool
    status_code: int | None = None
    latency_ms: Decimal
    error: str = ""


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """An attempt of a delivery, when it ended, and when to try again after a failure (None:
    never, it is a dead letter)."""

    delivery: Delivery
    attempt: Attempt
    at: datetime
    retry_at: datetime | None


def status_after(outcome: Outcome) -> DeliveryStatus:
    """Where a delivery is after an attempt."""
    if outcome.attempt.ok:
        return DeliveryStatus.DELIVERED
    if outcome.retry_at is None or outcome.delivery.attempts + 1 >= outcome.delivery.budget:
        return DeliveryStatus.DEAD
    return DeliveryStatus.PENDING


def _delivery(row: asyncpg.Record) -> Delivery:
    return Delivery(
        delivery_id=row["delivery_id"],
        account_id=row["account_id"],
        endpoint_id=row["endpoint_id"],
        kind=EndpointKind(row["kind"]),
        target=row["target"],
        notification_id=row["notification_id"],
        happening=Happening(row["happening"]),
        payload=bytes(row["payload"]),
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        budget=row["budget"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"],
        delivered_at=row["delivered_at"],
        last_error=row["last_error"],
    )


def view_of(delivery: Delivery, attempts: Sequence[asyncpg.Record] = ()) -> DeliveryView:
    """A delivery as the queries answer it."""
    pending = delivery.status is DeliveryStatus.PENDING
    return DeliveryView(
        delivery_id=delivery.delivery_id,
        account_id=delivery.account_id,
        endpoint_id=delivery.endpoint_id,
        kind=delivery.kind,
        notification_id=delivery.notification_id,
        happening=delivery.happening,
        status=delivery.status,
        attempts=delivery.attempts,
        created_at=delivery.created_at,
        next_attempt_at=delivery.next_attempt_at if pending else None,
        delivered_at=delivery.delivered_at,
        last_error=delivery.last_error,
        history=tuple(
            AttemptView(
                attempt=row["attempt"],
                at=row["at"],
                ok=row["ok"],
                status_code=row["status_code"],
                latency_ms=row["latency_ms"].quantize(Decimal("0.001")),
                error=row["error"],
            )
            for row in attempts
        ),
    )


class DeliveryStore:
    """The ``notify_*`` tables."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, dsn: str, *, role: str | None = None, max_size: int = 8) -> DeliveryStore:
        """Migrate (as the DSN's login), then connect a pool as the store's own ``role``."""
        await STORE.apply(dsn)
        return cls(await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, user=role))

    async def close(self) -> None:
        await self._pool.close()

    # --- deliveries --------------------------------------------------------------------------
    async def enqueue(self, deliveries: Sequence[NewDelivery], budget: int, now: datetime) -> int:
        """Store new deliveries, due now; those stored before are left alone. Returns how many
        were new."""
        if not deliveries:
            return 0
        rows = [
            (
                d.delivery_id,
                d.account_id,
                d.endpoint_id,
                d.kind.value,
                d.target,
                d.notification_id,
                d.happening.value,
                d.payload,
                budget,
                now,
            )
            for d in deliveries
        ]
        inserted = await self._pool.fetch(
            "INSERT INTO notify_deliveries (delivery_id, account_id, endpoint_id, kind, target,"
            " notification_id, happening, payload, budget, next_attempt_at)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
            " $6::text[], $7::text[], $8::bytea[], $9::int[], $10::timestamptz[])"
            " ON CONFLICT DO NOTHING RETURNING delivery_id",
            *(list(column) for column in zip(*rows, strict=True)),
        )
        return len(inserted)

    async def due(self, now: datetime, per_target: int, limit: int = 500) -> list[Delivery]:
        """Pending deliveries due by ``now``, oldest first, at most ``per_target`` per endpoint."""
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM (SELECT *, row_number() OVER (PARTITION BY account_id,"
            " endpoint_id ORDER BY next_attempt_at, created_at) AS place FROM notify_deliveries"
            " WHERE status = 'pending' AND next_attempt_at <= $1) due WHERE place <= $2"
            " ORDER BY next_attempt_at LIMIT $3",
            now,
            per_target,
            limit,
        )
        return [_delivery(row) for row in rows]

    async def claim(self, delivery_ids: Sequence[str], now: datetime, lease_s: float) -> list[str]:
        """Take deliveries for one attempt each: those still pending and due are leased until
        ``now + lease_s`` (a crash mid-attempt sends them again after it). Returns the taken."""
        rows = await self._pool.fetch(
            "UPDATE notify_deliveries SET next_attempt_at = $3 WHERE delivery_id = ANY($1)"
            " AND status = 'pending' AND next_attempt_at <= $2 RETURNING delivery_id",
            list(delivery_ids),
            now,
            now + timedelta(seconds=lease_s),
        )
        return [row["delivery_id"] for row in rows]

    async def record(self, outcomes: Sequence[Outcome]) -> list[DeliveryStatus]:
        """Record attempts, in one transaction; each delivery is delivered, due again at its
        ``retry_at``, or (with no ``retry_at`` after a failure, or its budget spent) a dead
        letter. Returns the statuses, in order."""
        statuses = [status_after(o) for o in outcomes]
        if not outcomes:
            return statuses
        ids = [o.delivery.delivery_id for o in outcomes]
        numbers = [o.delivery.attempts + 1 for o in outcomes]
        errors = [o.attempt.error[:1000] for o in outcomes]
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO notify_attempts (delivery_id, attempt, at, ok, status_code,"
                " latency_ms, error) SELECT * FROM unnest($1::text[], $2::int[],"
                " $3::timestamptz[], $4::bool[], $5::int[], $6::numeric[], $7::text[])"
                " ON CONFLICT DO NOTHING",
                ids,
                numbers,
                [o.at for o in outcomes],
                [o.attempt.ok for o in outcomes],
                [o.attempt.status_code for o in outcomes],
                [o.attempt.latency_ms for o in outcomes],
                errors,
            )
            await conn.execute(
                "UPDATE notify_deliveries d SET attempts = u.attempts, status = u.status,"
                " last_error = u.error, next_attempt_at = COALESCE(u.retry_at, d.next_attempt_at),"
                " delivered_at = CASE WHEN u.status = 'delivered' THEN u.at ELSE d.delivered_at END"
                " FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::timestamptz[],"
                " $6::timestamptz[]) AS u(delivery_id, attempts, status, error, retry_at, at)"
                " WHERE d.delivery_id = u.delivery_id",
                ids,
                numbers,
                [status.value for status in statuses],
                errors,
                [
                    o.retry_at if status is DeliveryStatus.PENDING else None
                    for o, status in zip(outcomes, statuses, strict=True)
                ],
                [o.at for o in outcomes],
            )
        return statuses

    async def get(self, delivery_id: str) -> Delivery | None:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM notify_deliveries WHERE delivery_id = $1", delivery_id
        )
        return None if row is None else _delivery(row)

    async def resend(self, delivery_id: str, budget: int, now: datetime) -> Delivery | None:
        """Make a dead letter pending again, due now, with ``budget`` more attempts."""
        row = await self._pool.fetchrow(
            "UPDATE notify_deliveries SET status = 'pending', next_attempt_at = $3,"
            " budget = attempts + $2 WHERE delivery_id = $1 AND status = 'dead'"
            f" RETURNING {_COLUMNS}",
            delivery_id,
            budget,
            now,
        )
        return None if row is None else _delivery(row)

    async def views(
        self,
        *,
        account_id: str | None,
        endpoint_id: str | None = None,
        dead_only: bool = False,
        limit: int = 50,
        before: str | None = None,
    ) -> list[DeliveryView]:
        """Deliveries newest first, each with its attempts; with ``before`` (the last delivery
        of the page before), the next page: those older than it."""
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM notify_deliveries WHERE ($1::text IS NULL OR account_id = $1)"
            " AND ($2::text IS NULL OR endpoint_id = $2) AND (NOT $3 OR status = 'dead')"
            " AND ($5::text IS NULL OR (created_at, delivery_id) < (SELECT created_at,"
            " delivery_id FROM notify_deliveries WHERE delivery_id = $5))"
            " ORDER BY created_at DESC, delivery_id DESC LIMIT $4",
            account_id,
            endpoint_id,
            dead_only,
            limit,
            before,
        )
        return await self._with_attempts([_delivery(row) for row in rows])

    async def view(self, delivery_id: str) -> DeliveryView | None:
        """One delivery with its attempts (None: unknown)."""
        found = await self.get(delivery_id)
        return None if found is None else (await self._with_attempts([found]))[0]

    async def _with_attempts(self, deliveries: list[Delivery]) -> list[DeliveryView]:
        attempts = await self._pool.fetch(
            "SELECT * FROM notify_attempts WHERE delivery_id = ANY($1)"
            " ORDER BY delivery_id, attempt",
            [d.delivery_id for d in deliveries],
        )
        by_delivery: dict[str, list[asyncpg.Record]] = {}
        for row in attempts:
            by_delivery.setdefault(row["delivery_id"], []).append(row)
        return [view_of(d, by_delivery.get(d.delivery_id, ())) for d in deliveries]

    # --- secrets -----------------------------------------------------------------------------
    async def put_secret(
        self, account_id: str, endpoint_id: str, sealed: bytes, sealed_with: str
    ) -> None:
        await self._pool.execute(
            "INSERT INTO notify_secrets (account_id, endpoint_id, sealed, sealed_with)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, endpoint_id)"
            " DO UPDATE SET sealed = EXCLUDED.sealed, sealed_with = EXCLUDED.sealed_with",
            account_id,
            endpoint_id,
            sealed,
            sealed_with,
        )

    async def secret(self, account_id: str, endpoint_id: str) -> tuple[bytes, str] | None:
        row = await self._pool.fetchrow(
            "SELECT sealed, sealed_with FROM notify_secrets"
            " WHERE account_id = $1 AND endpoint_id = $2",
            account_id,
            endpoint_id,
        )
        return None if row is None else (bytes(row["sealed"]), row["sealed_with"])

    async def erase_secret(self, account_id: str, endpoint_id: str) -> None:
        await self._pool.execute(
            "DELETE FROM notify_secrets WHERE account_id = $1 AND endpoint_id = $2",
            account_id,
            endpoint_id,
        )

    # --- what the followed streams said ------------------------------------------------------
    async def remember_orders(self, roles: Sequence[tuple[str, str, str]]) -> None:
        """Keep (order id, account id, bracket role) of placed orders."""
        if roles:
            await self._pool.executemany(
                "INSERT INTO notify_order_roles (order_id, account_id, role) VALUES ($1, $2, $3)"
                " ON CONFLICT (order_id) DO NOTHING",
                roles,
            )

    async def order_role(self, order_id: str) -> str | None:
        role: str | None = await self._pool.fetchval(
            "SELECT role FROM notify_order_roles WHERE order_id = $1", order_id
        )
        return role

    async def remember_session(self, session_id: str, account_id: str) -> None:
        await self._pool.execute(
            "INSERT INTO notify_session_accounts (session_id, account_id) VALUES ($1, $2)"
            " ON CONFLICT (session_id) DO UPDATE SET account_id = EXCLUDED.account_id",
            session_id,
            account_id,
        )

    async def session_account(self, session_id: str) -> str | None:
        account: str | None = await self._pool.fetchval(
            "SELECT account_id FROM notify_session_accounts WHERE session_id = $1", session_id
        )
        return account

    async def first_time(self, notification_id: str, account_id: str) -> bool:
        """Whether a watched notification is made now for the first time (and mark it made)."""
        made = await self._pool.fetchval(
            "INSERT INTO notify_watched (notification_id, account_id) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING RETURNING notification_id",
            notification_id,
            account_id,
        )
        return made is not None

    async def day_open(self, account_id: str, day: date, equity: Decimal) -> Decimal | None:
        """Record the account's equity at the first look of ``day``; the equity recorded at the
        first look of the day before (None when the service did not look then)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO notify_day_open (account_id, day, equity) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                account_id,
                day,
                equity,
            )
            before: Decimal | None = await conn.fetchval(
                "SELECT equity FROM notify_day_open WHERE account_id = $1 AND day = $2",
                account_id,
                day - timedelta(days=1),
            )
        return before
