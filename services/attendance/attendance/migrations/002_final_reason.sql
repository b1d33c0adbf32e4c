-- Why a class is final, and the scheduler's last fetch attempt: a class whose call was never
-- found is final only after that attempt (reason no_meeting_found), never by an empty snapshot.

ALTER TABLE classes
    ADD COLUMN last_attempt_fetched_at timestamptz,  -- latest fetch the scheduler marked last_attempt
    ADD COLUMN final_reason text CHECK (final_reason IN ('calls_ended', 'grace_expired', 'no_meeting_found'));

-- Classes finalized before this migration: every call had ended, or the grace ran out.
UPDATE classes SET final_reason = CASE
    WHEN ended_fetched_at IS NOT NULL AND ended_fetched_at >= scheduled_end THEN 'calls_ended'
    ELSE 'grace_expired' END
WHERE final;
