-- Attendance: classes as this service knows them, raw Meet data, logs, corrections, mappings.

CREATE TABLE classes (
    class_id         bigint PRIMARY KEY,
    -- 0: known only from Meet snapshots or lifecycle events so far. Their sessions are kept;
    -- logs wait for the class snapshot (roster), which always has version >= 1.
    version          integer NOT NULL DEFAULT 0,
    status           text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    title            text,
    scheduled_start  timestamptz NOT NULL,
    scheduled_end    timestamptz NOT NULL CHECK (scheduled_end > scheduled_start),
    space_name       text,
    session_id       uuid,
    started_at       timestamptz,
    ended_at         timestamptz,
    last_fetched_at  timestamptz,
    ended_fetched_at timestamptz,  -- latest fetch that saw every conference record ended
    final            boolean NOT NULL DEFAULT false,
    finalized_at     timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE roster_members (
    class_id   bigint NOT NULL REFERENCES classes ON DELETE CASCADE,
    person_key text NOT NULL,
    role       text NOT NULL CHECK (role IN ('teacher', 'student')),
    teacher_id bigint,
    student_id bigint,
    family_id  bigint,
    name       text,
    email      text,
    PRIMARY KEY (class_id, person_key)
);
CREATE INDEX roster_members_person ON roster_members (person_key);

-- Raw Meet data, keyed by resource name within the class: one space can serve back-to-back
-- classes, so the same call may legitimately belong to two classes' windows.
CREATE TABLE conference_records (
    class_id   bigint NOT NULL REFERENCES classes,
    name       text NOT NULL,
    space_name text,
    start_time timestamptz NOT NULL,
    end_time   timestamptz,
    PRIMARY KEY (class_id, name)
);

CREATE TABLE participants (
    class_id          bigint NOT NULL,
    name              text NOT NULL,
    conference_record text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('signedin', 'anonymous', 'phone')),
    meet_user         text,
    email             text,
    display_name      text,
    fetched_at        timestamptz NOT NULL,  -- of the snapshot the identity fields come from
    PRIMARY KEY (class_id, name),
    FOREIGN KEY (class_id, conference_record) REFERENCES conference_records
);
CREATE INDEX participants_meet_user ON participants (meet_user);
CREATE INDEX participants_email ON participants (lower(email));

CREATE TABLE participant_sessions (
    class_id    bigint NOT NULL,
    name        text NOT NULL,
    participant text NOT NULL,
    start_time  timestamptz NOT NULL,
    end_time    timestamptz CHECK (end_time >= start_time),
    PRIMARY KEY (class_id, name),
    FOREIGN KEY (class_id, participant) REFERENCES participants
);

-- An admin's word that a Meet identity is a roster person, for this and every later class.
CREATE TABLE identity_mappings (
    identity   text PRIMARY KEY,  -- user:users/<id> | email:<lower-case address>
    person_key text NOT NULL,     -- teacher:<id> | student:<id>
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE attendance_logs (
    log_id                    bigserial PRIMARY KEY,
    class_id                  bigint NOT NULL REFERENCES classes,
    person_key                text NOT NULL,
    role                      text NOT NULL,
    email                     text,
    session_id                uuid,
    scheduled_start           timestamptz NOT NULL,
    participant_kind          text,
    meet_user                 text,
    final                     boolean NOT NULL,
    removed                   boolean NOT NULL,
    version                   integer NOT NULL CHECK (version >= 1),
    computed                  jsonb NOT NULL,  -- what the sessions say: kept under corrections
    sessions                  jsonb NOT NULL,
    override_billable_seconds integer CHECK (override_billable_seconds >= 0),
    override_status           text CHECK (override_status IN ('present', 'late', 'absent')),
    content                   jsonb NOT NULL,  -- the published payload without log_id, version
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    UNIQUE (class_id, person_key)
);
CREATE INDEX attendance_logs_start ON attendance_logs (scheduled_start, log_id);
CREATE INDEX attendance_logs_email ON attendance_logs (lower(email), scheduled_start, log_id);
CREATE INDEX attendance_logs_session ON attendance_logs (session_id);
CREATE INDEX attendance_logs_guests ON attendance_logs (scheduled_start, log_id) WHERE role = 'guest' AND NOT removed;

CREATE TABLE log_corrections (
    correction_id    bigserial PRIMARY KEY,
    log_id           bigint NOT NULL REFERENCES attendance_logs,
    billable_seconds integer,
    status           text,
    reason           text NOT NULL,
    requested_by     text NOT NULL,
    before           jsonb NOT NULL,  -- the values shown before this correction
    computed         jsonb NOT NULL,  -- the computed (original) values at that moment
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX log_corrections_log ON log_corrections (log_id, correction_id);
