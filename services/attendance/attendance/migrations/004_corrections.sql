-- Corrections: `excused` as a corrected status, the reason shown on the log, and an admin's
-- word that an anonymous or phone guest is a roster member in one class.

ALTER TABLE attendance_logs DROP CONSTRAINT attendance_logs_override_status_check;
ALTER TABLE attendance_logs
    ADD CONSTRAINT attendance_logs_override_status_check
        CHECK (override_status IN ('present', 'late', 'absent', 'excused')),
    ADD COLUMN override_reason text;  -- the latest correction's reason
ALTER TABLE log_corrections ADD COLUMN allow_above_attended boolean NOT NULL DEFAULT false;

-- Keyed by the participant's resource name, which only identifies someone within that call.
CREATE TABLE class_mappings (
    class_id   bigint NOT NULL REFERENCES classes,
    identity   text NOT NULL,  -- participant:conferenceRecords/<r>/participants/<p>
    person_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (class_id, identity)
);
