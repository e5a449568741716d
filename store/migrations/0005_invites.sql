-- Calendar invites: the delivery state of each appointment's invite at each
-- provider (google, microsoft, email). Written by the invite dispatcher
-- (integrations/), read to show an appointment's invites and to find retries.
-- appointment_id is plain text with no foreign key: an invite's state must
-- never stand in the way of a booking, and deleting an appointment row is not
-- how cancellation works.

CREATE TABLE IF NOT EXISTS calendar_invites (
    appointment_id    text        NOT NULL,
    provider          text        NOT NULL,
    state             text        NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    operation         text        NOT NULL CHECK (operation IN ('create', 'update', 'cancel')),
    sequence          integer     NOT NULL CHECK (sequence >= 0),
    provider_event_id text,
    attempts          integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error        text,
    next_attempt_at   timestamptz,
    invite            jsonb       NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (appointment_id, provider)
);

-- The retry sweep reads only the rows with a retry scheduled.
CREATE INDEX IF NOT EXISTS calendar_invites_due
    ON calendar_invites (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
