-- An Idempotency-Key's effect commits with the effect: the write's own transaction
-- stamps effect_id on the key's row (only the claim holding claim_token may), so
-- a retry after a lost or failed answer replays that effect instead of running again.
-- claimed_at dates the current claim: one left in flight by a dead process is taken
-- over after a timeout (its effect, had it committed, would have stamped the row).
ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS effect_id text;
ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS claim_token uuid;
ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS claimed_at timestamptz;
UPDATE idempotency_keys SET claimed_at = created_at WHERE claimed_at IS NULL;

-- A vehicle's live appointments, for the no-double-booking check writers make under its lock.
CREATE INDEX IF NOT EXISTS appointments_vehicle_live ON appointments (vehicle_id, start_at)
    WHERE status IN ('held', 'scheduled', 'checked_in', 'in_progress');
