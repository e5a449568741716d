-- Appointments and holds. PostgreSQL itself refuses two live rows that overlap
-- for the same technician (including the buffer after each job) or the same bay.
CREATE TABLE IF NOT EXISTS appointments (
    id               uuid PRIMARY KEY,
    shop_id          text NOT NULL REFERENCES shops (id),
    vehicle_id       text NOT NULL,
    service_type     text NOT NULL REFERENCES service_types (code),
    urgency          text NOT NULL CHECK (urgency IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
    technician_id    text NOT NULL REFERENCES technicians (id),
    bay_id           text NOT NULL REFERENCES service_bays (id),
    tech_rid         integer NOT NULL,
    bay_rid          integer NOT NULL,
    start_at         timestamptz NOT NULL,
    end_at           timestamptz NOT NULL,
    -- end_at plus the buffer the technician needs before the next job; stored
    -- (not computed) because timestamptz + interval is not immutable.
    blocked_until    timestamptz NOT NULL,
    status           text NOT NULL CHECK (status IN ('held', 'scheduled', 'checked_in', 'in_progress',
                                                     'completed', 'cancelled', 'no_show', 'expired')),
    hold_expires_at  timestamptz,
    customer         jsonb NOT NULL DEFAULT '{}',
    notes            text,
    parts_available  boolean NOT NULL DEFAULT true,
    parts_ready_at   timestamptz,
    sequence         integer NOT NULL DEFAULT 0,
    cancelled_at     timestamptz,
    cancel_late      boolean,
    cancel_fee       numeric(10, 2),
    cancel_reason    text,
    source_ref       text UNIQUE,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CHECK (end_at > start_at),
    CHECK (blocked_until >= end_at),
    CHECK (status <> 'held' OR hold_expires_at IS NOT NULL),
    CONSTRAINT appointments_technician_no_overlap EXCLUDE USING gist (
        int4range(tech_rid, tech_rid, '[]') WITH &&,
        tstzrange(start_at, blocked_until, '[)') WITH &&
    ) WHERE (status IN ('held', 'scheduled', 'checked_in', 'in_progress')),
    CONSTRAINT appointments_bay_no_overlap EXCLUDE USING gist (
        int4range(bay_rid, bay_rid, '[]') WITH &&,
        tstzrange(start_at, end_at, '[)') WITH &&
    ) WHERE (status IN ('held', 'scheduled', 'checked_in', 'in_progress'))
);
CREATE INDEX IF NOT EXISTS appointments_vehicle ON appointments (vehicle_id, start_at DESC);
CREATE INDEX IF NOT EXISTS appointments_technician_time ON appointments (technician_id, start_at);
CREATE INDEX IF NOT EXISTS appointments_bay_time ON appointments (bay_id, start_at);
CREATE INDEX IF NOT EXISTS appointments_live_holds ON appointments (hold_expires_at) WHERE status = 'held';
