-- Closing a month is a job (docs/architecture.md, "Closing a month"): the request records it,
-- a billing replica runs it in the background, in one transaction, so a reader sees the
-- month either open or fully closed.
CREATE TABLE close_jobs (
    job_id       uuid PRIMARY KEY,
    period       date NOT NULL CHECK (extract(day FROM period) = 1),
    state        text NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    lines_total  bigint NOT NULL CHECK (lines_total >= 0),
    -- written outside the job's transaction while it runs (progress), and with it when done
    lines_done   bigint NOT NULL DEFAULT 0 CHECK (lines_done >= 0),
    checksum     text,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    runs         integer NOT NULL DEFAULT 0,  -- times a replica started it: more than 1 means resumed
    finished_at  timestamptz,
    error        text,
    CHECK ((state = 'done') = (checksum IS NOT NULL)),
    CHECK ((state = 'running') = (finished_at IS NULL))
);
-- A month has one job that is running or done; a failed one leaves room for a new request.
CREATE UNIQUE INDEX close_jobs_live ON close_jobs (period) WHERE state <> 'failed';
CREATE INDEX close_jobs_running ON close_jobs (requested_at) WHERE state = 'running';

-- Months closed before jobs existed answer a second close like any done job.
INSERT INTO close_jobs (job_id, period, state, lines_total, lines_done, checksum, requested_by, requested_at,
                        runs, finished_at)
SELECT gen_random_uuid(), p.period, 'done', n.lines, n.lines, p.checksum, p.closed_by, p.closed_at, 1, p.closed_at
FROM periods p, LATERAL (SELECT count(*) AS lines FROM closed_lines c WHERE c.period = p.period) AS n;

-- Settled by watermark instead of an UPDATE of every line of the month: a line of a closed
-- month whose settled_revision is NULL and whose revision is not above the month's
-- settled_through was accounted for as it still is (its closed_lines row is written when it
-- first changes, below); above it, the line came late. Months closed before this migration
-- settled every line explicitly (settled_through 0).
ALTER TABLE periods ADD COLUMN settled_through bigint NOT NULL DEFAULT 0;

DROP INDEX attendance_lines_unsettled;
-- Late lines of a closed month: those above its watermark.
CREATE INDEX attendance_lines_unsettled ON attendance_lines (month, revision) WHERE settled_revision IS NULL;
-- A closing month's lines that an earlier close already settled explicitly: frozen at once.
CREATE INDEX attendance_lines_settled ON attendance_lines (month) WHERE settled_revision IS NOT NULL;

-- The first change of a line that a close settled by watermark: what the month charged for it
-- (the old row) goes to closed_lines, and the line is settled at its old revision, so the
-- change is a candidate for an adjustment exactly as if the close had settled it explicitly.
-- Runs after attendance_lines_revision (triggers of one event fire in name order).
CREATE FUNCTION attendance_lines_settle_on_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    through bigint;
BEGIN
    SELECT settled_through INTO through FROM periods WHERE period = OLD.month;
    IF through IS NOT NULL AND OLD.revision <= through THEN
        NEW.settled_revision := OLD.revision;
        IF OLD.counted THEN
            INSERT INTO closed_lines (period, class_id, person_key, kind, party, party_id, currency,
                                      billable_seconds, billed_seconds, amount_cents, origin_period)
            VALUES (OLD.month, OLD.class_id, OLD.person_key, 'line', OLD.party, OLD.party_id, OLD.currency,
                    OLD.billable_seconds, OLD.billed_seconds, OLD.amount_cents, OLD.month);
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER attendance_lines_settle BEFORE UPDATE ON attendance_lines FOR EACH ROW
    WHEN (OLD.settled_revision IS NULL AND NEW.settled_revision IS NULL AND NEW.revision <> OLD.revision)
    EXECUTE FUNCTION attendance_lines_settle_on_change();

-- A close writes a month's statements at once: lz4 compresses them several times faster than pglz.
ALTER TABLE period_statements ALTER COLUMN statement SET COMPRESSION lz4;
