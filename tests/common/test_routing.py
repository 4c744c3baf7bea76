"""What the router reads of a request to route it: the account, or none (gathered), or nothing
readable (answered where it arrived, so its handler refuses it as malformed)."""

from __future__ import annotations

import pytest

from papertape.common.bus.routing import addressee


@pytest.mark.parametrize(
    ("data", "routed_by"),
    [
        (b'{"request_id": "r", "body": {"account_id": "acc-1", "limit": 3}}', "acc-1"),
        (b'{"request_id": "r", "body": {"account_id": null}}', ""),
        (b'{"request_id": "r", "body": {"account_id": ""}}', ""),
        (b'{"request_id": "r", "body": {}}', ""),
        (b'{"request_id": "r"}', None),
        (b'{"body": {"account_id": 7}}', None),
        (b"not json", None),
    ],
)
def test_a_request_is_routed_by_the_account_it_names(data: bytes, routed_by: str | None) -> None:
    assert addressee(data) == routed_by
