"""proto/: JSON Schema per message type and version, and an AsyncAPI document, from the structs.

``python -m papertape.contract.schemas write`` (``make schemas``) regenerates proto/ and refuses to
overwrite a published version with an incompatible one; ``check`` exits non-zero when proto/ is
stale or a published version changed incompatibly.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from papertape.contract.compatibility import incompatibilities
from papertape.contract.events.base import schema_version, snake
from papertape.contract.events.catalog import (
    ROUTES,
    MessageSpec,
    Route,
    all_types,
    public_module,
    spec_of,
)
from papertape.contract.events.envelope import ReplyErrorCode
from papertape.contract.events.execution import WorkingOrders
from papertape.contract.events.market import BarHistory
from papertape.contract.events.notifications import NOTIFICATION_REPLY_PAYLOADS
from papertape.contract.events.portfolio import CommandResult
from papertape.contract.events.reports import REPLY_PAYLOADS
from papertape.contract.events.sessions import SESSION_REPLY_PAYLOADS
from papertape.contract.instruments import Instrument
from papertape.contract.sockets import SOCKET_TYPES, socket_tag
from papertape.contract.subjects import Subjects

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_PATH = "asyncapi.json"
README_PATH = "README.md"
_REGENERATE = "run `make schemas`"


# --- generation --------------------------------------------------------------------------------


def message_schema(spec: MessageSpec) -> dict[str, Any]:
    """The JSON Schema (Draft 2020-12) of one message type; definitions under ``$defs``."""
    origin = f"{public_module(spec.cls)}.{spec.cls.__qualname__}"
    return {
        "$schema": DIALECT,
        "$comment": f"generated from {origin} by `make schemas`: do not edit",
        "title": spec.tag or spec.cls.__name__,
        **msgspec.json.schema(spec.cls),
    }


REPLY_TYPES: tuple[type[Any], ...] = (
    *REPLY_PAYLOADS,
    *SESSION_REPLY_PAYLOADS,
    *NOTIFICATION_REPLY_PAYLOADS,
    CommandResult,
    BarHistory,
    Instrument,
    WorkingOrders,
    ReplyErrorCode,
)
"""What travels in ``Reply.result`` (and the codes in ``Reply.error_code``): no tag, no route."""


def reply_schema_path(cls: type[Any]) -> str:
    """Where a reply payload's (or the error codes') schema lives, relative to proto/."""
    return f"schemas/replies/{snake(cls.__name__)}.v{schema_version(cls)}.json"


def reply_schema(cls: type[Any]) -> dict[str, Any]:
    """The JSON Schema of a reply payload or of the reply error codes."""
    origin = f"{public_module(cls)}.{cls.__qualname__}"
    return {
        "$schema": DIALECT,
        "$comment": f"generated from {origin} by `make schemas`: do not edit",
        "title": cls.__name__,
        **msgspec.json.schema(cls),
    }


def socket_schema_path(cls: type[Any]) -> str:
    """Where a WebSocket message's schema lives, relative to proto/."""
    return f"schemas/websocket/{socket_tag(cls)}.v1.json"


def _summary(cls: type[Any]) -> str:
    return (cls.__doc__ or cls.__name__).strip().splitlines()[0]


def _stream_of(subject: str, subjects: Subjects) -> str | None:
    for stream in subjects.streams():
        if any(subject_matches(pattern, subject) for pattern in stream.subjects):
            return stream.name
    return None


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS matching: ``*`` is one token, a final ``>`` is one or more."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


def channel_regex(channel: str) -> re.Pattern[str]:
    """A regex for the subjects a channel pattern stands for (``{param}`` is one token)."""
    parts = []
    for token in channel.split("."):
        if token == ">":
            parts.append(r"[^.]+(?:\.[^.]+)*")
        elif re.fullmatch(r"\{\w+\}", token):
            parts.append(r"[^.]+")
        else:
            parts.append(re.escape(token))
    return re.compile(r"\.".join(parts))


_WRAPPED_FIELD = {"Envelope": "data", "Request": "body", "Reply": "result"}


def _message_key(spec: MessageSpec, wrapper: type[Any] | None) -> str:
    return spec.key if wrapper is None else f"{snake(wrapper.__name__)}.{spec.key}"


def _message(spec: MessageSpec, wrapper: type[Any] | None) -> dict[str, Any]:
    payload: dict[str, Any] = {"$ref": spec.schema_path}
    if wrapper is not None:
        inner = _WRAPPED_FIELD[wrapper.__name__]
        payload = {
            "allOf": [
                {"$ref": spec_of(wrapper).schema_path},
                {"type": "object", "properties": {inner: payload}},
            ]
        }
    message: dict[str, Any] = {
        "name": spec.tag or spec.name,
        "title": spec.cls.__name__,
        "summary": _summary(spec.cls),
        "contentType": "application/json",
        "payload": payload,
    }
    if spec.tag is not None:
        message["x-type"] = spec.tag
    return message


def _one_of(keys: Sequence[str]) -> dict[str, Any]:
    refs = [{"$ref": f"#/components/messages/{key}"} for key in keys]
    return refs[0] if len(refs) == 1 else {"oneOf": refs}


def asyncapi_document(
    specs: Sequence[MessageSpec], routes: Sequence[Route] = ROUTES
) -> dict[str, Any]:
    """An AsyncAPI 2.6 document: every subject pattern, its stream and the messages it carries."""
    subjects = Subjects()
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    for route in routes:
        carried = [spec for spec in specs if route.carries(spec)]
        if not carried and route.wrapper is not None:
            carried = [spec_of(route.wrapper)]  # nothing defined yet: the bare wrapper
            wrapper = None
        else:
            wrapper = route.wrapper
        keys = []
        for spec in carried:
            key = _message_key(spec, wrapper)
            messages[key] = _message(spec, wrapper)
            keys.append(key)
        requested = route.reply is not None
        operation: dict[str, Any] = {
            "operationId": snake_channel(route.channel),
            "summary": route.description,
            "message": _one_of(keys),
        }
        channel: dict[str, Any] = {"description": route.description}
        if route.parameters:
            channel["parameters"] = {
                name: {"description": text, "schema": {"type": "string"}}
                for name, text in route.parameters.items()
            }
        # AsyncAPI 2 speaks from the platform's side: it publishes events (clients subscribe)
        # and receives requests (clients publish).
        channel["publish" if requested else "subscribe"] = operation
        stream = _stream_of(route.example(subjects), subjects)
        if stream is not None:
            channel["x-stream"] = stream
        if route.reply is not None:
            reply = spec_of(route.reply)
            messages[reply.key] = _message(reply, None)
            channel["x-reply"] = _one_of([reply.key])
        channels[route.channel] = channel
    return {
        "asyncapi": "2.6.0",
        "id": "urn:papertape",
        "info": {
            "title": "papertape",
            "version": "1.0.0",
            "description": "Every subject and stream of the papertape bus, and what travels on it.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "url": "nats://127.0.0.1:4222",
                "protocol": "nats",
                "description": "NATS with JetStream",
            },
        },
        "channels": channels,
        "components": {"messages": dict(sorted(messages.items()))},
        "x-streams": [msgspec.to_builtins(stream) for stream in subjects.streams()],
    }


def snake_channel(channel: str) -> str:
    """An operation id from a channel pattern: ``md.quote.{symbol}`` -> ``md_quote_symbol``."""
    return "_".join(re.findall(r"\w+", channel))


def _render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


_README = """\
# proto/: the contract of every message on the bus

Generated by `make schemas` (`uv run python -m papertape.contract.schemas write`) from the
structs in `papertape.contract.events`; do not edit by hand. `tests/contract/test_proto.py` fails
when these files are stale or a published version changed incompatibly.

- `schemas/<context>/<name>.v<N>.json`: JSON Schema (Draft 2020-12) of one message type at one
  version; `<context>` is the module of `papertape.contract.events` that defines it. The `type`
  field of every message carries its tag, `<name>.v<N>`.
- `schemas/envelope/*.json`: the envelope, request, reply and dead-letter structs.
- `schemas/replies/*.json`: what a reply's `result` carries (account summary, positions,
  trades, report …; `papertape.contract.events.portfolio.QUERY_RESULTS` says which query
  answers with which) and `reply_error_code`, every `error_code` an error reply can carry.
- `schemas/websocket/*.json`: every message of the gateway's WebSocket `/ws`, the client's and
  the server's (`papertape.contract.sockets`); the `type` field carries the bare name.
- `asyncapi.json`: AsyncAPI 2.6: every subject pattern, its JetStream stream (`x-stream`) and
  the messages it carries; the streams themselves under `x-streams`.

A published version never changes incompatibly (removed or retyped field, new required field):
define `<Name>V<N+1>` and register an upcaster in `papertape.contract.codec` instead.
"""


def generate(specs: Sequence[MessageSpec] | None = None) -> dict[str, str]:
    """Every file of proto/ (path relative to proto/ -> content)."""
    replies = REPLY_TYPES if specs is None else ()
    specs = all_types() if specs is None else specs
    files = {spec.schema_path: _render(message_schema(spec)) for spec in specs}
    files.update({reply_schema_path(cls): _render(reply_schema(cls)) for cls in replies})
    sockets = SOCKET_TYPES if replies else ()
    files.update({socket_schema_path(cls): _render(reply_schema(cls)) for cls in sockets})
    files[ASYNCAPI_PATH] = _render(asyncapi_document(specs))
    files[README_PATH] = _README
    return dict(sorted(files.items()))


# --- proto/ on disk ----------------------------------------------------------------------------


@dataclass
class Drift:
    """How proto/ on disk differs from what the code generates."""

    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    orphaned: list[str] = field(default_factory=list)
    incompatible: dict[str, list[str]] = field(default_factory=dict)

    @property
    def stale(self) -> bool:
        """Whether proto/ must be regenerated."""
        return bool(self.changed or self.missing or self.orphaned)

    def report(self) -> str:
        """A human-readable account of the drift."""
        lines = [f"proto/ differs from the code ({_REGENERATE}):"] if self.stale else []
        lines += [f"  changed: {p}" for p in self.changed]
        lines += [f"  missing: {p}" for p in self.missing]
        lines += [
            f"  no longer generated (a published version was removed): {p}" for p in self.orphaned
        ]
        for path, issues in self.incompatible.items():
            lines.append(
                f"incompatible change to published {path}: define a new version "
                "(<Name>V<N+1>) and an upcaster instead"
            )
            lines += [f"  {issue}" for issue in issues]
        return "\n".join(lines)


def on_disk(proto: Path) -> dict[str, str]:
    """The generated files present in a proto/ folder."""
    paths = sorted(proto.glob("schemas/**/*.json"))
    found = {p.relative_to(proto).as_posix(): p.read_text() for p in paths}
    for name in (ASYNCAPI_PATH, README_PATH):
        if (proto / name).is_file():
            found[name] = (proto / name).read_text()
    return found


def compare(generated: Mapping[str, str], present: Mapping[str, str]) -> Drift:
    """The drift between generated files and those on disk, with incompatible schema changes."""
    drift = Drift()
    for path, content in generated.items():
        if path not in present:
            drift.missing.append(path)
        elif present[path] != content:
            drift.changed.append(path)
            if path.startswith("schemas/"):
                issues = incompatibilities(json.loads(present[path]), json.loads(content))
                if issues:
                    drift.incompatible[path] = issues
    drift.orphaned = [path for path in present if path not in generated]
    return drift


def check(proto: Path) -> Drift:
    """Compare proto/ with the code."""
    return compare(generate(), on_disk(proto))


def write(proto: Path, force: bool = False) -> Drift:
    """Regenerate proto/; refuses incompatible changes and removals unless ``force``."""
    generated = generate()
    drift = compare(generated, on_disk(proto))
    if (drift.incompatible or drift.orphaned) and not force:
        return drift
    for path in drift.orphaned:
        (proto / path).unlink()
    for path in drift.changed + drift.missing:
        target = proto / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(generated[path])
    return Drift(changed=drift.changed, missing=drift.missing, orphaned=drift.orphaned)


def default_proto(start: Path | None = None) -> Path:
    """proto/ of the workspace around ``start`` (the current folder by default)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        manifest = folder / "pyproject.toml"
        if manifest.is_file() and "[tool.uv.workspace]" in manifest.read_text():
            return folder / "proto"
    return here / "proto"


def main(argv: Sequence[str] | None = None) -> int:
    """``write`` or ``check`` proto/ (exit status 1 on drift or a refused write)."""
    parser = argparse.ArgumentParser(
        prog="python -m papertape.contract.schemas", description=__doc__
    )
    parser.add_argument("action", choices=("write", "check"))
    parser.add_argument(
        "--proto", type=Path, default=None, help="the proto/ folder (default: the workspace's)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write even incompatible changes and removals (unpublished work only)",
    )
    args = parser.parse_args(argv)
    args.proto = args.proto or default_proto()
    if args.action == "check":
        drift = check(args.proto)
        if drift.stale:
            print(drift.report(), file=sys.stderr)
            return 1
        print(f"proto/ is up to date ({len(generate())} files)")
        return 0
    drift = write(args.proto, force=args.force)
    if (drift.incompatible or drift.orphaned) and not args.force:
        print(drift.report(), file=sys.stderr)
        print(
            "nothing written; pass --force only if these versions were never published",
            file=sys.stderr,
        )
        return 1
    print(
        f"proto/: {len(drift.missing)} new, {len(drift.changed)} changed, "
        f"{len(drift.orphaned)} removed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
