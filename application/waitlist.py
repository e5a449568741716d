"""The waitlist: join, leave, and offers of freed time that the customer accepts or declines with a token.

When time frees up (``application.freed_time``: cancel, move, released or
expired hold, no-show, early completion, withdrawn absence) the waiting
entries whose window overlaps it are taken in priority order (urgency, tier,
join time). The first with a feasible slot at that shop gets it *held* (the
ordinary hold path: actors first, PostgreSQL last) for ``offer_ttl``, and an
offer row and its ``appointment.waitlist.offered`` event commit together. The
token is ``wo_<id>.<secret>``: 256 random bits, only their SHA-256 stored.

The two rules are partial unique indexes (migration 0012): an entry has at
most one live offer, and a freed slot (the appointment whose time freed) has
at most one live offer at a time. Matching may run many times at once, in many
processes; whoever loses an insert releases its hold and moves on.

Accepting confirms the hold through the booking path (``appointment.scheduled``
follows). Declining, or the offer lapsing (its hold expiring, or the sweep),
releases the hold, and the same freed slot goes to the next entry that has not
had it yet.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any

import asyncpg

from application import booking_events as events
from application.booking import BookingRequest, BookingService
from application.catalog_cache import CatalogCache
from application.freed_time import FreedTime
from application.key_locks import KeyedLocks
from application.secret_tokens import new_token, parse_token, secret_matches
from application.slot_search import SlotFinder, SlotSearch
from application.transactions import in_transaction, read
from domain.appointment import Appointment
from domain.customer import Customer
from domain.errors import (
    DailyCapReached,
    DomainError,
    HoldExpired,
    InvalidRequest,
    InvalidTransition,
    NoSlotAvailable,
    NotFound,
    OfferGone,
    OutsideBookingWindow,
    OutsideWorkingHours,
    SlotTaken,
    VehicleAlreadyBooked,
)
from domain.events import AppointmentWaitlistOffered
from domain.job import Slot
from domain.shop import GeoPoint
from domain.time_windows import Interval, require_aware
from domain.urgency import Urgency
from domain.waitlist import EntryStatus, OfferState, WaitlistEntry, WaitlistOffer
from store import appointment_repository as appointments
from store import waitlist_repository as waitlist

log = logging.getLogger(__name__)

TOKEN_PREFIX = "wo"
CANDIDATES_PER_MATCH = 20
"""How many waiting entries one freed slot is tried against, in priority order."""
MAX_SEARCH_DAYS = 14
_LOST_RACE = (SlotTaken, DailyCapReached, VehicleAlreadyBooked, OutsideWorkingHours, OutsideBookingWindow)
_ONE_PER_ENTRY = "waitlist_one_live_offer_per_entry"
_ENTRY_GONE = "entry no longer waiting"


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """What ``POST /waitlist`` asks for."""

    vehicle_id: str
    service_type: str
    urgency: Urgency
    earliest: datetime
    latest: datetime
    shop_id: str | None = None
    location: GeoPoint | None = None
    radius_km: float | None = None
    preferred_window: tuple[time, time] | None = None
    customer: Customer = field(default_factory=Customer)


@dataclass(frozen=True, slots=True)
class EntryView:
    """An entry with its live offer, if it has one."""

    entry: WaitlistEntry
    offer: WaitlistOffer | None


class WaitlistService:
    """Joins, reads and leaves the waitlist; matches freed time to it; accepts and declines offers."""

    def __init__(
        self, booking: BookingService, finder: SlotFinder, catalog: CatalogCache, *, offer_ttl: timedelta
    ) -> None:
        self._booking = booking
        self._finder = finder
        self._catalog = catalog
        self.offer_ttl = offer_ttl
        self._pending: set[asyncio.Task[None]] = set()
        self._matching = KeyedLocks()
        """One matching pass per shop at a time in this process: concurrent passes would only race for the same
        first entry and undo each other's holds. Across processes the store's unique indexes keep the rules."""
        booking.freed.subscribe(self.notice)

    @property
    def pool(self) -> asyncpg.Pool:
        return self._booking.pool

    def _now(self) -> datetime:
        return self._booking.clock.now()

    # -- the list --------------------------------------------------------------------------

    async def join(self, req: JoinRequest, *, booked_by: str | None = None) -> tuple[WaitlistEntry, bool]:
        """Put the job on the list; the entry, and whether it is new (joining again answers the waiting one)."""
        now = self._now()
        earliest, latest = _aware(req.earliest, "earliest"), _aware(req.latest, "latest")
        if latest <= earliest:
            raise InvalidRequest("latest must be after earliest", field="latest")
        if latest <= now:
            raise InvalidRequest("the window has already passed", field="latest")
        if (req.shop_id is None) == (req.location is None):
            raise InvalidRequest("name a shop_id or a location (not both)", field="shop_id")
        try:
            await self._catalog.service_type(req.service_type)
        except NotFound:
            raise InvalidRequest(f"unknown service type {req.service_type!r}", field="service_type") from None
        if req.shop_id is not None:
            try:
                await self._catalog.shop(req.shop_id)
            except NotFound:
                raise InvalidRequest(f"unknown shop {req.shop_id}", field="shop_id") from None
        entry = WaitlistEntry(
            id=str(uuid.uuid4()),
            vehicle_id=req.vehicle_id,
            service_type=req.service_type,
            urgency=req.urgency,
            window=Interval(earliest, latest),
            joined_at=now,
            shop_id=req.shop_id,
            location=req.location,
            radius_km=req.radius_km,
            preferred_window=req.preferred_window,
            customer=req.customer,
            booked_by=booked_by,
        )
        stored = await in_transaction(self.pool, lambda conn: waitlist.insert_entry(conn, entry))
        return stored, stored.id == entry.id

    async def entry(self, entry_id: str) -> EntryView:
        """The entry and its live offer (``NotFound`` when there is no such entry)."""

        async def load(conn: asyncpg.Connection) -> EntryView:
            entry = await waitlist.get_entry(conn, entry_id)
            if entry is None:
                raise unknown_entry(entry_id)
            return EntryView(entry, await waitlist.live_offer_of(conn, entry.id))

        return await read(self.pool, load)

    async def leave(self, entry_id: str) -> EntryView:
        """Take the entry off the list; a live offer is withdrawn (its hold released, the slot passed on)."""
        now = self._now()

        async def write(conn: asyncpg.Connection) -> tuple[WaitlistEntry, WaitlistOffer | None]:
            entry = await waitlist.get_entry(conn, entry_id, for_update=True)
            if entry is None:
                raise unknown_entry(entry_id)
            if entry.status is not EntryStatus.WAITING:
                return entry, None
            await waitlist.set_entry_status(conn, entry.id, EntryStatus.LEFT)
            live = await waitlist.live_offer_of(conn, entry.id)
            closed = await waitlist.close_offer(conn, live.id, OfferState.DECLINED, now) if live else None
            return replace(entry, status=EntryStatus.LEFT), closed

        entry, closed = await in_transaction(self.pool, write)
        if closed is not None:
            await self._release(closed)
        return EntryView(entry, None)

    # -- offers ----------------------------------------------------------------------------

    async def accept(self, token_text: str) -> Appointment:
        """Book the offer's held slot (single use; ``OfferGone`` once used or expired, ``NotFound`` if unknown)."""
        offer = await self._offer_by_token(token_text)
        now = self._now()
        if offer.state is OfferState.OFFERED and offer.expires_at <= now:
            await self._lapse(offer, now)
        if offer.state is not OfferState.OFFERED or offer.expires_at <= now:
            raise _gone(offer, now)
        claimed = await in_transaction(
            self.pool, lambda conn: waitlist.close_offer(conn, offer.id, OfferState.ACCEPTED, now)
        )
        if claimed is None:  # accepted, declined or lapsed a moment ago
            raise OfferGone("this offer was already used or has expired", offer_id=offer.id)
        try:
            appt = await self._booking.confirm(offer.appointment_id)
        except (HoldExpired, InvalidTransition):  # the hold lapsed (or was released) just before
            await in_transaction(self.pool, lambda conn: _mark_expired(conn, offer.id))
            self._rematch(offer)
            raise OfferGone("this offer has expired", offer_id=offer.id) from None

        async def booked(conn: asyncpg.Connection) -> None:
            await waitlist.set_entry_status(conn, offer.entry_id, EntryStatus.BOOKED, appt.id)

        await in_transaction(self.pool, booked)
        return appt

    async def decline(self, token_text: str) -> WaitlistOffer:
        """Refuse the offer: its hold is released and the slot goes to the next entry; the entry keeps waiting."""
        offer = await self._offer_by_token(token_text)
        now = self._now()
        if offer.state is not OfferState.OFFERED or offer.expires_at <= now:
            if offer.state is OfferState.OFFERED:
                await self._lapse(offer, now)
            raise _gone(offer, now)
        closed = await in_transaction(
            self.pool, lambda conn: waitlist.close_offer(conn, offer.id, OfferState.DECLINED, now)
        )
        if closed is None:
            raise OfferGone("this offer was already used or has expired", offer_id=offer.id)
        await self._release(closed)
        return closed

    async def expire_offers(self, now: datetime | None = None) -> list[WaitlistOffer]:
        """Lapse the live offers past their expiry, release their holds, pass each freed slot on (the sweep)."""
        now = now or self._now()
        lapsed = await in_transaction(self.pool, lambda conn: waitlist.lapsed_offers(conn, now))
        for offer in lapsed:
            await self._release(offer)
        return lapsed

    async def _offer_by_token(self, token_text: str) -> WaitlistOffer:
        token = parse_token(token_text.strip(), TOKEN_PREFIX)
        if token is None:
            raise unknown_offer()
        row = await read(self.pool, lambda conn: waitlist.offer_by_token(conn, token.id))
        if not secret_matches(token, row.secret_hash if row else None) or row is None:
            raise unknown_offer()
        return row.offer

    async def _lapse(self, offer: WaitlistOffer, now: datetime) -> None:
        closed = await in_transaction(
            self.pool, lambda conn: waitlist.close_offer(conn, offer.id, OfferState.EXPIRED, now)
        )
        if closed is not None:
            await self._release(closed)

    async def _release(self, offer: WaitlistOffer) -> None:
        """Give a closed offer's hold back and offer its freed slot to the next entry."""
        try:
            await self._booking.release_hold(offer.appointment_id, announce=False)  # passed on just below
        except DomainError:  # already expired or gone: nothing holds the time
            log.debug("the hold of offer %s was already gone", offer.id)
        self._rematch(offer)

    def _rematch(self, offer: WaitlistOffer) -> None:
        """Pass the offer's freed slot on (the unique index keeps a second, concurrent pass from doubling it)."""

        async def again() -> None:
            # the freed appointment's time (a withdrawn absence is no appointment: the hold's time then)
            appt = await read(self.pool, lambda conn: appointments.get(conn, offer.freed_from))
            appt = appt or await read(self.pool, lambda conn: appointments.get(conn, offer.appointment_id))
            if appt is not None:
                await self.offer_freed(FreedTime(appt.shop_id, appt.interval, offer.freed_from))

        self._spawn(again())

    # -- matching freed time ---------------------------------------------------------------

    def notice(self, freed: FreedTime) -> None:
        """Freed-time listener: match it in the background (the command that freed it has already answered)."""
        self._spawn(self.on_freed(freed))

    async def settle(self) -> None:
        """Wait for the matching under way (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, object]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:  # a lost match is retried by the next freed time or the sweep; never crash the loop
                log.exception("waitlist matching failed")

        task = asyncio.get_running_loop().create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def on_freed(self, freed: FreedTime) -> WaitlistOffer | None:
        """The freed time's offer: a live offer's own hold freed passes its slot on; other time starts a chain."""
        offer = await read(self.pool, lambda conn: waitlist.offer_for_hold(conn, freed.source_id))
        if offer is not None and offer.state is not OfferState.ACCEPTED:
            if offer.state is OfferState.OFFERED:  # its hold ended before anyone answered
                await in_transaction(self.pool, lambda conn: _mark_expired(conn, offer.id))
            freed = replace(freed, source_id=offer.freed_from)
        return await self.offer_freed(freed)

    async def offer_freed(self, freed: FreedTime) -> WaitlistOffer | None:
        """Offer the freed time to the first waiting entry (by priority) with a feasible slot at that shop."""
        async with self._matching.hold(freed.shop_id):
            return await self._offer_freed(freed)

    async def _offer_freed(self, freed: FreedTime) -> WaitlistOffer | None:
        now = self._now()
        window = Interval(max(freed.interval.start, now), max(freed.interval.end, now + timedelta(minutes=1)))
        shop = await self._catalog.shop(freed.shop_id)
        entries = await read(
            self.pool, lambda conn: waitlist.candidates(conn, freed.source_id, window, CANDIDATES_PER_MATCH)
        )
        for entry in entries:
            if not entry.may_use(shop.id, shop.location):
                continue
            try:
                offered = await self._offer_to(entry, freed, now)
            except _AlreadyOffered:
                return None
            if offered is not None:
                return offered
        return None

    async def _offer_to(self, entry: WaitlistEntry, freed: FreedTime, now: datetime) -> WaitlistOffer | None:
        for slot in await self._slots_for(entry, freed, now):
            try:
                hold = await self._hold(entry, slot, now)
            except _LOST_RACE:
                continue
            offer = WaitlistOffer(
                id=str(uuid.uuid4()),
                entry_id=entry.id,
                appointment_id=hold.id,
                freed_from=freed.source_id,
                state=OfferState.OFFERED,
                created_at=now,
                expires_at=hold.hold_expires_at or now + self.offer_ttl,
            )
            refused = await self._record(offer, hold, now)
            if refused is None:
                return offer
            await self._booking.release_hold(hold.id, announce=False)  # never offered: nothing was freed
            if refused in (_ONE_PER_ENTRY, _ENTRY_GONE):
                return None  # the entry got an offer elsewhere, or left, meanwhile: the next entry
            raise _AlreadyOffered  # the freed slot has its live offer
        return None

    async def _record(self, offer: WaitlistOffer, hold: Appointment, now: datetime) -> str | None:
        """Write the offer and its event; the name of the rule that refused it, if one did."""
        token = new_token(TOKEN_PREFIX)

        async def write(conn: asyncpg.Connection) -> str | None:
            try:
                async with conn.transaction():  # a savepoint: a refused insert leaves the transaction usable
                    if not await waitlist.insert_offer(conn, waitlist.OfferRow(offer, token.id, token.secret_hash)):
                        return _ENTRY_GONE
            except asyncpg.UniqueViolationError as exc:
                return exc.constraint_name or "unique"
            names = await self._catalog.names(hold.technician_id, hold.bay_id, conn)
            event = AppointmentWaitlistOffered(
                hold, *names, offer_id=offer.id, entry_id=offer.entry_id, token=token.text, expires_at=offer.expires_at
            )
            await events.record(conn, hold.id, [event], now)
            return None

        return await in_transaction(self.pool, write)

    async def _hold(self, entry: WaitlistEntry, slot: Slot, now: datetime) -> Appointment:
        _, duration = await self._catalog.service_and_duration(entry.service_type, None)
        request = BookingRequest(
            shop_id=slot.shop_id,
            technician_id=slot.technician_id,
            bay_id=slot.bay_id,
            start=slot.start,
            job=_search(entry, slot.shop_id, entry.window.start).job(duration),
            customer=entry.customer,
            notes="waitlist offer",
            booked_by=entry.booked_by,
        )
        return await self._booking.book(request, hold=True, now=now, hold_ttl=self.offer_ttl)

    async def _slots_for(self, entry: WaitlistEntry, freed: FreedTime, now: datetime) -> Sequence[Slot]:
        """Feasible slots for the entry at the freed shop inside its window, those in the freed time first."""
        earliest = max(entry.window.start, now)
        days = min(MAX_SEARCH_DAYS, max(1, (entry.window.end - earliest).days + 1))
        search = replace(_search(entry, freed.shop_id, earliest), search_days=days, top_k=10)
        try:
            result = await self._finder.find(search, now)
        except (NoSlotAvailable, InvalidRequest):
            return []
        fits = [s for s in result.slots if s.start >= entry.window.start and s.end <= entry.window.end]
        return sorted(fits, key=lambda s: (not s.interval.overlaps(freed.interval), s.start))


class _AlreadyOffered(Exception):
    """The freed slot has a live offer (another pass got there first)."""


def _search(entry: WaitlistEntry, shop_id: str, earliest: datetime) -> SlotSearch:
    return SlotSearch(
        vehicle_id=entry.vehicle_id,
        service_type=entry.service_type,
        urgency=entry.urgency,
        preferred_window=entry.preferred_window,
        customer_tier=entry.customer.tier,
        shop_ids=(shop_id,),
        earliest=earliest,
    )


async def _mark_expired(conn: asyncpg.Connection, offer_id: str) -> None:
    await conn.execute(
        "UPDATE waitlist_offers SET state = 'expired', closed_at = now() WHERE id = $1::uuid AND state <> 'declined'",
        offer_id,
    )


def _gone(offer: WaitlistOffer, now: datetime) -> OfferGone:
    if offer.state in (OfferState.ACCEPTED, OfferState.DECLINED):
        return OfferGone(f"this offer was already {offer.state.value}", offer_id=offer.id)
    return OfferGone("this offer has expired", offer_id=offer.id, expired_at=offer.expires_at.isoformat())


def unknown_entry(entry_id: str) -> NotFound:
    """The answer for an entry that does not exist or lies outside the caller's scope (the same)."""
    return NotFound(f"no waitlist entry {entry_id}")


def unknown_offer() -> NotFound:
    return NotFound("no such waitlist offer")


def _aware(value: datetime, name: str) -> datetime:
    try:
        return require_aware(value, name)
    except ValueError as exc:
        raise InvalidRequest(str(exc), field=name) from None
