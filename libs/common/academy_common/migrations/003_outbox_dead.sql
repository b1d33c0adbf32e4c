-- Outbox events the broker will never take (e.g. over BUS_MAX_MESSAGE_BYTES): the relay moves
-- them here instead of retrying them forever; an operator fixes and re-enqueues them.
CREATE TABLE IF NOT EXISTS outbox_dead (
    event_id    text PRIMARY KEY,
    routing_key text NOT NULL,
    body        bytea NOT NULL,
    error       text NOT NULL,
    created_at  timestamptz NOT NULL,
    failed_at   timestamptz NOT NULL DEFAULT now()
);
