"""``papertape notify …`` against an in-process notification service on real NATS and PostgreSQL:
a webhook's secret is printed once, rules are added and listed, a dead letter is listed and
re-sent once the receiver is back."""

from __future__ import annotations

import asyncio
import json

import pytest
from nats.aio.client import Client

from papertape.contract.events.notifications import ListDeliveries
from papertape.contract.subjects import Subjects
from papertape.notification.bootstrap import NotificationService
from tests.cli.accountlog import papertape
from tests.notification.conftest import (  # noqa: F401  (fixtures)
    ACC,
    NotificationClient,
    SignedReceiver,
    filled,
    notification,
    notify,
    publish_account_event,
    until,
)

pytestmark = pytest.mark.integration


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await papertape(*argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_rules_endpoints_and_dead_letters_from_the_command_line(
    notification: NotificationService,  # noqa: F811
    notify: NotificationClient,  # noqa: F811
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bus = ("--nats-url", nats_url, "--namespace", subjects.namespace)
    receiver = SignedReceiver(failures=1_000)
    async with receiver.server:
        url = f"{receiver.server.url}/hook"
        code, out, err = await _cli(
            capsys, "notify", "add-webhook", ACC, "hook", url, "--json", *bus
        )
        assert code == 0, err
        receiver.secret = json.loads(out)["secret"]
        code, out, err = await _cli(
            capsys, "notify", "add", ACC, "fills", "--on", "fill", "--endpoint", "hook", *bus
        )
        assert code == 0, err
        assert "fills" in out
        code, out, _ = await _cli(capsys, "notify", "endpoints", ACC, "--json", *bus)
        assert [e["secret"] for e in json.loads(out)] == [None]
        assert receiver.secret not in out
        code, out, _ = await _cli(capsys, "notify", "rules", ACC, "--json", *bus)
        assert [(r["rule_id"], r["happenings"]) for r in json.loads(out)] == [("fills", ["fill"])]

        await publish_account_event(nats_client, subjects, filled("o-cli"))
        letters: list[dict[str, object]] = []
        for _ in range(200):
            code, out, _ = await _cli(capsys, "notify", "dead-letters", "--json", *bus)
            letters = json.loads(out)
            if letters:
                break
            await asyncio.sleep(0.05)
        assert len(letters) == 1
        receiver.failures = 0
        code, out, err = await _cli(
            capsys, "notify", "resend", ACC, str(letters[0]["delivery_id"]), *bus
        )
        assert code == 0, err
        await until(lambda: len(receiver.accepted) == 1)
        await notify.deliveries_once(
            ListDeliveries(account_id=ACC), lambda found: found[0]["status"] == "delivered"
        )
        code, out, _ = await _cli(capsys, "notify", "deliveries", ACC, "--json", *bus)
        assert [d["status"] for d in json.loads(out)] == ["delivered"]

        code, _, err = await _cli(capsys, "notify", "remove", ACC, "nope", *bus)
        assert code == 1
        assert "unknown_rule" in err
