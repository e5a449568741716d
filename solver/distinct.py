"""What makes recommended slots *distinct*, shared by every search.

Two slots are the same option to a customer when they start at the same
time (whoever does the work), or when they keep the same technician busy at
overlapping times. The top-K are pairwise distinct by this rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from solver.constraints import Candidate


def conflict(a: Candidate, b: Candidate, duration: int) -> bool:
    """True when ``a`` and ``b`` may not both be recommended."""
    return a.start == b.start or (a.tech == b.tech and abs(a.start - b.start) < duration)


def max_conflict_degree(candidates: Sequence[Candidate], duration: int, step: int) -> int:
    """An upper bound on how many other candidates one candidate can conflict with."""
    if not candidates:
        return 0
    same_start = max(Counter(c.start for c in candidates).values()) - 1
    overlapping_same_tech = 2 * ((duration - 1) // step)
    return same_start + overlapping_same_tech


def prune_size(top_k: int, degree: int) -> int:
    """How many cheapest candidates surely contain an optimal top-K set.

    If a best set used a candidate outside the ``(K-1)(D+1)+1`` cheapest, its
    other K-1 members block at most ``(K-1)(D+1)`` of those, so one of them is
    free to take its place at no greater cost. Hence the top-K problem only
    ever needs this many candidates, whatever the shop's size.
    """
    return (top_k - 1) * (degree + 1) + 1


def first_fit(order: Sequence[int], candidates: Sequence[Candidate], duration: int, top_k: int) -> list[int]:
    """Walk ``order`` and keep each candidate distinct from those kept, up to ``top_k``."""
    kept: list[int] = []
    for i in order:
        if all(not conflict(candidates[i], candidates[j], duration) for j in kept):
            kept.append(i)
            if len(kept) == top_k:
                break
    return kept
