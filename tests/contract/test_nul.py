"""No decoded message holds a NUL: PostgreSQL stores none, so the codec refuses it at the edge,
naming the string, and leaves a backslash that only looks like the escape alone."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from papertape.contract.codec import Codec, encode, nul_in, nul_path
from papertape.contract.events.account import AccountCommand, PlaceOrder
from papertape.contract.events.envelope import Request
from papertape.contract.events.orders import OrderSide
from papertape.contract.ids import AccountId, Actor, OrderId, Symbol

requests: Codec[Request[AccountCommand]] = Codec(Request[AccountCommand])


def _placement(order_id: str = "o-1", actor: str = "cli") -> bytes:
    return encode(
        Request(
            request_id="r-1",
            issued_at=datetime(2026, 1, 2, tzinfo=UTC),
            actor=Actor(actor),
            body=PlaceOrder(
                account_id=AccountId("acct"),
                order_id=OrderId(order_id),
                symbol=Symbol("BTCUSD"),
                side=OrderSide.BUY,
                quantity=Decimal(1),
            ),
        )
    )


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (_placement(order_id="o\x001"), "$.body.order_id"),
        (_placement(order_id="\x00"), "$.body.order_id"),
        (_placement(actor="cli\x00"), "$.actor"),
    ],
)
def test_a_string_holding_a_nul_is_refused_with_its_path(data: bytes, where: str) -> None:
    assert b"\\u0000" in data  # on the wire a NUL is always the escape: JSON has no raw one
    with pytest.raises(msgspec.ValidationError, match=f"NUL character - at `\\{where}`"):
        requests.decode(data)
    with pytest.raises(msgspec.ValidationError, match="NUL"):
        requests.decode(data.decode())  # the same as text


def test_a_raw_nul_byte_is_malformed_json() -> None:
    with pytest.raises(msgspec.DecodeError):
        requests.decode(_placement().replace(b'"o-1"', b'"o\x001"'))


def test_an_escaped_backslash_before_u0000_is_text_and_decodes() -> None:
    data = _placement(order_id="o\\u0000")  # six characters of text, no NUL
    assert b"\\\\u0000" in data
    decoded = requests.decode(data)
    assert isinstance(decoded.body, PlaceOrder)
    assert decoded.body.order_id == "o\\u0000"


def test_a_message_without_a_nul_decodes_as_before() -> None:
    decoded = requests.decode(_placement())
    assert isinstance(decoded.body, PlaceOrder)
    assert decoded.body.order_id == "o-1"


def test_nul_path_finds_keys_and_list_items_first_in_document_order() -> None:
    assert nul_path({"a": ["x", "y\x00"], "b": "\x00"}) == "$.a[1]"
    assert nul_path({"k\x00": 1}) == "$"
    assert nul_path([{"a": 1}, {"b": [None, "\x00"]}]) == "$[1].b[1]"
    assert nul_path({"a": ["x"], "b": 1.5, "c": None}) is None


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_json)
def test_nul_path_is_none_exactly_when_no_string_or_key_holds_a_nul(value: Any) -> None:
    text = msgspec.json.encode(value)
    assert (nul_path(value) is None) == (b"\\u0000" not in text.replace(b"\\\\", b""))


def test_a_refusal_quoting_a_bad_value_writes_its_nul_out() -> None:
    """msgspec quotes a bad tag as it came: the error must not carry the NUL on (into a reply
    or a dead letter, which are decoded in turn)."""
    data = _placement().replace(b'"place_order.v1"', b'"place\\u0000order.v1"')
    with pytest.raises(msgspec.ValidationError) as refused:
        requests.decode(data)
    assert "\x00" not in str(refused.value)
    assert "place\\u0000order.v1" in str(refused.value)


def test_a_number_past_a_floats_range_does_not_stop_the_search() -> None:
    assert nul_in(b'{"a": 1e400, "b": ["x", "\\u0000"]}') == "$.b[1]"
    assert nul_in(b'{"a": 1e400, "b": "\\\\u0000"}') is None
