"""The keys ``papertape run`` hands out: a local operator's admin key and the demo account's.

Written to ``keys_file`` (JSON, mode 0600) with the gateway's URL, and each key alone beside it
(``admin.key``, ``demo.key``, ``gateway.url``) so a shell can say ``$(cat .papertape/admin.key)``.
A run that finds keys from an earlier run still valid keeps them; otherwise it issues new ones.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import msgspec

from papertape.contract.events.apikeys import ApiScope
from papertape.contract.ids import AccountId
from papertape.gateway.access.keys import KeyStore

ACTOR = "gateway:papertape-run"


class LocalKeys(msgspec.Struct, frozen=True, kw_only=True):
    """What the keys file holds."""

    url: str
    admin: str
    demo: str | None = None
    demo_account: str | None = None


async def ensure_local_keys(store: KeyStore, path: Path, url: str, demo_account: str) -> LocalKeys:
    """Valid local keys (kept from an earlier run, else issued), written where ``path`` says."""
    earlier = _read(path)
    admin = earlier.admin if earlier is not None else None
    if admin is None or await store.authenticate(admin) is None:
        admin, _ = await store.issue(None, [ApiScope.ADMIN], label="local admin", actor=ACTOR)
    demo: str | None = None
    if demo_account:
        demo = (
            earlier.demo if earlier is not None and earlier.demo_account == demo_account else None
        )
        if demo is None or await store.authenticate(demo) is None:
            demo, _ = await store.issue(
                AccountId(demo_account), [ApiScope.TRADE], label="demo account", actor=ACTOR
            )
    keys = LocalKeys(url=url, admin=admin, demo=demo, demo_account=demo_account or None)
    _write(path, keys)
    return keys


def _read(path: Path) -> LocalKeys | None:
    try:
        return msgspec.json.decode(path.read_bytes(), type=LocalKeys)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def _write(path: Path, keys: LocalKeys) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    files = {
        path: json.dumps(msgspec.to_builtins(keys), indent=2) + "\n",
        path.with_name("admin.key"): keys.admin + "\n",
        path.with_name("gateway.url"): keys.url + "\n",
    }
    if keys.demo is not None:
        files[path.with_name("demo.key")] = keys.demo + "\n"
    for target, text in files.items():
        temporary = target.with_suffix(target.suffix + ".tmp")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(text)
        temporary.replace(target)
