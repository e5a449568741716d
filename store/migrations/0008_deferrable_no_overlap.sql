-- Book by reassignment (issue 14) swaps technicians and bays between booked appointments in one
-- transaction: row by row, a swap passes through a moment where two rows overlap. The no-overlap
-- constraints become DEFERRABLE (still checked per statement unless a transaction defers them),
-- so such a transaction defers them, applies every move, and checks them all at once.
ALTER TABLE appointments DROP CONSTRAINT IF EXISTS appointments_technician_no_overlap;
ALTER TABLE appointments ADD CONSTRAINT appointments_technician_no_overlap EXCLUDE USING gist (
    int4range(tech_rid, tech_rid, '[]') WITH &&,
    tstzrange(start_at, blocked_until, '[)') WITH &&
) WHERE (status IN ('held', 'scheduled', 'checked_in', 'in_progress')) DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE appointments DROP CONSTRAINT IF EXISTS appointments_bay_no_overlap;
ALTER TABLE appointments ADD CONSTRAINT appointments_bay_no_overlap EXCLUDE USING gist (
    int4range(bay_rid, bay_rid, '[]') WITH &&,
    tstzrange(start_at, end_at, '[)') WITH &&
) WHERE (status IN ('held', 'scheduled', 'checked_in', 'in_progress')) DEFERRABLE INITIALLY IMMEDIATE;
