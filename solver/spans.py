"""Integer-minute spans and the arithmetic the solver needs on them.

The solver works in whole minutes counted from a problem's origin instant, so
that candidate generation is cheap integer arithmetic rather than datetime
arithmetic. A span is a half-open ``(start, end)`` pair of ints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Span = tuple[int, int]
"""Half-open ``[start, end)`` in minutes from the problem's origin."""


def normalize(spans: Iterable[Span]) -> list[Span]:
    """Sorted, merged, non-empty spans (touching spans are joined)."""
    out: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def intersect(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    """Intersection of two normalized span lists (linear merge)."""
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(base: Sequence[Span], holes: Sequence[Span]) -> list[Span]:
    """``base`` minus ``holes``; both normalized."""
    out: list[Span] = []
    j = 0
    for start, end in base:
        cursor = start
        while j < len(holes) and holes[j][1] <= cursor:
            j += 1
        k = j
        while k < len(holes) and holes[k][0] < end:
            if holes[k][0] > cursor:
                out.append((cursor, holes[k][0]))
            cursor = max(cursor, holes[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def clip(spans: Sequence[Span], lo: int, hi: int) -> list[Span]:
    """Normalized ``spans`` cut to ``[lo, hi)``."""
    return intersect(spans, [(lo, hi)]) if lo < hi else []


def contains(spans: Sequence[Span], start: int, end: int) -> bool:
    """True when one span holds the whole of ``[start, end)``."""
    return any(s <= start and end <= e for s, e in spans)


def grid_starts(window: Span, duration: int, step: int) -> range:
    """Starts on the ``step`` grid (aligned to the origin) where ``duration`` fits in ``window``."""
    first = -(-window[0] // step) * step  # ceil to the grid
    last = window[1] - duration
    return range(first, last + 1, step) if last >= first else range(0)


def long_enough_spans(spans: Sequence[Span], length: int) -> list[Span]:
    """The spans at least ``length`` long."""
    return [s for s in spans if s[1] - s[0] >= length]
