"""Registries of plug-in kinds by name, and the one "did you mean" hint every name lookup gives.

A registry is an explicit object filled in one place; looking up a name it does not hold raises
the registry's own error, whose message suggests the closest registered names (or lists them all
when none is close). Lookups that are not registries (template placeholders, ``builtin:`` names)
use :func:`did_you_mean` so the hint reads the same everywhere.

>>> sources = Registry[int]("telemetry source", ValueError)
>>> sources.register("nvml", 1)
>>> sources.register("simulated", 2)
>>> sources.get("nvml")
1
>>> sources.get("nvlm")
Traceback (most recent call last):
...
ValueError: unknown telemetry source 'nvlm' (did you mean 'nvml'?)
>>> sources.get("x")
Traceback (most recent call last):
...
ValueError: unknown telemetry source 'x' (known: nvml, simulated)
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


def closest(name: str, known: Iterable[str], *, n: int = 3, cutoff: float = 0.5) -> list[str]:
    """Up to ``n`` names of ``known`` closest to ``name``, best first (difflib's ratio >= cutoff)."""
    return difflib.get_close_matches(str(name), list(known), n=n, cutoff=cutoff)


def did_you_mean(name: str, known: Iterable[str], *, n: int = 3, cutoff: float = 0.5) -> str:
    """``" (did you mean 'a' or 'b'?)"`` for the names of ``known`` closest to ``name``, or ``""``.

    >>> did_you_mean("latncy", ["latency", "bandwidth"])
    " (did you mean 'latency'?)"
    >>> did_you_mean("zzz", ["latency"])
    ''
    """
    close = closest(name, known, n=n, cutoff=cutoff)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def suggestion(name: str, known: Iterable[str], *, n: int = 3, cutoff: float = 0.5) -> str:
    """:func:`did_you_mean`, or ``" (known: a, b)"`` (every name, sorted) when none is close.

    >>> suggestion("zzz", ["b", "a"])
    ' (known: a, b)'
    """
    names = sorted(known)
    return did_you_mean(name, names, n=n, cutoff=cutoff) or f" (known: {', '.join(names)})"


class Registry(Generic[T]):
    """Items by name. ``what`` names the kind of item in messages ("fault kind");
    ``error`` builds the exception an unknown name raises from its message."""

    def __init__(self, what: str, error: Callable[[str], Exception]) -> None:
        self.what = what
        self._error = error
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> None:
        """Add ``item`` as ``name``. Raises ValueError if the name is taken (a programming error)."""
        if name in self._items:
            raise ValueError(f"{self.what} {name!r} registered twice")
        self._items[name] = item

    def names(self) -> tuple[str, ...]:
        """Every registered name, sorted."""
        return tuple(sorted(self._items))

    def get(self, name: str) -> T:
        """The item called ``name``. Raises the registry's error (see :meth:`unknown`)."""
        try:
            return self._items[name]
        except (KeyError, TypeError):  # TypeError: an unhashable name from parsed input
            raise self.unknown(name) from None

    def unknown(self, name: str) -> Exception:
        """The error for an unknown ``name``: ``unknown <what> 'name'`` and :func:`suggestion`."""
        return self._error(f"unknown {self.what} {name!r}{self.hint(name)}")

    def hint(self, name: str) -> str:
        """:func:`suggestion` over the registered names."""
        return suggestion(name, self._items)

    def __contains__(self, name: object) -> bool:
        try:
            return name in self._items
        except TypeError:
            return False

    def __iter__(self) -> Iterator[T]:
        """The items in name order."""
        return (self._items[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._items)
