"""Who may say what on the bus: the NATS permissions of each login, in one table.

NATS enforces these itself (the server's own users and per-subject permissions), so a forged
fill report, quote or venue command from a client login never reaches a subscriber: the server
refuses the publish. The table is rendered into the embedded server's configuration by
``papertape run`` and the test kit (``papertape.common.servers.nats_auth``) and into
deploy/nats/authorization.conf for a server an operator runs.

| login | publishes | notes |
|---|---|---|
| marketdata | ``md.>`` | answers ``marketdata.query.*`` |
| execution | ``exec.>``, ``$KV.<its leases>.>``, ``execution.p<k>.query.*`` | answers queries |
| portfolio | ``acct.>`` (the relay), ``anchor.>``, ``portfolio.p<k>.>`` | answers ``portfolio.>`` |
| signals | ``signal.>``, ``session.>``; account commands and queries | answers ``signals.>`` |
| notification | ``notify.>``; account queries | answers ``notification.command`` / ``.query.*`` |
| gateway | account, market and signal commands and queries; ``gateway.>`` | acts for its users |
| client | account, market and signal commands and queries | the CLI, scripts, subscribers |
| operator | everything | ``papertape run`` itself, stream declaration, audit tools |

Every service may also publish its own dead letters (``dlq.<service>.>``) and use the
JetStream API except to change or remove streams. A client reads the streams through
consumers of its own, ephemeral or durable (never a service's durable one, listed by
``Subjects.service_durables``: it can neither create, pull from, acknowledge for nor delete
it), and it may subscribe to the streams' subjects and its inboxes but never to a request
subject, so it can neither read nor answer another caller's commands.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from papertape.contract.subjects import Subjects


class BusLogin(enum.StrEnum):
    """The NATS logins of the platform (one per service, one for clients, one operator)."""

    PORTFOLIO = "portfolio"
    EXECUTION = "execution"
    MARKETDATA = "marketdata"
    SIGNALS = "signals"
    NOTIFICATION = "notification"
    GATEWAY = "gateway"
    CLIENT = "client"
    OPERATOR = "operator"


SERVICE_LOGINS = frozenset(BusLogin) - {BusLogin.CLIENT, BusLogin.OPERATOR}

INBOX_PREFIX = "_INBOX."
"""Where every requester's answers come (nats-py's inboxes, the only replies a client may read)."""


def is_inbox(reply: str) -> bool:
    """True when ``reply`` is an inbox, the only subject a service answers on.

    NATS does not check a request's reply subject against the requester's permissions: a client
    may name a service's own subject there (``exec.<account>.fill``, ``acct.<account>.…``,
    ``notify.<account>``, ``$KV.<its leases>.…``), and the service, publishing its answer with
    its own rights, would put it on a stream its consumers trust."""
    return reply.startswith(INBOX_PREFIX) and len(reply) > len(INBOX_PREFIX)


@dataclass(frozen=True)
class Permissions:
    """Subjects a login may publish and subscribe to (``None``: no restriction)."""

    publish: tuple[str, ...] | None
    publish_deny: tuple[str, ...] = ()
    subscribe: tuple[str, ...] | None = None
    subscribe_deny: tuple[str, ...] = ()
    allow_responses: bool = False


# The JetStream API a reader needs: stream info, message reads and consumers of its own
# (ephemeral or durable) with their acknowledgements and flow control.
READER_JETSTREAM = (
    "$JS.API.INFO",
    "$JS.API.STREAM.NAMES",
    "$JS.API.STREAM.LIST",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.STREAM.MSG.GET.*",
    "$JS.API.DIRECT.GET.>",
    "$JS.API.CONSUMER.>",
    "$JS.ACK.>",
    "$JS.FC.>",
)
# What no service does: streams are declared once, by the operator (``papertape run``).
STREAM_ADMINISTRATION = (
    "$JS.API.STREAM.CREATE.>",
    "$JS.API.STREAM.UPDATE.>",
    "$JS.API.STREAM.DELETE.>",
    "$JS.API.STREAM.PURGE.>",
    "$JS.API.STREAM.MSG.DELETE.>",
)
SERVICE_JETSTREAM = ("$JS.API.>", "$JS.ACK.>", "$JS.FC.>")


def _p(subjects: Subjects, *parts: str) -> str:
    return ".".join((subjects.namespace, *parts)) if subjects.namespace else ".".join(parts)


def request_subjects(subjects: Subjects) -> tuple[str, ...]:
    """The commands and queries a client may send (and no one but their service may answer)."""
    return (
        subjects.portfolio_command(),
        subjects.portfolio_queries(),
        subjects.marketdata_queries(),
        _p(subjects, "signals", ">"),
        subjects.execution_queries(),
        subjects.notification_command(),
        subjects.notification_queries(),
    )


def stream_subjects(subjects: Subjects) -> tuple[str, ...]:
    """The published streams a reader may follow."""
    return (
        subjects.all_market(),
        _p(subjects, "signal", ">"),
        _p(subjects, "session", ">"),
        subjects.all_account_events(),
        subjects.all_execution_reports(),
        _p(subjects, "anchor", ">"),
        _p(subjects, "notify", ">"),
        _p(subjects, "replay", ">"),
    )


def service_consumers(subjects: Subjects) -> tuple[str, ...]:
    """Every API and acknowledgement subject that would touch a service's durable consumer."""
    denied: list[str] = []
    for stream, consumer in (*subjects.service_durables(), *subjects.partition_durables()):
        named = f"{stream}.{consumer}"
        denied += [
            f"$JS.API.CONSUMER.CREATE.{named}",
            f"$JS.API.CONSUMER.CREATE.{named}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{named}",
            f"$JS.API.CONSUMER.DELETE.{named}",
            f"$JS.API.CONSUMER.MSG.NEXT.{named}",
            f"$JS.API.CONSUMER.PAUSE.{named}",
            f"$JS.API.CONSUMER.UNPIN.{named}",
            f"$JS.API.CONSUMER.LEADER.STEPDOWN.{named}",
            f"$JS.ACK.{named}.>",
        ]
    return tuple(denied)


RUNTIME_NAMES = {BusLogin.MARKETDATA: "market-data"}
"""A service whose runtime is named otherwise than its login (``ServiceRuntime(service)``), the
name its dead letters go under (``dlq.<name>.>``)."""


def _service(subjects: Subjects, login: BusLogin, *own: str, answers: bool) -> Permissions:
    dead_letters = _p(subjects, "dlq", RUNTIME_NAMES.get(login, login.value), ">")
    return Permissions(
        publish=(*own, dead_letters, *SERVICE_JETSTREAM),
        publish_deny=STREAM_ADMINISTRATION,
        allow_responses=answers,
    )


def permissions(login: BusLogin, subjects: Subjects) -> Permissions:
    """The permissions of ``login`` in the namespace of ``subjects``."""
    requests = request_subjects(subjects)
    if login is BusLogin.OPERATOR:
        return Permissions(publish=None)
    if login is BusLogin.CLIENT:
        return Permissions(
            publish=(*requests, *READER_JETSTREAM),
            publish_deny=service_consumers(subjects),
            subscribe=(f"{INBOX_PREFIX}>", *stream_subjects(subjects)),
        )
    if login is BusLogin.MARKETDATA:
        return _service(subjects, login, subjects.all_market(), answers=True)
    if login is BusLogin.EXECUTION:
        leases = f"$KV.{subjects.lease_bucket('execution')}.>"  # its replicas' partition leases
        forwarded = subjects.all_execution_partition_queries()  # to a partition's owner
        reports = subjects.all_execution_reports()
        return _service(subjects, login, reports, leases, forwarded, answers=True)
    if login is BusLogin.PORTFOLIO:
        anchors = _p(subjects, "anchor", ">")
        # Its replicas forward a request to the partition's owner (portfolio.p<k>.…).
        forwards = subjects.all_portfolio_partitions()
        return _service(
            subjects, login, subjects.all_account_events(), anchors, *forwards, answers=True
        )
    if login is BusLogin.SIGNALS:
        signals, sessions = _p(subjects, "signal", ">"), _p(subjects, "session", ">")
        return _service(subjects, login, signals, sessions, *requests[:3], answers=True)
    if login is BusLogin.NOTIFICATION:
        notify = _p(subjects, "notify", ">")
        return _service(subjects, login, notify, subjects.portfolio_queries(), answers=True)
    keys = _p(subjects, "gateway", ">")  # its replicas learn of issued and revoked keys
    return _service(subjects, login, *requests, keys, answers=False)  # the gateway
