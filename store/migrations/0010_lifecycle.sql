-- The lifecycle after booking (issue 16): when each step happened, and the job's actual times.
-- start_at/end_at stay the booked times (utilization counts booked hours); a completed or no-show row
-- leaves the no-overlap constraints (they cover live statuses only), so the rest of its slot is free.
ALTER TABLE appointments ADD COLUMN IF NOT EXISTS checked_in_at timestamptz;
ALTER TABLE appointments ADD COLUMN IF NOT EXISTS started_at timestamptz;
ALTER TABLE appointments ADD COLUMN IF NOT EXISTS completed_at timestamptz;
ALTER TABLE appointments ADD COLUMN IF NOT EXISTS no_show_at timestamptz;
ALTER TABLE appointments ADD COLUMN IF NOT EXISTS actual_start timestamptz;
ALTER TABLE appointments ADD COLUMN IF NOT EXISTS actual_end timestamptz;
ALTER TABLE appointments DROP CONSTRAINT IF EXISTS appointments_actual_order;
ALTER TABLE appointments ADD CONSTRAINT appointments_actual_order
    CHECK (actual_end IS NULL OR actual_start IS NULL OR actual_end > actual_start);
CREATE INDEX IF NOT EXISTS appointments_shop_time ON appointments (shop_id, start_at);
