"""/api/v1/keys: issue, list and revoke API keys (an admin key manages them)."""

from __future__ import annotations

from litestar import Controller
from litestar.status_codes import HTTP_200_OK

from papertape.contract.events.apikeys import ApiScope
from papertape.gateway.access.guards import forbidden
from papertape.gateway.access.keys import ApiKey
from papertape.gateway.bodies import IssuedKey, IssueKeyBody, KeyView
from papertape.gateway.errors import not_found
from papertape.gateway.routes.common import DEPENDENCIES, acting, actor
from papertape.gateway.state import Gateway

_RANK = {ApiScope.READ: 0, ApiScope.TRADE: 1, ApiScope.ADMIN: 2}


def view(key: ApiKey) -> KeyView:
    return KeyView(
        key_id=key.key_id,
        account_id=key.account_id,
        scopes=tuple(sorted(key.scopes, key=_RANK.__getitem__)),
        label=key.label,
        revoked=key.revoked,
    )


class KeysController(Controller):
    """API keys: an operator's admin key manages every key, an account's admin key its own."""

    path = "/api/v1/keys"
    tags = ["keys"]
    dependencies = DEPENDENCIES

    @acting("/", ApiScope.ADMIN, summary="Issue a key (its secret is shown this once)")
    async def issue(self, gateway: Gateway, key: ApiKey, data: IssueKeyBody) -> IssuedKey:
        if not key.operator and data.account_id != key.account_id:
            raise forbidden("an account's admin key issues keys for its own account only")
        secret, issued = await gateway.keys.issue(
            data.account_id, data.scopes, label=data.label, actor=actor(key)
        )
        return IssuedKey(
            key=secret,
            key_id=issued.key_id,
            account_id=issued.account_id,
            scopes=view(issued).scopes,
            label=issued.label,
        )

    @acting("/", ApiScope.ADMIN, method="get", summary="The keys this key manages (no secrets)")
    async def listing(self, gateway: Gateway, key: ApiKey) -> list[KeyView]:
        keys = gateway.keys.keys(None if key.operator else key.account_id)
        return [view(k) for k in keys]

    @acting(
        "/{key_id:str}", ApiScope.ADMIN, method="delete", status_code=HTTP_200_OK, summary="Revoke"
    )
    async def revoke(self, gateway: Gateway, key: ApiKey, key_id: str) -> KeyView:
        found = gateway.keys.get(key_id)
        if found is None or not (key.operator or found.account_id == key.account_id):
            raise not_found(f"no key {key_id} that this key manages")
        return view(
            await gateway.keys.revoke(key_id, reason="revoked through the API", actor=actor(key))
        )
