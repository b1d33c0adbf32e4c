-- Billing's own projection of the directory, classes and attendance; rates; closed periods.

CREATE TABLE families (
    family_id  bigint PRIMARY KEY,
    name       text NOT NULL,
    email      text,
    active     boolean NOT NULL,
    version    bigint NOT NULL
);

CREATE TABLE students (
    student_id bigint PRIMARY KEY,
    family_id  bigint NOT NULL,
    name       text NOT NULL,
    email      text,
    active     boolean NOT NULL,
    version    bigint NOT NULL
);

CREATE TABLE teachers (
    teacher_id bigint PRIMARY KEY,
    name       text NOT NULL,
    email      text,
    active     boolean NOT NULL,
    version    bigint NOT NULL
);

CREATE TABLE classes (
    class_id        bigint PRIMARY KEY,
    title           text,
    scheduled_start timestamptz NOT NULL,
    scheduled_end   timestamptz NOT NULL,
    teacher_id      bigint,
    status          text NOT NULL,
    version         bigint NOT NULL
);

-- The roster as the class snapshot gave it: which family a student's lines bill.
CREATE TABLE class_students (
    class_id   bigint NOT NULL REFERENCES classes ON DELETE CASCADE,
    student_id bigint NOT NULL,
    family_id  bigint NOT NULL,
    PRIMARY KEY (class_id, student_id)
);

-- Hourly rates with their history; the entry in force at an instant is the latest one
-- whose effective_from is not after it.
CREATE TABLE rates (
    party             text NOT NULL CHECK (party IN ('family', 'teacher')),
    party_id          bigint NOT NULL,
    effective_from    timestamptz NOT NULL,
    hourly_rate_cents bigint NOT NULL CHECK (hourly_rate_cents >= 0),
    currency          text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    updated_by        text NOT NULL,
    PRIMARY KEY (party, party_id, effective_from)
);

-- The academy time zone the lines' months were computed in (see repository.adopt_timezone).
CREATE TABLE billing_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    timezone  text NOT NULL
);

-- The month (its first day) an instant falls in on the academy's wall clock.
CREATE FUNCTION local_month(at timestamptz, zone text) RETURNS date LANGUAGE sql STABLE AS $$
    SELECT date_trunc('month', at AT TIME ZONE zone)::date
$$;

CREATE SEQUENCE line_revision;

-- One line per (class, student) billed to the student's family and per (class, teacher)
-- paid to the teacher. Guests are never stored. The rate in force at the class start is
-- copied onto the line (and re-copied whenever the start or the rates change).
CREATE TABLE attendance_lines (
    class_id          bigint NOT NULL,
    person_key        text NOT NULL,
    log_id            bigint,
    party             text NOT NULL CHECK (party IN ('family', 'teacher')),
    party_id          bigint NOT NULL,
    student_id        bigint,
    billable_seconds  bigint NOT NULL CHECK (billable_seconds >= 0),
    final             boolean NOT NULL,
    corrected         boolean NOT NULL,
    version           bigint NOT NULL,
    scheduled_start   timestamptz NOT NULL,
    month             date NOT NULL,  -- local_month(scheduled_start, the academy's zone)
    cancelled         boolean NOT NULL DEFAULT false,
    rate_cents        bigint,
    currency          text,
    -- round half-up of billable_seconds * rate / 3600, in integer arithmetic; NULL without a rate
    amount_cents      bigint GENERATED ALWAYS AS ((billable_seconds * rate_cents * 2 + 3600) / 7200) STORED,
    -- revision grows whenever what the line costs may have changed; settled_revision is the
    -- revision a closed month last accounted for (NULL: never). See billing/reconcile.py.
    revision          bigint NOT NULL DEFAULT nextval('line_revision'),
    settled_revision  bigint,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (class_id, person_key)
);

CREATE INDEX attendance_lines_party ON attendance_lines (party, party_id, month);
-- Lines a closed month accounted for that changed since: candidates for adjustments.
CREATE INDEX attendance_lines_changed ON attendance_lines (class_id) WHERE revision > settled_revision;
-- Never-settled lines; those in a closed month are late data, also candidates.
CREATE INDEX attendance_lines_unsettled ON attendance_lines (month) WHERE settled_revision IS NULL;

-- A trigger rather than each statement: no write path can forget to mark a changed line.
CREATE FUNCTION attendance_lines_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.party, NEW.party_id, NEW.billable_seconds, NEW.month, NEW.cancelled, NEW.rate_cents, NEW.currency)
       IS DISTINCT FROM
       (OLD.party, OLD.party_id, OLD.billable_seconds, OLD.month, OLD.cancelled, OLD.rate_cents, OLD.currency)
    THEN
        NEW.revision := nextval('line_revision');
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER attendance_lines_revision
    BEFORE UPDATE OF party, party_id, billable_seconds, month, cancelled, rate_cents, currency
    ON attendance_lines FOR EACH ROW EXECUTE FUNCTION attendance_lines_revision();

-- Each family's (teacher's) month, per currency ('' = lines without a rate), kept up to date
-- by every statement that writes lines: a month report reads thousands of these rows instead
-- of summing a million lines. Lines of cancelled classes are not counted.
CREATE TABLE month_totals (
    party             text NOT NULL,
    month             date NOT NULL,
    party_id          bigint NOT NULL,
    currency          text NOT NULL,
    amount_cents      bigint NOT NULL,
    billable_seconds  bigint NOT NULL,
    lines             bigint NOT NULL,
    provisional_lines bigint NOT NULL,
    PRIMARY KEY (party, month, party_id, currency)
);
CREATE INDEX month_totals_empty ON month_totals (party) WHERE lines = 0;

-- Statement-level, with transition tables: a bulk write costs one grouped upsert, not one per row.
CREATE FUNCTION attendance_lines_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO month_totals AS t
        SELECT party, month, party_id, coalesce(currency, ''), coalesce(sum(amount_cents), 0), sum(billable_seconds),
               count(*), count(*) FILTER (WHERE NOT final)
        FROM new_rows WHERE NOT cancelled GROUP BY 1, 2, 3, 4
        ON CONFLICT (party, month, party_id, currency) DO UPDATE SET
            amount_cents = t.amount_cents + EXCLUDED.amount_cents,
            billable_seconds = t.billable_seconds + EXCLUDED.billable_seconds,
            lines = t.lines + EXCLUDED.lines, provisional_lines = t.provisional_lines + EXCLUDED.provisional_lines;
    ELSE
        INSERT INTO month_totals AS t
        SELECT party, month, party_id, currency, sum(amount), sum(seconds), sum(lines), sum(provisional)
        FROM (SELECT party, month, party_id, coalesce(currency, '') AS currency, coalesce(amount_cents, 0) AS amount,
                     billable_seconds AS seconds, 1 AS lines, (NOT final)::int AS provisional
              FROM new_rows WHERE NOT cancelled
              UNION ALL
              SELECT party, month, party_id, coalesce(currency, ''), -coalesce(amount_cents, 0), -billable_seconds,
                     -1, -(NOT final)::int
              FROM old_rows WHERE NOT cancelled) AS delta
        GROUP BY 1, 2, 3, 4
        HAVING (sum(amount), sum(seconds), sum(lines), sum(provisional)) <> (0, 0, 0, 0)
        ON CONFLICT (party, month, party_id, currency) DO UPDATE SET
            amount_cents = t.amount_cents + EXCLUDED.amount_cents,
            billable_seconds = t.billable_seconds + EXCLUDED.billable_seconds,
            lines = t.lines + EXCLUDED.lines, provisional_lines = t.provisional_lines + EXCLUDED.provisional_lines;
        DELETE FROM month_totals WHERE lines = 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER attendance_lines_totals_insert AFTER INSERT ON attendance_lines
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION attendance_lines_totals();
CREATE TRIGGER attendance_lines_totals_update AFTER UPDATE ON attendance_lines
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION attendance_lines_totals();

-- Closed months: the frozen statements (served as they are), and what each line was charged.
CREATE TABLE periods (
    period      date PRIMARY KEY CHECK (extract(day FROM period) = 1),
    closed_at   timestamptz NOT NULL DEFAULT now(),
    closed_by   text NOT NULL,
    checksum    text NOT NULL,
    summary     jsonb NOT NULL
);

CREATE TABLE period_statements (
    period    date NOT NULL REFERENCES periods,
    party     text NOT NULL CHECK (party IN ('family', 'teacher')),
    party_id  bigint NOT NULL,
    statement jsonb NOT NULL,
    PRIMARY KEY (period, party, party_id)
);

CREATE TABLE closed_lines (
    period           date NOT NULL REFERENCES periods,
    class_id         bigint NOT NULL,
    person_key       text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('line', 'adjustment')),
    party            text NOT NULL,
    party_id         bigint NOT NULL,
    currency         text NOT NULL,
    billable_seconds bigint NOT NULL,
    amount_cents     bigint NOT NULL,
    origin_period    date NOT NULL,
    PRIMARY KEY (class_id, person_key, period, kind, party_id, currency)
);
