"""proto/ is the contract: it matches the code, and published versions only change compatibly."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import jsonschema  # type: ignore[import-untyped]
import msgspec
import pytest

from papertape.contract.compatibility import incompatibilities
from papertape.contract.events.base import Command, Event, Message
from papertape.contract.events.catalog import (
    ROUTES,
    MessageSpec,
    Route,
    all_types,
    message_types,
    routes_for,
    unrouted,
)
from papertape.contract.events.envelope import Envelope, ReplyErrorCode
from papertape.contract.events.market import BarClosed, QuoteReceived
from papertape.contract.events.portfolio import QUERY_RESULTS
from papertape.contract.events.reports import AccountListing
from papertape.contract.ids import AccountId
from papertape.contract.schemas import (
    ASYNCAPI_PATH,
    REPLY_TYPES,
    channel_regex,
    check,
    compare,
    default_proto,
    generate,
    main,
    on_disk,
    reply_schema_path,
    subject_matches,
    write,
)
from papertape.contract.subjects import Subjects

PROTO = Path(__file__).resolve().parents[2] / "proto"


def _schema(properties: dict[str, Any], required: list[str], **defs: Any) -> dict[str, Any]:
    """A hand-made schema in msgspec's shape: a $ref to a struct under $defs."""
    struct = {"title": "Thing", "type": "object", "properties": properties, "required": required}
    return {"$ref": "#/$defs/Thing", "$defs": {"Thing": struct, **defs}}


STR = {"type": "string"}
INT = {"type": "integer"}
DECIMAL = {"type": "string", "format": "decimal"}
OPTIONAL_STR = {"anyOf": [STR, {"type": "null"}], "default": None}


# --- the compatibility rules, on hand-made schemas -------------------------------------------


def test_identical_schemas_are_compatible() -> None:
    schema = _schema({"a": STR, "b": INT}, ["a", "b"])
    assert incompatibilities(schema, schema) == []


def test_removed_field_is_incompatible() -> None:
    old = _schema({"a": STR, "b": INT}, ["a", "b"])
    new = _schema({"a": STR}, ["a"])
    assert incompatibilities(old, new) == ["$.b: removed"]


def test_retyped_field_is_incompatible() -> None:
    old = _schema({"price": DECIMAL}, ["price"])
    new = _schema({"price": {"type": "number"}}, ["price"])
    [issue] = incompatibilities(old, new)
    assert issue.startswith("$.price: retyped")


def test_bounds_added_to_a_field_are_compatible_because_history_is_repaired_on_read() -> None:
    old = _schema({"amount": DECIMAL, "ts": STR, "n": INT}, ["amount", "ts", "n"])
    bounded = {**DECIMAL, "x-minimum": "0", "x-maximum": "1E+12"}
    new = _schema(
        {
            "amount": bounded,
            "ts": {**STR, "format": "date-time"},
            "n": {**INT, "minimum": 1, "maximum": 10},
        },
        ["amount", "ts", "n"],
    )
    assert incompatibilities(old, new) == []


def test_new_required_field_is_incompatible() -> None:
    old = _schema({"a": STR}, ["a"])
    new = _schema({"a": STR, "b": INT}, ["a", "b"])
    assert incompatibilities(old, new) == ["$.b: new required field"]


def test_optional_field_becoming_required_is_incompatible() -> None:
    old = _schema({"a": STR, "b": OPTIONAL_STR}, ["a"])
    new = _schema({"a": STR, "b": OPTIONAL_STR}, ["a", "b"])
    assert incompatibilities(old, new) == ["$.b: now required"]


def test_new_optional_field_is_compatible() -> None:
    old = _schema({"a": STR}, ["a"])
    new = _schema({"a": STR, "note": OPTIONAL_STR}, ["a"])
    assert incompatibilities(old, new) == []


def test_new_descriptions_and_defaults_are_compatible() -> None:
    old = _schema({"a": {**INT, "default": 1}}, [])
    new = _schema({"a": {**INT, "default": 2, "description": "now documented"}}, [])
    assert incompatibilities(old, new) == []


def test_widening_a_field_to_optional_is_compatible() -> None:
    old = _schema({"a": STR}, ["a"])
    new = _schema({"a": OPTIONAL_STR}, ["a"])
    assert incompatibilities(old, new) == []


def test_narrowing_an_optional_field_is_incompatible() -> None:
    old = _schema({"a": OPTIONAL_STR}, [])
    new = _schema({"a": STR}, [])
    [issue] = incompatibilities(old, new)
    assert issue.startswith("$.a: retyped")


def test_removed_enum_value_is_incompatible_and_added_one_is_not() -> None:
    old = _schema({"side": {"$ref": "#/$defs/Side"}}, ["side"], Side={"enum": ["buy", "sell"]})
    fewer = _schema({"side": {"$ref": "#/$defs/Side"}}, ["side"], Side={"enum": ["buy"]})
    more = _schema(
        {"side": {"$ref": "#/$defs/Side"}}, ["side"], Side={"enum": ["buy", "sell", "x"]}
    )
    assert incompatibilities(old, more) == []
    [issue] = incompatibilities(old, fewer)
    assert "'sell'" in issue


def test_field_removed_from_a_nested_struct_is_incompatible() -> None:
    leg = {
        "title": "Leg",
        "type": "object",
        "properties": {"qty": INT, "px": DECIMAL},
        "required": ["qty", "px"],
    }
    thinner = {**leg, "properties": {"qty": INT}, "required": ["qty"]}
    array_of_legs = {"type": "array", "items": {"$ref": "#/$defs/Leg"}}
    old = _schema({"legs": array_of_legs}, ["legs"], Leg=leg)
    new = _schema({"legs": array_of_legs}, ["legs"], Leg=thinner)
    assert incompatibilities(old, new) == ["$.legs[].px: removed"]


def test_recursive_schemas_are_compared_without_looping() -> None:
    node = {"anyOf": [{"$ref": "#/$defs/Thing"}, {"type": "null"}], "default": None}
    schema = _schema({"child": node}, [])
    assert incompatibilities(schema, schema) == []


# --- the catalog -----------------------------------------------------------------------------


def test_catalog_finds_market_events_and_leaves_out_base_classes() -> None:
    classes = {spec.cls for spec in message_types()}
    assert {QuoteReceived, BarClosed} <= classes
    assert not {Message, Event, Command} & classes


def test_every_concrete_message_subclass_is_in_the_catalog() -> None:
    catalog = {spec.cls for spec in message_types()}
    leaves = [
        cls
        for cls in _subclasses(Message)
        if cls.__module__.startswith("papertape.contract.events.") and not cls.__subclasses__()
    ]
    assert set(leaves) <= catalog


def _subclasses(cls: type[Any]) -> list[type[Any]]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


def test_wire_tags_and_schema_paths_are_unique() -> None:
    specs = all_types()
    tags = [spec.tag for spec in specs if spec.tag is not None]
    assert len(tags) == len(set(tags))
    assert len({spec.schema_path for spec in specs}) == len(specs)


def test_every_message_type_is_carried_by_a_subject() -> None:
    missing = [spec.key for spec in unrouted()]
    assert missing == [], f"add these contexts or types to ROUTES in events/catalog.py: {missing}"


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.channel)
def test_route_pattern_matches_the_subject_its_builder_makes(route: Route) -> None:
    subject = route.example(Subjects())
    assert channel_regex(route.channel).fullmatch(subject), (route.channel, subject)


def test_events_on_streams_land_in_the_stream_that_holds_them() -> None:
    streams = {s.name: s.subjects for s in Subjects().streams()}
    quote_route = next(iter(routes_for(next(s for s in message_types() if s.cls is QuoteReceived))))
    assert any(subject_matches(p, quote_route.example(Subjects())) for p in streams["MARKET"])


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("md.>", "md.quote.AAPL", True),
        ("md.>", "md", False),
        ("acct.*.x", "acct.a.x", True),
        ("acct.*.x", "acct.a.b.x", False),
        ("exec.>", "md.quote.A", False),
    ],
)
def test_subject_matching_follows_nats_wildcards(
    pattern: str, subject: str, expected: bool
) -> None:
    assert subject_matches(pattern, subject) is expected


# --- proto/ against the code -----------------------------------------------------------------


def test_proto_is_not_stale() -> None:
    drift = compare(generate(), on_disk(PROTO))
    assert drift.missing == [], drift.report()
    assert drift.changed == [], drift.report()


def test_no_published_message_version_changed_incompatibly_or_disappeared() -> None:
    drift = check(PROTO)
    assert not drift.incompatible, drift.report()
    assert not drift.orphaned, drift.report()


@pytest.mark.parametrize("spec", all_types(), ids=lambda s: s.key)
def test_generated_schema_is_a_valid_draft_2020_12_schema(spec: MessageSpec) -> None:
    schema = json.loads(generate([spec])[spec.schema_path])
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_asyncapi_references_resolve_to_messages_and_schema_files() -> None:
    files = generate()
    document = json.loads(files[ASYNCAPI_PATH])
    messages = document["components"]["messages"]
    refs = json.dumps(document["channels"])
    for name in messages:
        assert f"#/components/messages/{name}" in refs or name.startswith("envelope.reply")
    for channel in document["channels"].values():
        operation = channel.get("subscribe") or channel["publish"]
        for ref in operation["message"].get("oneOf", [operation["message"]]):
            assert ref["$ref"].removeprefix("#/components/messages/") in messages
    payload_files = set(_file_refs(messages))
    assert payload_files
    assert payload_files <= set(files)


def _file_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        own = [ref] if isinstance(ref, str) and not ref.startswith("#") else []
        return own + [ref for value in node.values() for ref in _file_refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _file_refs(value)]
    return []


def test_asyncapi_declares_every_stream_with_its_subjects() -> None:
    document = json.loads(generate()[ASYNCAPI_PATH])
    declared = {s["name"]: s["subjects"] for s in document["x-streams"]}
    assert declared == {s.name: list(s.subjects) for s in Subjects().streams()}
    assert document["channels"]["acct.{account_id}.{event}"]["x-stream"] == "ACCOUNTS"


def test_write_makes_a_proto_folder_that_checks_clean(tmp_path: Path) -> None:
    written = write(tmp_path)
    assert written.missing
    assert written.changed == []
    assert not check(tmp_path).stale
    assert main(["check", "--proto", str(tmp_path)]) == 0


def test_check_fails_and_names_make_schemas_when_a_file_is_stale(tmp_path: Path) -> None:
    write(tmp_path)
    (tmp_path / ASYNCAPI_PATH).write_text("{}\n")
    drift = check(tmp_path)
    assert drift.changed == [ASYNCAPI_PATH]
    assert "make schemas" in drift.report()
    assert main(["check", "--proto", str(tmp_path)]) == 1


def test_write_refuses_to_overwrite_a_published_version_incompatibly(tmp_path: Path) -> None:
    write(tmp_path)
    spec = next(s for s in message_types() if s.cls is QuoteReceived)
    published = tmp_path / spec.schema_path
    schema = json.loads(published.read_text())
    # As if the code had since dropped a field that the published version had.
    schema["$defs"]["QuoteReceived"]["properties"]["venue"] = {"type": "string"}
    published.write_text(json.dumps(schema))
    assert main(["write", "--proto", str(tmp_path)]) == 1
    assert json.loads(published.read_text()) == schema
    assert check(tmp_path).incompatible == {spec.schema_path: ["$.venue: removed"]}
    assert main(["write", "--force", "--proto", str(tmp_path)]) == 0
    assert not check(tmp_path).stale


def test_write_refuses_to_remove_a_published_version(tmp_path: Path) -> None:
    write(tmp_path)
    gone = tmp_path / "schemas/market/quote_received.v0.json"
    gone.write_text(msgspec.json.encode({"title": "quote_received.v0"}).decode())
    assert write(tmp_path).orphaned == ["schemas/market/quote_received.v0.json"]
    assert gone.exists()


def test_the_default_proto_folder_is_the_workspaces(tmp_path: Path) -> None:
    assert default_proto(PROTO.parent / "libs" / "common") == PROTO
    assert default_proto(tmp_path) == tmp_path / "proto"


# --- replies -----------------------------------------------------------------------------------


def test_every_query_result_and_the_reply_error_codes_have_a_schema_in_proto() -> None:
    files = on_disk(PROTO)
    payloads = {
        arg
        for result in QUERY_RESULTS.values()
        for arg in (get_args(result) or (result,))
        if isinstance(arg, type) and issubclass(arg, msgspec.Struct)
    }
    assert payloads - {Envelope} <= set(REPLY_TYPES)
    for cls in REPLY_TYPES:
        schema = json.loads(files[reply_schema_path(cls)])
        jsonschema.Draft202012Validator.check_schema(schema)
    codes = json.loads(files[reply_schema_path(ReplyErrorCode)])["$defs"]["ReplyErrorCode"]
    assert codes["enum"] == sorted(code.value for code in ReplyErrorCode)


def test_a_query_result_validates_against_its_schema_in_proto() -> None:
    schema = json.loads(on_disk(PROTO)[reply_schema_path(AccountListing)])
    listing = AccountListing(
        account_id=AccountId("a"),
        name="A",
        base_currency="JPY",
        equity=Decimal(1000),
        cash=Decimal(1000),
        version=3,
    )
    jsonschema.validate(json.loads(msgspec.json.encode(listing)), schema)
