-- Recurring appointments (issue 15): every occurrence of a series is its own appointment row, under the
-- same exclusion constraints as a single booking, linked by series_id (NULL: not part of a series).
-- The rule is kept on each row as the client wrote it, so a series reads back without a table of its own.
ALTER TABLE appointments ADD COLUMN IF NOT EXISTS series_id uuid;
ALTER TABLE appointments ADD COLUMN IF NOT EXISTS recurrence text;
CREATE INDEX IF NOT EXISTS appointments_by_series ON appointments (series_id, start_at) WHERE series_id IS NOT NULL;
