"""The messages a resource actor answers: small explicit data, one class per command.

A caller addresses a resource by ``ResourceRef`` and sends a command; the host
of that resource applies it to the resource's calendar with no ``await``
between check and set. Commands travel in batches (one Ray call carries many),
so each carries its own ``now`` (the caller's clock, which tests control).
Every mutating command is idempotent by its ``key`` (the appointment id):
Ray may deliver a call twice after an actor restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from application.ports import Requirement, ResourceRef
from domain import errors
from domain.fast_pickle import FastPickle
from domain.time_windows import Interval

# -- commands -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hold(FastPickle):
    """Place a soft lock (``key`` re-holding the same interval is a no-op; a new interval moves it)."""

    key: str
    interval: Interval
    expires_at: datetime
    requirement: Requirement = field(default_factory=Requirement)


@dataclass(frozen=True, slots=True)
class Book(FastPickle):
    """Place a confirmed appointment directly, checking every rule."""

    key: str
    interval: Interval
    requirement: Requirement = field(default_factory=Requirement)


@dataclass(frozen=True, slots=True)
class Settle(FastPickle):
    """The database has committed ``key`` at ``interval`` (held until ``held_until``, or booked).

    The actor takes the database's word: a confirm after a commit, the
    restore of an appointment whose move was refused, or (``finished``) a
    completion: the job at ``interval`` takes no time any more but still counts
    toward its day's cap. If memory disagrees in a way it cannot fix locally,
    the actor reloads.
    """

    key: str
    interval: Interval
    held_until: datetime | None = None
    finished: bool = False


@dataclass(frozen=True, slots=True)
class Release(FastPickle):
    """Drop a hold or a cancelled appointment (releasing twice is a no-op)."""

    key: str


@dataclass(frozen=True, slots=True)
class Reload(FastPickle):
    """Rebuild the calendar from the database (it has the last word).

    With ``refresh`` the resource itself is read again too (a technician's
    time off or hours changed): the calendar is rebuilt from scratch.
    """

    refresh: bool = False


@dataclass(frozen=True, slots=True)
class Expire(FastPickle):
    """Drop holds past their expiry; answers their keys."""


@dataclass(frozen=True, slots=True)
class View(FastPickle):
    """Read the resource's busy, working and free time and jobs per day in ``window``."""

    window: Interval


Command = Hold | Book | Settle | Release | Reload | Expire | View


@dataclass(frozen=True, slots=True)
class Envelope(FastPickle):
    """One command for one resource at the caller's ``now``."""

    ref: ResourceRef
    command: Command
    now: datetime


# -- outcomes ------------------------------------------------------------------
# Domain errors travel as (class name, message, details) so their details survive
# pickling (Exception pickles only ``args``).


@dataclass(frozen=True, slots=True)
class Outcome(FastPickle):
    """One command's answer: a value, a refusal (domain error), or a fault of this command alone."""

    value: Any = None
    error: tuple[str, str, dict[str, Any]] | None = None
    fault: str | None = None
    """An unexpected exception raised by this command, as text: it fails its caller, never the batch."""

    @classmethod
    def failed(cls, exc: BaseException) -> Outcome:
        if isinstance(exc, OverflowError):
            # datetime arithmetic past year 9999 / before year 1: the caller sent an absurd time
            exc = errors.InvalidRequest("the time is outside the supported range", field="datetime")
        if isinstance(exc, errors.DomainError):
            return cls(error=(type(exc).__name__, exc.message, dict(exc.details)))
        return cls(fault=f"{type(exc).__name__}: {exc}")

    def unwrap(self) -> Any:
        if self.fault is not None:
            raise CommandFault(self.fault)
        if self.error is None:
            return self.value
        name, message, details = self.error
        error_class = getattr(errors, name, errors.DomainError)
        raise error_class(message, **details)


class CommandFault(RuntimeError):
    """A resource command failed unexpectedly on its host (a bug or a lost dependency); its batch did not."""
