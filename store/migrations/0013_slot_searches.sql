-- Slot searches, recorded for the booking-success and recommended-slot KPIs (issue 16).
-- A row says who searched (the caller's principal), for what (vehicle, service type), when, where, and
-- the identity of the rank-1 slot; SEARCH_RETENTION_DAYS purges old rows. A booking names the search it
-- followed (appointments.search_id): the one the client echoed, else the same caller's latest search for
-- the same vehicle and service type within 24 hours. No foreign key: a purged search leaves the booking be.
CREATE TABLE IF NOT EXISTS slot_searches (
    id                   uuid        PRIMARY KEY,
    searched_at          timestamptz NOT NULL,
    principal            text        NOT NULL,
    vehicle_id           text        NOT NULL,
    service_type         text        NOT NULL,
    shop_id              text,       -- the rank-1 slot's shop, else the one shop searched; NULL: none
    shops_searched       text[]      NOT NULL DEFAULT '{}',
    slot_count           integer     NOT NULL CHECK (slot_count >= 0),
    first_start          timestamptz,
    first_technician_id  text,
    first_bay_id         text
);
CREATE INDEX IF NOT EXISTS slot_searches_follow_up
    ON slot_searches (principal, vehicle_id, service_type, searched_at DESC);
CREATE INDEX IF NOT EXISTS slot_searches_time ON slot_searches (searched_at);

ALTER TABLE appointments ADD COLUMN IF NOT EXISTS search_id uuid;
CREATE INDEX IF NOT EXISTS appointments_search ON appointments (search_id) WHERE search_id IS NOT NULL;
