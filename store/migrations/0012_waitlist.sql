-- The waitlist (issue 15): entries waiting for freed time, and the offers made to them.
-- The two rules of offers hold here, not only in memory: an entry has at most one live offer,
-- and a freed slot (the appointment whose time freed up) is offered to one entry at a time.
CREATE TABLE IF NOT EXISTS waitlist_entries (
    id               uuid PRIMARY KEY,
    vehicle_id       text NOT NULL,
    service_type     text NOT NULL,
    urgency          text NOT NULL,
    urgency_weight   int NOT NULL,
    tier_weight      int NOT NULL,
    shop_id          text,
    lat              double precision,
    lon              double precision,
    radius_km        double precision,
    earliest         timestamptz NOT NULL,
    latest           timestamptz NOT NULL CHECK (latest > earliest),
    preferred_from   time,
    preferred_to     time,
    customer         jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL CHECK (status IN ('waiting', 'booked', 'left')),
    joined_at        timestamptz NOT NULL,
    booked_by        text,
    appointment_id   uuid,
    CHECK ((shop_id IS NULL) <> (lat IS NULL))
);
-- Joining twice while waiting is the same entry.
CREATE UNIQUE INDEX IF NOT EXISTS waitlist_one_waiting_per_job
    ON waitlist_entries (vehicle_id, service_type) WHERE status = 'waiting';
CREATE INDEX IF NOT EXISTS waitlist_waiting_by_priority
    ON waitlist_entries (urgency_weight DESC, tier_weight DESC, joined_at) WHERE status = 'waiting';

CREATE TABLE IF NOT EXISTS waitlist_offers (
    id              uuid PRIMARY KEY,
    token_id        text NOT NULL UNIQUE,
    secret_hash     bytea NOT NULL,
    entry_id        uuid NOT NULL REFERENCES waitlist_entries (id) ON DELETE CASCADE,
    appointment_id  uuid NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    freed_from      uuid NOT NULL,
    state           text NOT NULL CHECK (state IN ('offered', 'accepted', 'declined', 'expired')),
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    closed_at       timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS waitlist_one_live_offer_per_entry
    ON waitlist_offers (entry_id) WHERE state = 'offered';
CREATE UNIQUE INDEX IF NOT EXISTS waitlist_one_live_offer_per_freed_slot
    ON waitlist_offers (freed_from) WHERE state = 'offered';
CREATE UNIQUE INDEX IF NOT EXISTS waitlist_one_offer_per_hold ON waitlist_offers (appointment_id);
CREATE INDEX IF NOT EXISTS waitlist_offers_by_freed_slot ON waitlist_offers (freed_from, entry_id);
CREATE INDEX IF NOT EXISTS waitlist_live_offers_by_expiry ON waitlist_offers (expires_at) WHERE state = 'offered';
