"""Every message type round-trips through the codec and validates against its schema in proto/."""

from __future__ import annotations

import json
import types
import typing
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import msgspec
import pytest

from papertape.common.testing.examples import EXAMPLE_TIME, example_of
from papertape.contract.codec import (
    Codec,
    DecodeError,
    encode,
    register_upcaster,
    to_builtins,
    upcast,
)
from papertape.contract.events.base import Command, Event, Message, Query
from papertape.contract.events.catalog import MessageSpec, context_modules, message_types, spec_of
from papertape.contract.events.envelope import DeadLetter, Envelope, Reply, Request
from papertape.contract.events.market import BarClosed, MarketEvent, QuoteReceived, Timeframe
from papertape.contract.ids import Actor, CorrelationId, EventId, StreamId, Symbol

PROTO = Path(__file__).resolve().parents[2] / "proto"

# Values the annotations alone cannot imply (patterns, cross-field rules), by "Class.field".
OVERRIDES: dict[str, Any] = {
    # Patterns the annotations alone cannot fill: a 16-hex-digit hash, snake-case parameter names.
    "params_hash": "0123456789abcdef",
    "parameters": {"fast": 5},
    # A notification endpoint's URL, address, chat and secret.
    "url": "https://hooks.example.com/papertape",
    "email": "trader@example.com",
    "chat_id": "123456789",
    "secret": "0123456789abcdef0123",
}

MESSAGES = message_types()
EVENTS = [spec for spec in MESSAGES if issubclass(spec.cls, Event)]
REQUESTS = [spec for spec in MESSAGES if issubclass(spec.cls, Command | Query)]


@cache
def _validator(schema_path: str) -> jsonschema.Draft202012Validator:
    path = PROTO / schema_path
    assert path.is_file(), f"{schema_path} is not in proto/: run `make schemas`"
    return jsonschema.Draft202012Validator(json.loads(path.read_text()))


def _assert_valid(spec: MessageSpec, payload: Any) -> None:
    errors = [e.message for e in _validator(spec.schema_path).iter_errors(payload)]
    assert errors == [], f"{spec.key} does not match proto/{spec.schema_path}: {errors}"


def _ids(specs: list[MessageSpec] | tuple[MessageSpec, ...]) -> list[str]:
    return [spec.key for spec in specs]


# --- every message type ----------------------------------------------------------------------


@pytest.mark.parametrize("spec", MESSAGES, ids=_ids(MESSAGES))
def test_message_round_trips_and_matches_its_schema(spec: MessageSpec) -> None:
    message = example_of(spec.cls, OVERRIDES)
    wire = encode(message)
    assert Codec[Any](spec.cls).decode(wire) == message
    payload = json.loads(wire)
    assert payload["type"] == spec.tag
    _assert_valid(spec, payload)


@pytest.mark.parametrize("spec", EVENTS, ids=_ids(EVENTS))
def test_event_round_trips_in_its_envelope(spec: MessageSpec) -> None:
    envelope = example_of(Envelope[spec.cls], OVERRIDES)  # type: ignore[name-defined]
    wire = encode(envelope)
    assert Codec[Any](Envelope[spec.cls]).decode(wire) == envelope  # type: ignore[name-defined]
    payload = json.loads(wire)
    _assert_valid(spec_of(Envelope), payload)
    _assert_valid(spec, payload["data"])


@pytest.mark.parametrize("spec", REQUESTS, ids=_ids(REQUESTS))
def test_command_or_query_round_trips_in_a_request(spec: MessageSpec) -> None:
    request = example_of(Request[spec.cls], OVERRIDES)  # type: ignore[name-defined]
    wire = encode(request)
    assert Codec[Any](Request[spec.cls]).decode(wire) == request  # type: ignore[name-defined]
    _assert_valid(spec_of(Request), json.loads(wire))
    _assert_valid(spec, json.loads(wire)["body"])


def _unions() -> list[tuple[str, Any]]:
    found = []
    for module in context_modules():
        for name, value in vars(module).items():
            if isinstance(value, types.UnionType) and all(
                isinstance(member, type) and issubclass(member, Message)
                for member in typing.get_args(value)
            ):
                found.append((f"{module.__name__.rsplit('.', 1)[-1]}.{name}", value))
    return found


UNIONS = _unions()


@pytest.mark.parametrize(("name", "union"), UNIONS, ids=[name for name, _ in UNIONS])
def test_each_union_decodes_every_member_by_its_tag(name: str, union: Any) -> None:
    codec = Codec[Any](union)
    for member in typing.get_args(union):
        message = example_of(member, OVERRIDES)
        decoded = codec.decode(encode(message))
        assert type(decoded) is member, name
        assert decoded == message


# --- the codec's promises --------------------------------------------------------------------


def _quote(**changes: Any) -> QuoteReceived:
    fields: dict[str, Any] = {
        "symbol": Symbol("EURUSD"),
        "bid": Decimal("1.08412"),
        "ask": Decimal("1.08414"),
        "ts_event": EXAMPLE_TIME,
        "ts_init": EXAMPLE_TIME,
        "source": "synthetic",
    }
    return QuoteReceived(**(fields | changes))


def test_decimals_travel_as_strings_with_every_digit() -> None:
    payload = json.loads(encode(_quote(bid=Decimal("1.08410"))))
    assert payload["bid"] == "1.08410"
    assert (
        Codec[QuoteReceived](QuoteReceived)
        .decode(encode(_quote(bid=Decimal("1.08410"))))
        .bid.as_tuple()
        == Decimal("1.08410").as_tuple()
    )


def test_times_travel_as_rfc3339_utc() -> None:
    payload = json.loads(encode(_quote()))
    assert payload["ts_event"] == "2024-01-02T14:30:15.123456Z"
    decoded = Codec[QuoteReceived](QuoteReceived).decode(encode(_quote()))
    assert decoded.ts_event.tzinfo is not None
    assert decoded.ts_event == datetime(2024, 1, 2, 14, 30, 15, 123456, tzinfo=UTC)


def test_union_decoder_picks_the_type_from_the_tag() -> None:
    bar = example_of(BarClosed)
    assert Codec[MarketEvent](MarketEvent).decode(encode(bar)) == bar


def test_unknown_tag_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        Codec[MarketEvent](MarketEvent).decode(b'{"type": "quote_received.v9"}')


def test_missing_field_is_a_decode_error() -> None:
    payload = json.loads(encode(_quote()))
    del payload["bid"]
    with pytest.raises(msgspec.ValidationError, match="bid"):
        Codec[QuoteReceived](QuoteReceived).decode(json.dumps(payload))


def test_convert_validates_an_already_parsed_dict() -> None:
    quote = _quote()
    assert Codec[QuoteReceived](QuoteReceived).convert(json.loads(encode(quote))) == quote


def test_to_builtins_gives_json_ready_objects() -> None:
    assert to_builtins(_quote())["bid"] == "1.08412"


def test_envelope_of_a_union_round_trips() -> None:
    envelope = Envelope[MarketEvent](
        event_id=EventId("0190a4e2-7a1b-7c3d-8e4f-5a6b7c8d9e0f"),
        stream_id=StreamId("md-EURUSD"),
        stream_version=3,
        occurred_at=EXAMPLE_TIME,
        correlation_id=CorrelationId("c-1"),
        actor=Actor("market-data"),
        data=_quote(),
    )
    assert Codec[Envelope[MarketEvent]](Envelope[MarketEvent]).decode(encode(envelope)) == envelope


def test_reply_and_dead_letter_round_trip() -> None:
    reply = Reply[BarClosed](ok=True, result=example_of(BarClosed))
    assert Codec[Reply[BarClosed]](Reply[BarClosed]).decode(encode(reply)) == reply
    refusal = Reply[BarClosed](ok=False, error_code="unknown_symbol", error="no such symbol")
    assert Codec[Reply[BarClosed]](Reply[BarClosed]).decode(encode(refusal)) == refusal
    letter = example_of(DeadLetter)
    assert Codec[DeadLetter](DeadLetter).decode(encode(letter)) == letter
    _assert_valid(spec_of(DeadLetter), json.loads(encode(letter)))


# --- versions and upcasters ------------------------------------------------------------------


class PriceNudged(Event, frozen=True, kw_only=True):
    """Test-only event, version 1."""

    symbol: Symbol
    by: Decimal


class PriceNudgedV2(Event, frozen=True, kw_only=True):
    """Test-only event, version 2: the width of the move got a unit."""

    symbol: Symbol
    by: Decimal
    timeframe: Timeframe


register_upcaster(
    PriceNudged, lambda old: PriceNudgedV2(symbol=old.symbol, by=old.by, timeframe=Timeframe.M1)
)


def test_versions_have_their_own_tags() -> None:
    assert spec_of(PriceNudged).tag == "price_nudged.v1"
    assert spec_of(PriceNudgedV2).tag == "price_nudged.v2"
    assert spec_of(PriceNudgedV2).name == "price_nudged"


def test_old_version_decodes_as_itself_and_upcasts_to_the_new_one() -> None:
    codec = Codec[PriceNudged | PriceNudgedV2](PriceNudged | PriceNudgedV2)
    stored = b'{"type": "price_nudged.v1", "symbol": "AAPL", "by": "0.01"}'
    decoded = codec.decode(stored)
    assert decoded == PriceNudged(symbol=Symbol("AAPL"), by=Decimal("0.01"))
    assert upcast(decoded) == PriceNudgedV2(
        symbol=Symbol("AAPL"), by=Decimal("0.01"), timeframe=Timeframe.M1
    )


def test_current_version_is_left_as_it_is_by_upcast() -> None:
    current = PriceNudgedV2(symbol=Symbol("AAPL"), by=Decimal(1), timeframe=Timeframe.H1)
    assert upcast(current) is current


def test_an_upcaster_is_registered_once() -> None:
    with pytest.raises(ValueError, match="already"):
        register_upcaster(PriceNudged, lambda old: old)


# --- the example builder behind these tests --------------------------------------------------


class _Leg(msgspec.Struct, frozen=True, kw_only=True):
    price: Decimal
    at: datetime


class _Ticket(msgspec.Struct, frozen=True, kw_only=True):
    legs: tuple[_Leg, ...]
    note: str | None = None
    side: Timeframe
    tags: dict[str, int] = {}
    parent: _Ticket | None = None


def test_example_builder_fills_every_field_from_annotations() -> None:
    ticket = example_of(_Ticket)
    assert ticket.legs == (_Leg(price=Decimal("1.5"), at=EXAMPLE_TIME),)
    assert ticket.note == "note-1"
    assert ticket.side is Timeframe.M1
    assert ticket.tags == {"key-1": 1}
    assert ticket.legs[0].at.tzinfo is UTC


def test_example_builder_stops_recursing_into_optional_fields() -> None:
    depth, node = 0, example_of(_Ticket)
    while node.parent is not None:
        depth, node = depth + 1, node.parent
    assert 0 < depth < 10


def test_example_builder_prefers_class_field_overrides_over_field_overrides() -> None:
    overrides = {"_Ticket.note": "by class", "note": "by field", "price": Decimal(2)}
    ticket = example_of(_Ticket, overrides)
    assert ticket.note == "by class"
    assert ticket.legs[0].price == Decimal(2)


def test_json_nested_too_deeply_is_a_decode_error_like_any_malformed_message() -> None:
    deep = b'{"type": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    with pytest.raises(msgspec.DecodeError, match="nested too deeply"):
        Codec(Any).decode(deep)
    with pytest.raises(DecodeError):
        Codec(dict[str, Any]).decode(deep)
