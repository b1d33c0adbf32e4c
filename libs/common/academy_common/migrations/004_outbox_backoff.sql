-- An event the broker returns (no queue bound to its routing key) is tried again only after
-- `next_attempt_at` (bounded exponential back-off), so it no longer holds the head of the
-- outbox and every later event behind it; after OUTBOX_MAX_ATTEMPTS it moves to outbox_dead.
ALTER TABLE outbox
    ADD COLUMN attempts        integer     NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT '-infinity';
