"""Schema compatibility: whether a new message schema still reads all the published one did."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_DESCRIPTIVE = frozenset({"title", "description", "default", "examples", "$comment", "$schema"})
# Bounds (papertape.contract.bounds) tighten what a new message may carry, not how a stored one
# reads: history written before a bound is repaired or voided on read (codec.HistoryCodec), so
# adding or changing one is not a retyping.
_CONSTRAINTS = frozenset(
    {
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "pattern",
        "minLength",
        "maxLength",
    }
)
_NESTED = frozenset(
    {
        "$ref",
        "$defs",
        "properties",
        "required",
        "items",
        "prefixItems",
        "additionalProperties",
        "anyOf",
        "oneOf",
        "enum",
    }
)


def incompatibilities(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Why ``new`` cannot read all ``old`` described: removed, retyped, newly required fields."""
    return _Comparison(old, new).issues(old, new, "$")


@dataclass
class _Comparison:
    old_root: Mapping[str, Any]
    new_root: Mapping[str, Any]
    _seen: set[tuple[int, int]] = field(default_factory=set)

    def issues(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> list[str]:
        old, new = _resolve(self.old_root, old), _resolve(self.new_root, new)
        if (id(old), id(new)) in self._seen:
            return []
        self._seen.add((id(old), id(new)))
        if "properties" in old and "properties" in new:
            return self._struct(old, new, path)
        if "anyOf" in old or "anyOf" in new:
            return self._union(old, new, path)
        found: list[str] = []
        if "enum" in old or "enum" in new:
            lost = [v for v in old.get("enum", ()) if v not in new.get("enum", ())]
            if lost or "enum" not in old:
                found.append(f"{path}: retyped (values {lost or 'constrained'} no longer accepted)")
        for key in ("items", "additionalProperties"):
            if isinstance(old.get(key), Mapping) and isinstance(new.get(key), Mapping):
                found += self.issues(old[key], new[key], f"{path}[]")
        old_prefix, new_prefix = old.get("prefixItems", []), new.get("prefixItems", [])
        if len(old_prefix) != len(new_prefix):
            found.append(f"{path}: retyped (tuple of {len(old_prefix)} -> {len(new_prefix)})")
        for i, (o, n) in enumerate(zip(old_prefix, new_prefix, strict=False)):
            found += self.issues(o, n, f"{path}[{i}]")
        if _plain(old) != _plain(new):
            found.append(f"{path}: retyped ({_describe(old)} -> {_describe(new)})")
        return found

    def _struct(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> list[str]:
        found: list[str] = []
        old_props, new_props = old["properties"], new["properties"]
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        for name in old_props:
            if name not in new_props:
                found.append(f"{path}.{name}: removed")
        for name in new_props:
            if name in new_required and name not in old_required:
                what = "now required" if name in old_props else "new required field"
                found.append(f"{path}.{name}: {what}")
            if name in old_props:
                found += self.issues(old_props[name], new_props[name], f"{path}.{name}")
        return found

    def _union(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> list[str]:
        new_variants = list(new.get("anyOf", [new]))
        found: list[str] = []
        for variant in old.get("anyOf", [old]):
            attempts = [self._trial(variant, candidate, path) for candidate in new_variants]
            if any(not attempt for attempt in attempts):
                continue
            same_kind = [
                attempt
                for attempt, candidate in zip(attempts, new_variants, strict=True)
                if _kind(self.old_root, variant) == _kind(self.new_root, candidate)
            ]
            lost = _describe(_resolve(self.old_root, variant))
            found += same_kind[0] if same_kind else [f"{path}: retyped ({lost} no longer accepted)"]
        return found

    def _trial(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> list[str]:
        saved = set(self._seen)
        try:
            return self.issues(old, new, path)
        finally:
            self._seen = saved


def _resolve(root: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    hops = 0
    while "$ref" in node and str(node["$ref"]).startswith("#/"):
        target: Any = root
        for part in str(node["$ref"])[2:].split("/"):
            target = target[part]
        node, hops = target, hops + 1
        if hops > 32:
            raise ValueError(f"$ref cycle at {node!r}")
    return node


def _plain(node: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in node.items()
        if k not in _DESCRIPTIVE
        and k not in _NESTED
        and k not in _CONSTRAINTS
        and not k.startswith("x-")
    }


def _kind(root: Mapping[str, Any], node: Mapping[str, Any]) -> str:
    node = _resolve(root, node)
    if "properties" in node:
        return f"object:{node.get('title', '')}"
    return str(node.get("type", "enum" if "enum" in node else "any"))


def _describe(node: Mapping[str, Any]) -> str:
    if "title" in node:
        return str(node["title"])
    shown = {k: v for k, v in node.items() if k not in _DESCRIPTIVE}
    return json.dumps(shown, sort_keys=True) if shown else "any"
