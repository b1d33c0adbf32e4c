-- A line shows why its attendance log was corrected, and whether the correction bills more
-- than was attended (an admin's explicit override): what the log says, copied onto the line.
ALTER TABLE attendance_lines
    ADD COLUMN billable_override boolean NOT NULL DEFAULT false,
    ADD COLUMN correction_reason text;
