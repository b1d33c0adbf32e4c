-- Billing policies (docs/architecture.md, "Billing policies"): effective-dated entries at two
-- scopes per party, a party's own (party_id) and every party's (party_id 0, the default scope;
-- ids are positive). `fields` holds only the fields the entry sets, in the API's JSON form:
-- a field left out falls back to the next scope (billing/policies.py resolves them).
CREATE TABLE policies (
    party          text NOT NULL CHECK (party IN ('family', 'teacher')),
    party_id       bigint NOT NULL CHECK (party_id >= 0),
    effective_from timestamptz NOT NULL,
    fields         jsonb NOT NULL CHECK (jsonb_typeof(fields) = 'object'),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    updated_by     text NOT NULL,
    PRIMARY KEY (party, party_id, effective_from)
);

-- When the class was cancelled (the class.cancelled event's time): a late cancellation bills.
-- Classes cancelled before this migration have none, and so never count as late.
ALTER TABLE classes ADD COLUMN cancelled_at timestamptz;

-- Why attendance made the line final: a `no_meeting_found` class bills no-shows nothing.
-- Lines written before this migration learn it from their class's next log.
ALTER TABLE attendance_lines ADD COLUMN final_reason text;

-- Pricing a class reads its lines together (whether the teacher, or any student, attended).
CREATE INDEX attendance_lines_scheduled ON attendance_lines (party, scheduled_start);
