"""Pickling slotted dataclasses as ``cls(*fields)``: what crosses a process boundary often.

Ray ships commands, calendar views, hold tokens and solver problems between
processes on every search and booking. The default pickling of a frozen,
slotted dataclass restores it field by field through ``dataclasses.fields``
in Python; measured under the HTTP bench it was about a tenth of the front
end's CPU on a search. Rebuilding through the constructor is one call.
"""

from __future__ import annotations

from typing import Any


class FastPickle:
    """Mixin for a frozen, slotted dataclass whose constructor takes its fields in order.

    Only for classes whose ``__init__`` (and ``__post_init__``) accept their
    own stored values unchanged; a class that normalizes in ``__post_init__``
    pays that again on every load.
    """

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        names: tuple[str, ...] = self.__slots__
        return (self.__class__, tuple(getattr(self, name) for name in names))
