"""The Python partition function and a real nats-server's ``{{partition(n,1)}}`` mapping agree.

Replicas route an account's requests by ``papertape.contract.partitions.partition_of``; a
server-side subject mapping would route by nats-server's own function. A server is started
with mappings for several partition counts, and every account id published through them must
come out in the partition the Python function names.
"""

from __future__ import annotations

import asyncio

import nats
import pytest
from nats.aio.msg import Msg

from papertape.common.servers import EmbeddedNats
from papertape.contract.partitions import partition_of

pytestmark = [pytest.mark.integration]
COUNTS = (2, 3, 4, 16)
ACCOUNTS = [f"acct-{n}" for n in range(200)] + ["demo", "a", "A_b-9", "x" * 64]


def _mappings() -> str:
    lines = ",\n".join(
        f'  "in{n}.*": "out{n}.{{{{partition({n},1)}}}}.{{{{wildcard(1)}}}}"' for n in COUNTS
    )
    return "mappings = {\n" + lines + "\n}\n"


async def test_partition_of_is_the_servers_own_partition_mapping() -> None:
    server = EmbeddedNats(config=_mappings()).start()
    try:
        nc = await nats.connect(server.url)
        seen: dict[tuple[int, str], int] = {}
        done = asyncio.Event()
        expected = len(COUNTS) * len(ACCOUNTS)

        async def on_message(msg: Msg) -> None:
            _out, partition, account = msg.subject.split(".", 2)
            seen[(int(_out.removeprefix("out")), account)] = int(partition)
            if len(seen) == expected:
                done.set()

        await nc.subscribe("*.*.*", cb=on_message)
        for n in COUNTS:
            for account in ACCOUNTS:
                await nc.publish(f"in{n}.{account}", b"")
        await asyncio.wait_for(done.wait(), 10)
        await nc.close()
    finally:
        server.stop()
    wrong = {
        (n, account): (partition, partition_of(account, n))
        for (n, account), partition in seen.items()
        if partition != partition_of(account, n)
    }
    assert wrong == {}, f"(partitions, account): (server's, ours) {wrong}"
    assert len({p for (n, _a), p in seen.items() if n == 16}) == 16, "every partition is used"
