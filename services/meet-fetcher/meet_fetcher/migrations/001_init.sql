-- meet-fetcher keeps nothing durable: caches (losing them costs API calls only) and the
-- shared read-rate limiter every replica reserves its Meet reads from.

-- The last snapshot of each class: what incremental fetching compares against.
CREATE TABLE snapshots (
    class_id     bigint PRIMARY KEY,
    session_id   text NOT NULL,
    space_name   text NOT NULL,
    fetched_at   timestamptz NOT NULL,
    records      jsonb NOT NULL          -- the conference_records of meet.participants.fetched
);
CREATE INDEX snapshots_fetched_at ON snapshots (fetched_at);

-- users/{id} → email from the People API; email NULL = the directory has none (also cached).
CREATE TABLE emails (
    user_name    text PRIMARY KEY,
    email        text,
    resolved_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX emails_resolved_at ON emails (resolved_at);

-- GCRA: per key (the project, each user) the theoretical arrival time of the next read.
CREATE TABLE rate_limits (
    key  text PRIMARY KEY,
    tat  timestamptz NOT NULL
);

-- Reserve one read; returns whether it is reserved and how long to wait (until the slot, or
-- until the user's next slot before asking again). The user's allowance is a gate, checked
-- first: a read waiting for its user reserves nothing, so it cannot hold other users back in
-- the project's queue. Once the user is free, the read takes the project's next slot, and
-- both keys move one interval past it: reads start >= interval apart per key, across all
-- replicas. Rows are locked in key order, so concurrent reservations cannot deadlock.
CREATE FUNCTION reserve_read(project_key text, project_gap_s double precision,
                             user_key text, user_gap_s double precision,
                             OUT reserved boolean, OUT wait_s double precision)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    now_ts      timestamptz := clock_timestamp();
    user_tat    timestamptz;
    project_tat timestamptz;
    start_ts    timestamptz;
BEGIN
    INSERT INTO rate_limits (key, tat) VALUES (project_key, now_ts), (user_key, now_ts)
        ON CONFLICT (key) DO NOTHING;
    PERFORM 1 FROM rate_limits WHERE key IN (project_key, user_key) ORDER BY key FOR UPDATE;
    SELECT tat INTO user_tat FROM rate_limits WHERE key = user_key;
    IF user_tat > now_ts THEN
        reserved := false;
        wait_s := extract(epoch FROM user_tat - now_ts);
        RETURN;
    END IF;
    SELECT tat INTO project_tat FROM rate_limits WHERE key = project_key;
    start_ts := greatest(now_ts, project_tat);
    UPDATE rate_limits SET tat = start_ts + make_interval(secs => project_gap_s) WHERE key = project_key;
    UPDATE rate_limits SET tat = start_ts + make_interval(secs => user_gap_s) WHERE key = user_key;
    reserved := true;
    wait_s := extract(epoch FROM start_ts - now_ts);
END
$$;
