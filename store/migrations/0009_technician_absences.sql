-- A technician's time off recorded through the API (issue 14), apart from the shop file's `time_off`
-- (a shop file reload rewrites that column; it never touches these rows). Reads of a technician add
-- both together. Overlapping or touching absences of one technician are merged when recorded.
CREATE TABLE IF NOT EXISTS technician_absences (
    id             uuid PRIMARY KEY,
    technician_id  text NOT NULL REFERENCES technicians (id) ON DELETE CASCADE,
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL,
    reason         text,
    created_at     timestamptz NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX IF NOT EXISTS technician_absences_by_technician ON technician_absences (technician_id, starts_at);
