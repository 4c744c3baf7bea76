"""/api/v1/notifications/{account_id}/…: an account's rules, endpoints, deliveries, dead letters.

An account's key manages its own account's notifications (read to look, trade to change them
or re-send a dead letter); an operator's key manages every account's, and reads every
account's dead letters at /api/v1/notifications/dead-letters. A webhook's signing secret is in
the answer that adds the endpoint, and never again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from litestar import Controller
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter

from papertape.contract.bounds import PRINTABLE, Bounded, Percent
from papertape.contract.events.apikeys import ApiScope
from papertape.contract.events.notifications import (
    AddEndpoint,
    AddRule,
    ChatId,
    DeliveryView,
    EmailAddress,
    EndpointKind,
    EndpointRefs,
    EndpointView,
    Happenings,
    ListDeadLetters,
    ListDeliveries,
    ListEndpoints,
    ListRules,
    RemoveEndpoint,
    RemoveRule,
    ResendDeadLetter,
    RuleView,
    Secret,
    WebhookUrl,
)
from papertape.contract.events.signals import Score
from papertape.contract.ids import AccountId
from papertape.gateway.access.guards import check, forbidden
from papertape.gateway.access.keys import ApiKey
from papertape.gateway.routes.common import DEPENDENCIES, account, acting, actor, reading
from papertape.gateway.state import Gateway

Ref = Annotated[str, Parameter(pattern=r"^[A-Za-z0-9_\-]{1,64}$", description="an id")]
DeliveryId = Annotated[
    str, Parameter(min_length=1, max_length=200, pattern=PRINTABLE, description="a delivery")
]
Limit = Annotated[int, Parameter(ge=1, le=1000, description="at most this many, newest first")]
Before = Annotated[
    str | None,
    Parameter(
        min_length=1,
        max_length=200,
        pattern=PRINTABLE,
        description="the next page: deliveries older than this one (the last of the page before)",
    ),
]


class RuleBody(Bounded, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A rule: these happenings notify on these endpoints (and on the socket)."""

    happenings: Happenings
    endpoints: EndpointRefs = ()
    websocket: bool = True
    min_confidence: Score = 0
    drawdown_pct: Percent = Decimal(10)


class EndpointBody(Bounded, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An endpoint: a webhook's ``url``, an ``email`` address, or a Telegram ``chat_id`` with
    its bot's token as ``secret`` (a webhook's secret is made when not given)."""

    kind: EndpointKind
    url: WebhookUrl | None = None
    email: EmailAddress | None = None
    chat_id: ChatId | None = None
    secret: Secret | None = None


RULE_EXAMPLE = Example(
    summary="fills and stop-loss hits to a webhook and the socket",
    value={"happenings": ["fill", "stop_loss_hit"], "endpoints": ["hook"]},
)
ENDPOINT_EXAMPLE = Example(
    summary="a webhook (its signing secret comes back once)",
    value={"kind": "webhook", "url": "https://hooks.example.com/papertape"},
)


def _own(key: ApiKey, account_id: str, scope: ApiScope) -> AccountId:
    check(key, scope, account(account_id))
    return AccountId(account_id)


class NotificationsController(Controller):
    """What an account is told, where, and how each delivery went."""

    path = "/api/v1/notifications"
    tags = ["notifications"]
    dependencies = DEPENDENCIES

    @reading("/dead-letters", summary="Every account's dead letters (an operator's key)")
    async def all_dead_letters(
        self, gateway: Gateway, key: ApiKey, limit: Limit = 50, before: Before = None
    ) -> list[DeliveryView]:
        if not key.operator:
            raise forbidden("an account's key reads its own: /notifications/{account}/dead-letters")
        query = ListDeadLetters(account_id=None, limit=limit, before=before)
        found: list[DeliveryView] = await gateway.services.notification(query, actor(key))
        return found

    @reading("/{account_id:str}/rules", summary="An account's rules")
    async def rules(self, gateway: Gateway, key: ApiKey, account_id: Ref) -> list[RuleView]:
        query = ListRules(account_id=_own(key, account_id, ApiScope.READ))
        found: list[RuleView] = await gateway.services.notification(query, actor(key))
        return found

    @acting("/{account_id:str}/rules/{rule_id:str}", method="put", summary="Set a rule")
    async def set_rule(
        self,
        gateway: Gateway,
        key: ApiKey,
        account_id: Ref,
        rule_id: Ref,
        data: Annotated[RuleBody, Body(examples=[RULE_EXAMPLE])],
    ) -> RuleView:
        command = AddRule(
            account_id=_own(key, account_id, ApiScope.TRADE),
            rule_id=rule_id,
            happenings=data.happenings,
            endpoints=data.endpoints,
            websocket=data.websocket,
            min_confidence=data.min_confidence,
            drawdown_pct=data.drawdown_pct,
        )
        view: RuleView = await gateway.services.notification(command, actor(key), RuleView)
        return view

    @acting(
        "/{account_id:str}/rules/{rule_id:str}",
        method="delete",
        status_code=200,
        summary="Remove a rule",
    )
    async def remove_rule(
        self, gateway: Gateway, key: ApiKey, account_id: Ref, rule_id: Ref
    ) -> dict[str, str]:
        command = RemoveRule(account_id=_own(key, account_id, ApiScope.TRADE), rule_id=rule_id)
        await gateway.services.notification(command, actor(key), Any)
        return {"removed": rule_id}

    @reading("/{account_id:str}/endpoints", summary="An account's endpoints (no secrets)")
    async def endpoints(self, gateway: Gateway, key: ApiKey, account_id: Ref) -> list[EndpointView]:
        query = ListEndpoints(account_id=_own(key, account_id, ApiScope.READ))
        found: list[EndpointView] = await gateway.services.notification(query, actor(key))
        return found

    @acting(
        "/{account_id:str}/endpoints/{endpoint_id:str}",
        method="put",
        summary="Set an endpoint (a webhook's signing secret is in this answer only)",
    )
    async def set_endpoint(
        self,
        gateway: Gateway,
        key: ApiKey,
        account_id: Ref,
        endpoint_id: Ref,
        data: Annotated[EndpointBody, Body(examples=[ENDPOINT_EXAMPLE])],
    ) -> EndpointView:
        command = AddEndpoint(
            account_id=_own(key, account_id, ApiScope.TRADE),
            endpoint_id=endpoint_id,
            kind=data.kind,
            url=data.url,
            email=data.email,
            chat_id=data.chat_id,
            secret=data.secret,
        )
        view: EndpointView = await gateway.services.notification(command, actor(key), EndpointView)
        return view

    @acting(
        "/{account_id:str}/endpoints/{endpoint_id:str}",
        method="delete",
        status_code=200,
        summary="Remove an endpoint and erase its secret",
    )
    async def remove_endpoint(
        self, gateway: Gateway, key: ApiKey, account_id: Ref, endpoint_id: Ref
    ) -> dict[str, str]:
        owner = _own(key, account_id, ApiScope.TRADE)
        command = RemoveEndpoint(account_id=owner, endpoint_id=endpoint_id)
        await gateway.services.notification(command, actor(key), Any)
        return {"removed": endpoint_id}

    @reading(
        "/{account_id:str}/deliveries",
        summary="The delivery log with every attempt, newest first, a page at a time",
    )
    async def deliveries(
        self,
        gateway: Gateway,
        key: ApiKey,
        account_id: Ref,
        endpoint_id: Annotated[str | None, Parameter(pattern=r"^[A-Za-z0-9_\-]{1,64}$")] = None,
        limit: Limit = 50,
        before: Before = None,
    ) -> list[DeliveryView]:
        query = ListDeliveries(
            account_id=_own(key, account_id, ApiScope.READ),
            endpoint_id=endpoint_id,
            limit=limit,
            before=before,
        )
        found: list[DeliveryView] = await gateway.services.notification(query, actor(key))
        return found

    @reading("/{account_id:str}/dead-letters", summary="Deliveries that ran out of attempts")
    async def dead_letters(
        self,
        gateway: Gateway,
        key: ApiKey,
        account_id: Ref,
        limit: Limit = 50,
        before: Before = None,
    ) -> list[DeliveryView]:
        owner = _own(key, account_id, ApiScope.READ)
        query = ListDeadLetters(account_id=owner, limit=limit, before=before)
        found: list[DeliveryView] = await gateway.services.notification(query, actor(key))
        return found

    @acting(
        "/{account_id:str}/dead-letters/{delivery_id:str}/resend",
        status_code=200,
        summary="Send a dead letter again, with a fresh budget of attempts",
    )
    async def resend(
        self, gateway: Gateway, key: ApiKey, account_id: Ref, delivery_id: DeliveryId
    ) -> DeliveryView:
        owner = _own(key, account_id, ApiScope.TRADE)
        command = ResendDeadLetter(account_id=owner, delivery_id=delivery_id)
        view: DeliveryView = await gateway.services.notification(command, actor(key), DeliveryView)
        return view
