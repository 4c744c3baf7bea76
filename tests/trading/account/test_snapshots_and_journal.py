"""Snapshots of the state and the append-only views that keep evolve cheap."""

from __future__ import annotations

import json

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from papertape.contract import codec
from papertape.contract.events.orders import OrderSide
from papertape.trading.account import (
    STATE_SCHEMA_VERSION,
    AccountSnapshot,
    from_snapshot,
    replay,
    to_snapshot,
)
from papertape.trading.account.journal import History, Registry
from papertape.trading.account.scenarios import Scenario, fill, mark, order, wide_open


def test_a_snapshot_round_trips_through_the_codec() -> None:
    s = Scenario(wide_open()).given(order("o1"), fill("o1", "100"), mark("101"))
    data = codec.encode(to_snapshot(s.state))
    snapshot = codec.Codec[AccountSnapshot](AccountSnapshot).decode(data)
    assert from_snapshot(snapshot) == s.state


def test_a_snapshot_of_another_schema_version_is_ignored() -> None:
    snapshot = msgspec.structs.replace(
        to_snapshot(Scenario(wide_open()).state), schema_version=STATE_SCHEMA_VERSION + 1
    )
    assert from_snapshot(snapshot) is None


def test_a_snapshot_written_before_trades_and_points_were_tagged_still_decodes() -> None:
    s = Scenario(wide_open()).given(
        order("o1"), fill("o1", "100"), order("o2", side=OrderSide.SELL), fill("o2", "101")
    )
    stored = json.loads(codec.encode(to_snapshot(s.state)))
    for item in (*stored["closed_trades"], *stored["curve"], stored["last_point"]):
        del item["type"]
    stored["schema_version"] = 1
    snapshot = codec.Codec[AccountSnapshot](AccountSnapshot).decode(json.dumps(stored))
    assert len(snapshot.closed_trades) == 1
    assert from_snapshot(snapshot) is None  # read, then ignored: schema 1 predates this state


def test_replay_continues_from_a_snapshot() -> None:
    s = Scenario(wide_open()).given(order("o1"), fill("o1", "100"))
    middle = len(s.events) - 1
    restored = from_snapshot(to_snapshot(replay(s.events[:middle])))
    assert restored is not None
    assert replay(s.events[middle:], restored) == s.state


def test_history_append_leaves_older_views_unchanged() -> None:
    empty: History[int] = History()
    one = empty.append(1)
    two = one.append(2)
    branch = one.append(3)
    assert (list(empty), list(one), list(two), list(branch)) == ([], [1], [1, 2], [1, 3])
    assert two[-1] == 2
    assert two[0:1] == [1]


def test_registry_add_leaves_older_views_unchanged() -> None:
    empty: Registry[str, int] = Registry()
    a = empty.add("a", 1)
    ab = a.add("b", 2)
    ac = a.add("c", 3)
    assert "a" not in empty
    assert ab.to_dict() == {"a": 1, "b": 2}
    assert ac.to_dict() == {"a": 1, "c": 3}
    assert ab.get("c") is None
    assert a.add("a", 9).get("a") == 1


def test_appending_what_a_branch_already_holds_shares_the_buffer() -> None:
    base = History([1, 2])
    look_ahead = base.append(3)  # decide's look-ahead evolve
    real = base.append(3)  # the shell's evolve of the same event
    diverged = base.append(4)
    assert look_ahead.to_list() == real.to_list() == [1, 2, 3]
    assert real._items is look_ahead._items  # no copy of the history
    assert diverged.to_list() == [1, 2, 4]
    assert look_ahead.to_list() == [1, 2, 3]  # a different item still branches


def test_adding_what_a_branch_already_holds_shares_the_registry() -> None:
    base = Registry.of({"a": 1})
    ahead = base.add("b", 2)
    real = base.add("b", 2)
    other = base.add("b", 3)
    assert real.get("b") == ahead.get("b") == 2
    assert real._entries is ahead._entries
    assert other.get("b") == 3
    assert ahead.get("b") == 2


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 5), st.integers(0, 3)), max_size=60))
def test_every_view_of_a_registry_reads_as_the_dict_it_models(
    steps: list[tuple[int, int, int]],
) -> None:
    """Adds on any earlier view (branches, repeats, shared buffers): each view's ``to_dict``,
    ``get`` and ``len`` are those of a plain dict built the same way, in insertion order."""
    views: list[tuple[Registry[int, int], dict[int, int]]] = [(Registry(), {})]
    for key, value, back in steps:
        registry, model = views[max(0, len(views) - 1 - back)]
        grown = dict(model) if key in model else {**model, key: value}
        views.append((registry.add(key, value), grown))
    for registry, model in views:
        assert registry.to_dict() == model
        assert list(registry.to_dict()) == list(model)
        assert len(registry) == len(model)
        assert all(registry.get(k) == v for k, v in model.items())
