"""Append-only views that let `evolve` grow long histories in O(1) without mutating old states.

A ``History`` (sequence) or ``Registry`` (map) is a length-bounded view over a shared buffer.
Appending to the newest view writes to the buffer and returns a longer view; older views keep
their length and never see the new items. Appending to an older view (a branch: evolving the
same state twice) copies its own prefix first, so every state stays immutable to its readers.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Generic, TypeVar, overload

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


class History(Sequence[T], Generic[T]):
    """An immutable sequence whose ``append`` returns a new, longer sequence in O(1)."""

    __slots__ = ("_items", "_size")

    def __init__(self, items: list[T] | None = None, size: int | None = None) -> None:
        self._items: list[T] = items if items is not None else []
        self._size = len(self._items) if size is None else size

    def append(self, item: T) -> History[T]:
        """A view with ``item`` at the end; this view is unchanged."""
        items = self._items
        if len(items) != self._size:
            if items[self._size] == item:
                # The same item was appended to this view before (decide looks ahead with
                # evolve, then the shell evolves for real): share it instead of copying.
                return History(items, self._size + 1)
            items = items[: self._size]
        items.append(item)
        return History(items, self._size + 1)

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        if isinstance(index, slice):
            return self._items[: self._size][index]
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError("history index out of range")
        return self._items[index]

    def __iter__(self) -> Iterator[T]:
        items = self._items
        for i in range(self._size):
            yield items[i]

    def to_list(self) -> list[T]:
        """A plain copy (for snapshots and replies)."""
        return self._items[: self._size]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, History):
            return NotImplemented
        return self._size == other._size and self.to_list() == other.to_list()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"History({self.to_list()!r})"


class Registry(Generic[K, V]):
    """An immutable map that only grows; ``add`` returns a new, larger map in O(1)."""

    __slots__ = ("_entries", "_size")

    def __init__(self, entries: dict[K, tuple[int, V]] | None = None, size: int = 0) -> None:
        # Each entry remembers its insertion number: a view of size n sees numbers below n.
        self._entries: dict[K, tuple[int, V]] = entries if entries is not None else {}
        self._size = size

    @classmethod
    def of(cls, items: dict[K, V]) -> Registry[K, V]:
        """A registry holding ``items``."""
        entries = {key: (n, value) for n, (key, value) in enumerate(items.items())}
        return cls(entries, len(entries))

    def get(self, key: K) -> V | None:
        """The value of ``key`` in this view, or None."""
        entry = self._entries.get(key)
        if entry is None or entry[0] >= self._size:
            return None
        return entry[1]

    def __contains__(self, key: object) -> bool:
        entry = self._entries.get(key)  # type: ignore[arg-type]
        return entry is not None and entry[0] < self._size

    def add(self, key: K, value: V) -> Registry[K, V]:
        """A view with ``key`` -> ``value`` added; keys already present are not replaced."""
        if key in self:
            return self
        entries = self._entries
        if len(entries) != self._size:
            if entries.get(key) == (self._size, value):
                return Registry(entries, self._size + 1)  # added to this view before: share
            entries = {k: e for k, e in entries.items() if e[0] < self._size}
        entries[key] = (self._size, value)
        return Registry(entries, self._size + 1)

    def __len__(self) -> int:
        return self._size

    def to_dict(self) -> dict[K, V]:
        """A plain copy in insertion order (for snapshots).

        The entries are kept in the order of their numbers (``add`` appends the next number, a
        copy keeps the order), so this view's are the first ``len(self)`` of them."""
        entries, size = self._entries, self._size
        if len(entries) == size:
            return {k: e[1] for k, e in entries.items()}
        return {k: e[1] for k, e in itertools.islice(entries.items(), size)}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Registry):
            return NotImplemented
        return self._size == other._size and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Registry({self.to_dict()!r})"
