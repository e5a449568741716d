"""What the use cases know about the neighbouring services: that one may be unavailable.

The Alert, Health and Inventory services are reached through ports; every
failure of one (a timeout, a refused connection, an answer that is not what
its contract promises, an open circuit) reaches the use cases as
``NeighbourUnavailable``, so each decides in one place what to do without it.
"""

from __future__ import annotations


class NeighbourUnavailable(Exception):
    """A neighbouring service could not give a usable answer (now); ``service`` names it."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} service unavailable: {reason}")
        self.service = service
        self.reason = reason


class NeighbourNotFound(NeighbourUnavailable):
    """The neighbour answered that the thing asked about does not exist (a 404)."""
