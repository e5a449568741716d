-- Who may do what (issue 13). Only hashes of secrets are stored: SHA-256 of a
-- high-entropy random token, compared in constant time by the application.

-- API keys: a role, an optional shop scope (NULL: the whole chain), an expiry.
CREATE TABLE IF NOT EXISTS api_keys (
    id           text PRIMARY KEY,
    secret_hash  bytea NOT NULL,
    role         text NOT NULL CHECK (role IN ('booking', 'staff', 'admin')),
    shop_ids     text[],
    name         text,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    revoked_at   timestamptz
);

-- Which key booked an appointment (a booking key reads and changes only those).
ALTER TABLE appointments ADD COLUMN IF NOT EXISTS booked_by text;
CREATE INDEX IF NOT EXISTS appointments_booked_by ON appointments (booked_by, vehicle_id) WHERE booked_by IS NOT NULL;

-- Customer links: one appointment, read / reschedule / cancel, until they expire or
-- the appointment ends or is cancelled.
CREATE TABLE IF NOT EXISTS customer_links (
    id              text PRIMARY KEY,
    secret_hash     bytea NOT NULL,
    appointment_id  uuid NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS customer_links_appointment ON customer_links (appointment_id);
CREATE INDEX IF NOT EXISTS customer_links_expiry ON customer_links (expires_at);

-- The service's own secrets (the key calendar feed URLs are signed with), made once.
CREATE TABLE IF NOT EXISTS service_secrets (
    name    text PRIMARY KEY,
    secret  bytea NOT NULL
);
