-- The scheduler's own schema: directory, classes, class sessions and fetch bookkeeping.
-- Emails are stored lower-cased (the application normalizes them), so a plain unique index
-- makes them unique case-insensitively.

CREATE TABLE teachers (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email      text NOT NULL CHECK (email = lower(email)),
    active     boolean NOT NULL DEFAULT true,
    version    integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX teachers_email_key ON teachers (email);

CREATE TABLE families (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email      text NOT NULL CHECK (email = lower(email)),
    active     boolean NOT NULL DEFAULT true,
    version    integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX families_email_key ON families (email);

CREATE TABLE students (
    id         bigserial PRIMARY KEY,
    family_id  bigint NOT NULL REFERENCES families (id),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email      text NOT NULL CHECK (email = lower(email)),
    active     boolean NOT NULL DEFAULT true,
    version    integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX students_email_key ON students (email);
CREATE INDEX students_family ON students (family_id);

CREATE TABLE classes (
    id               bigserial PRIMARY KEY,
    version          integer NOT NULL DEFAULT 1 CHECK (version > 0),
    status           text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    title            text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    teacher_id       bigint NOT NULL REFERENCES teachers (id),
    start_at         timestamptz NOT NULL,
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 1440),
    end_at           timestamptz NOT NULL CHECK (end_at > start_at),
    space_name       text NOT NULL CHECK (space_name LIKE 'spaces/%'),
    meeting_code     text NOT NULL,
    meeting_uri      text NOT NULL,
    -- attendance.class.finalized consumed: the class is complete, no more retries.
    finalized_at     timestamptz,
    -- meet.fetch_failed consumed: how many, and the latest error.
    fetch_failures   integer NOT NULL DEFAULT 0,
    last_error       jsonb,
    last_failure_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX classes_teacher_start ON classes (teacher_id, start_at) WHERE status = 'scheduled';
CREATE INDEX classes_open ON classes (start_at) WHERE status = 'scheduled' AND finalized_at IS NULL;
CREATE INDEX classes_end ON classes (end_at);

CREATE TABLE class_students (
    class_id   bigint NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    student_id bigint NOT NULL REFERENCES students (id),
    position   integer NOT NULL,
    PRIMARY KEY (class_id, student_id)
);
CREATE INDEX class_students_student ON class_students (student_id);

-- One session per class, created when the ticker starts it.
CREATE TABLE class_sessions (
    class_id   bigint PRIMARY KEY REFERENCES classes (id),
    session_id uuid NOT NULL UNIQUE,
    started_at timestamptz NOT NULL,
    ended_at   timestamptz
);

-- Every transition and fetch request, once: the primary key is the occurrence's natural key,
-- and the row commits with its outbox event (whose id derives from the same key).
CREATE TABLE occurrences (
    class_id   bigint NOT NULL REFERENCES classes (id),
    kind       text NOT NULL CHECK (kind IN ('started', 'ended', 'fetch')),
    reason     text NOT NULL CHECK (reason IN ('', 'active', 'final', 'retry', 'manual')),
    seq        bigint NOT NULL CHECK (seq >= 0),
    due_at     timestamptz NOT NULL,
    event_id   text NOT NULL UNIQUE,
    emitted_at timestamptz NOT NULL,
    -- the fetcher's meet.fetch_failed for this request, if any
    failed_at  timestamptz,
    retryable  boolean,
    error      jsonb,
    PRIMARY KEY (class_id, kind, reason, seq),
    CHECK ((kind = 'fetch') = (reason <> ''))
);
CREATE INDEX occurrences_reason_emitted ON occurrences (reason, emitted_at) WHERE kind = 'fetch';

-- Manual requests take a fresh number each, so they always go out.
CREATE SEQUENCE manual_request_seq;

-- The last run of each background job, shared by the replicas (for /monitoring/status).
CREATE TABLE job_runs (
    job         text PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    emitted     integer NOT NULL,
    classes     integer NOT NULL
);

-- Where a class stands, for listings and monitoring (one definition for every query).
CREATE FUNCTION class_phase(status text, start_at timestamptz, end_at timestamptz,
                            finalized_at timestamptz, at timestamptz, retry_window interval)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN status = 'cancelled' THEN 'cancelled'
        WHEN finalized_at IS NOT NULL THEN 'complete'
        WHEN at < start_at THEN 'scheduled'
        WHEN at < end_at THEN 'active'
        WHEN at <= end_at + retry_window THEN 'awaiting_data'
        ELSE 'failed'
    END
$$;
