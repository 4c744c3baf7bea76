"""Every NATS subject and JetStream stream name, built in one place.

A ``Subjects`` carries an optional namespace so that test runs (or tenants) sharing one
NATS server never see each other's messages: namespace ``t42`` gives stream ``T42_ACCOUNTS``
over subjects ``t42.acct.>``.
"""

from __future__ import annotations

import functools
import re

import msgspec

from papertape.contract.partitions import MAX_PARTITIONS

_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+$")


@functools.cache  # every subject built checks its tokens; symbols and names repeat
def token(value: str) -> str:
    """A subject token: no dots, spaces or wildcards (they would change the subject's meaning)."""
    if not _TOKEN.match(value):
        raise ValueError(f"not a valid subject token: {value!r}")
    return value


class StreamSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A JetStream stream and what it holds."""

    name: str
    subjects: tuple[str, ...]
    description: str
    duplicate_window_s: float = 120.0
    max_age_s: float = 0.0
    max_bytes: int = -1
    """The most the stream holds (-1: no bound); past it the oldest messages go."""
    max_msgs_per_subject: int = -1
    """The most one subject holds (-1: no bound); past it that subject's oldest go."""


DEAD_LETTERS_PER_SUBJECT = 10_000
"""Letters kept per original subject and service: a flood of bad messages on one subject
(a client sending junk to ``portfolio.command``) evicts only that subject's older letters."""
DEAD_LETTER_BYTES = 1 << 30
"""The dead-letter stream's bound on disk (1 GiB): letters keep up to 64 KiB of their payload
each, and a client's flood must not fill the servers' disks."""


class Subjects(msgspec.Struct, frozen=True):
    """Subject and stream builders for one namespace ("" in production)."""

    namespace: str = ""

    def _s(self, *parts: str) -> str:
        return ".".join((self.namespace, *parts)) if self.namespace else ".".join(parts)

    def stream(self, base: str) -> str:
        return f"{self.namespace.upper()}_{base}" if self.namespace else base

    # --- streams -------------------------------------------------------------------------
    def streams(self) -> tuple[StreamSpec, ...]:
        """Every stream the platform declares (in one place: the start-up step)."""
        return (
            StreamSpec(
                name=self.stream("MARKET"),
                subjects=(self._s("md", ">"),),
                description="quotes and bars from market-data",
                max_age_s=7 * 86400,
            ),
            StreamSpec(
                name=self.stream("SIGNALS"),
                subjects=(self._s("signal", ">"), self._s("session", ">")),
                description="strategy signals and bot sessions' events",
            ),
            StreamSpec(
                name=self.stream("ACCOUNTS"),
                subjects=(self._s("acct", ">"),),
                description="account events relayed from the portfolio event log",
            ),
            StreamSpec(
                name=self.stream("EXECUTION"),
                subjects=(self._s("exec", ">"),),
                description="execution reports from the simulated venue",
            ),
            StreamSpec(
                name=self.stream("ANCHORS"),
                subjects=(self._s("anchor", ">"),),
                description="the event log's chain head (position, hash), anchored outside it",
            ),
            StreamSpec(
                name=self.stream("DEADLETTER"),
                subjects=(self._s("dlq", ">"),),
                description="messages a service could not handle, with the reason",
                max_bytes=DEAD_LETTER_BYTES,
                max_msgs_per_subject=DEAD_LETTERS_PER_SUBJECT,
            ),
        )

    # --- key-value buckets ---------------------------------------------------------------
    def lease_bucket(self, service: str) -> str:
        """The NATS KV bucket of ``service``'s partition leases (``common.bus.leases``)."""
        return f"{self.namespace or 'papertape'}-{token(service)}-leases"

    # --- durable consumers ---------------------------------------------------------------
    def durable(self, service: str, source: str) -> str:
        """The name of ``service``'s durable consumer of ``source``."""
        return f"{self.namespace or 'papertape'}-{token(service)}-{token(source)}"

    def service_durables(self) -> tuple[tuple[str, str], ...]:
        """(stream, consumer) of every service's durable consumer, which no client may
        create, pull from, acknowledge for or delete (``papertape.common.bus.permissions``).
        A service that adds a durable consumer names it with ``durable`` and lists it here."""
        return (
            (self.stream("EXECUTION"), self.durable("portfolio", "execution")),
            (self.stream("MARKET"), self.durable("execution", "market")),
            (self.stream("MARKET"), self.durable("signals", "bars")),
            (self.stream("ACCOUNTS"), self.durable("signals", "fills")),
            (self.stream("ACCOUNTS"), self.durable("notification", "accounts")),
            (self.stream("SIGNALS"), self.durable("notification", "signals")),
            (self.stream("SIGNALS"), self.durable("notification", "sessions")),
            (self.stream("EXECUTION"), self.durable("notification", "execution")),
        )

    def partition_durables(self) -> tuple[tuple[str, str], ...]:
        """(stream, consumer) of every partition's durable consumer (portfolio's of EXECUTION,
        execution's of MARKET), as many as a service may have partitions: guarded like
        ``service_durables`` (each service polls its own: ``ServiceRuntime.more_durables``)."""
        return tuple(
            consumer
            for k in range(MAX_PARTITIONS)
            for consumer in (
                (self.stream("EXECUTION"), self.portfolio_partition_durable(k)),
                (self.stream("MARKET"), self.durable("execution", f"market-p{k}")),
            )
        )

    def portfolio_partition_durable(self, partition: int) -> str:
        """The durable consumer of execution reports of one portfolio partition's owner."""
        return self.durable("portfolio", f"execution-p{partition}")

    # --- market data ---------------------------------------------------------------------
    def quote(self, symbol: str) -> str:
        return self._s("md", "quote", token(symbol))

    def bar(self, timeframe: str, symbol: str) -> str:
        return self._s("md", "bar", token(timeframe), token(symbol))

    def bars(self, timeframe: str) -> str:
        """Bars of one width, every symbol."""
        return self._s("md", "bar", token(timeframe), "*")

    def all_quotes(self) -> str:
        return self._s("md", "quote", "*")

    def all_bars(self) -> str:
        """Bars of every width and symbol."""
        return self._s("md", "bar", ">")

    def all_market(self) -> str:
        return self._s("md", ">")

    # --- signals -------------------------------------------------------------------------
    def signal(self, strategy: str, symbol: str) -> str:
        return self._s("signal", token(strategy), token(symbol))

    def all_signals(self) -> str:
        return self._s("signal", ">")

    def session_event(self, session_id: str, event_name: str) -> str:
        return self._s("session", token(session_id), token(event_name))

    def all_session_events(self) -> str:
        """Every bot session's lifecycle, orders and fills (not its signals)."""
        return self._s("session", ">")

    def signals_command(self) -> str:
        return self._s("signals", "command")

    def signals_query(self, query: str) -> str:
        return self._s("signals", "query", token(query))

    def signals_queries(self) -> str:
        return self._s("signals", "query", "*")

    # --- accounts ------------------------------------------------------------------------
    def account_event(self, account_id: str, event_name: str) -> str:
        return self._s("acct", token(account_id), token(event_name))

    def all_account_events(self) -> str:
        return self._s("acct", ">")

    def account_events_named(self, event_name: str) -> str:
        """One kind of account event, every account (``acct.*.order_filled``)."""
        return self._s("acct", "*", token(event_name))

    def account_events(self, account_id: str) -> str:
        return self._s("acct", token(account_id), "*")

    # --- execution -----------------------------------------------------------------------
    def execution_report(self, account_id: str, report: str) -> str:
        return self._s("exec", token(account_id), token(report))

    def all_execution_reports(self) -> str:
        return self._s("exec", ">")

    # --- request-reply -------------------------------------------------------------------
    def portfolio_command(self) -> str:
        return self._s("portfolio", "command")

    def portfolio_query(self, query: str) -> str:
        return self._s("portfolio", "query", token(query))

    def portfolio_queries(self) -> str:
        return self._s("portfolio", "query", "*")

    def portfolio_partition_command(self, partition: int) -> str:
        """Commands forwarded to the owner of ``partition`` (``portfolio.p<k>.command``)."""
        return self._s("portfolio", f"p{partition}", "command")

    def portfolio_partition_query(self, partition: int, query: str) -> str:
        return self._s("portfolio", f"p{partition}", "query", token(query))

    def portfolio_partition_queries(self, partition: int) -> str:
        return self._s("portfolio", f"p{partition}", "query", "*")

    def all_portfolio_partitions(self) -> tuple[str, str]:
        """Every partition's command and query subjects (what a portfolio replica forwards to)."""
        return self._s("portfolio", "*", "command"), self._s("portfolio", "*", "query", "*")

    def marketdata_query(self, query: str) -> str:
        return self._s("marketdata", "query", token(query))

    def marketdata_queries(self) -> str:
        return self._s("marketdata", "query", "*")

    def execution_query(self, query: str) -> str:
        return self._s("execution", "query", token(query))

    def execution_queries(self) -> str:
        return self._s("execution", "query", "*")

    def execution_partition_query(self, partition: int, query: str) -> str:
        """A query forwarded to the owner of ``partition`` (``execution.p<k>.query.<query>``)."""
        return self._s("execution", f"p{partition}", "query", token(query))

    def execution_partition_queries(self, partition: int) -> str:
        return self._s("execution", f"p{partition}", "query", "*")

    def all_execution_partition_queries(self) -> str:
        """Every partition's query subjects (what an execution replica forwards to)."""
        return self._s("execution", "*", "query", "*")

    # --- notifications and dead letters --------------------------------------------------
    def notify(self, account_id: str) -> str:
        return self._s("notify", token(account_id))

    def all_notifications(self) -> str:
        return self._s("notify", "*")

    def notification_command(self) -> str:
        return self._s("notification", "command")

    def notification_query(self, query: str) -> str:
        return self._s("notification", "query", token(query))

    def notification_queries(self) -> str:
        return self._s("notification", "query", "*")

    def api_key_event(self, event_name: str) -> str:
        """The gateway's relay of an API key's life (core NATS: its replicas refresh)."""
        return self._s("gateway", "apikey", token(event_name))

    def all_api_key_events(self) -> str:
        return self._s("gateway", "apikey", "*")

    def dead_letter(self, service: str, original_subject: str) -> str:
        # The original subject's tokens stay readable after the service name.
        return self._s("dlq", token(service), *original_subject.split("."))

    def all_dead_letters(self) -> str:
        return self._s("dlq", ">")

    def dead_letters_of(self, service: str) -> str:
        return self._s("dlq", token(service), ">")

    def log_anchor(self) -> str:
        return self._s("anchor", "eventlog")

    def republish(self, name: str) -> str:
        return self._s("replay", token(name))
