-- The event bridge's memory (bridge/): which incoming events already had their
-- effect, and which reminders already went out. Both are checked and written
-- inside transactions, so a redelivery or a restart never repeats an effect.

-- One row per handled alert (or agent decision), keyed by what makes two
-- deliveries "the same": 'alert:<alert_id>' (the same key is the booked
-- appointment's unique source_ref), else 'event:<event_id>'.
CREATE TABLE IF NOT EXISTS processed_events (
    dedupe_key      text PRIMARY KEY,
    event_id        text NOT NULL,
    event_type      text NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('booked', 'not_booked', 'ignored')),
    appointment_id  uuid,
    reason          text,
    processed_at    timestamptz NOT NULL,
    CHECK (outcome <> 'booked' OR appointment_id IS NOT NULL)
);

-- One row per reminder sent for an appointment *at a given start*: a
-- rescheduled appointment has a new start, hence may get a new reminder,
-- while the reminder for the old time is never derived again.
CREATE TABLE IF NOT EXISTS reminders_sent (
    appointment_id  uuid NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    start_at        timestamptz NOT NULL,
    event_id        uuid NOT NULL,
    sent_at         timestamptz NOT NULL,
    PRIMARY KEY (appointment_id, start_at)
);

-- The reminder scan looks for scheduled appointments starting soon.
CREATE INDEX IF NOT EXISTS appointments_scheduled_start ON appointments (start_at) WHERE status = 'scheduled';
