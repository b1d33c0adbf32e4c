-- The directory as the scheduler publishes it (teacher.upserted, student.upserted): a roster
-- member's email, name and family are read from here when known, not from the class snapshot
-- taken when the class was scheduled, so a directory edit reaches every class already scheduled.

CREATE TABLE directory (
    person_key text PRIMARY KEY,  -- teacher:<id> | student:<id>
    name       text,
    email      text,
    family_id  bigint,            -- students only
    version    bigint NOT NULL,   -- the scheduler's entity version: an older event changes nothing
    updated_at timestamptz NOT NULL DEFAULT now()
);
