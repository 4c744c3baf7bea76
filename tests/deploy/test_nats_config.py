"""deploy/'s NATS server configuration: the platform's logins and permissions, as generated,
loadable by a real ``nats-server``, and used by every service it deploys."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nats
import pytest
from nats.aio.msg import Msg

from papertape.common.bus.permissions import BusLogin
from papertape.common.servers import nats_server_binary
from papertape.common.servers.nats_auth import DEPLOY_HEADER, authorization_block
from papertape.common.servers.processes import accepts_connections, free_port, wait_until
from papertape.contract.subjects import Subjects

ROOT = Path(__file__).resolve().parents[2]
NATS_DIR = ROOT / "deploy" / "nats"


def test_the_deployed_authorization_is_the_generated_one() -> None:
    expected = DEPLOY_HEADER + authorization_block(Subjects())
    assert (NATS_DIR / "authorization.conf").read_text() == expected, (
        "regenerate: papertape streams authorization > deploy/nats/authorization.conf"
    )
    assert "include ./authorization.conf" in (NATS_DIR / "jetstream.conf").read_text()


@contextmanager
def deployed_server(folder: Path, passwords: dict[BusLogin, str]) -> Iterator[int]:
    """``nats-server -c`` deploy/nats/'s files (the store moved into ``folder``); its port."""
    binary = nats_server_binary()
    assert binary is not None
    shutil.copy(NATS_DIR / "authorization.conf", folder / "authorization.conf")
    config = (NATS_DIR / "jetstream.conf").read_text()
    assert "/data/jetstream" in config
    (folder / "jetstream.conf").write_text(config.replace("/data/jetstream", str(folder / "js")))
    env = {f"PAPERTAPE_NATS_{login.name}_PASSWORD": pw for login, pw in passwords.items()}
    port = free_port("127.0.0.1")
    argv = [str(binary), "-c", str(folder / "jetstream.conf"), "-a", "127.0.0.1"]
    argv += ["-p", str(port), "-m", str(free_port("127.0.0.1"))]
    proc = subprocess.Popen(argv, env={**os.environ, **env}, stderr=subprocess.DEVNULL)
    try:
        ready = lambda: accepts_connections("127.0.0.1", port)  # noqa: E731
        wait_until(ready, proc, what="nats-server", timeout=20)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.integration
async def test_a_nats_server_started_with_the_deployed_configuration_enforces_it(
    server_data_dir: Path,
) -> None:
    passwords = {login: f"pw-{login.value}" for login in BusLogin}
    with deployed_server(server_data_dir, passwords) as port:
        errors: list[str] = []

        async def on_error(error: Exception) -> None:
            errors.append(str(error))

        url = f"nats://client:{passwords[BusLogin.CLIENT]}@127.0.0.1:{port}"
        client = await nats.connect(url, error_cb=on_error, max_reconnect_attempts=0)
        operator_url = f"nats://operator:{passwords[BusLogin.OPERATOR]}@127.0.0.1:{port}"
        operator = await nats.connect(operator_url)
        seen: list[str] = []

        async def keep(msg: Msg) -> None:
            seen.append(msg.subject)

        await operator.subscribe("md.>", cb=keep)
        await operator.flush()
        await client.publish("md.quote.AAPL", b"forged")
        await client.flush()
        await asyncio.sleep(0.3)
        await client.close()
        await operator.close()
    assert seen == []
    assert any("permissions violation" in error.lower() for error in errors)
