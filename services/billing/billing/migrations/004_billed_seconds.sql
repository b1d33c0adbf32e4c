-- Billing policies (docs/architecture.md, "Billing policies"): a line's amount is priced from
-- its billed seconds (what the policy makes of the measured billable_seconds), and says which
-- rule made them. Until a policy is set every line is billed as measured, as before.
ALTER TABLE attendance_lines
    ADD COLUMN billed_seconds bigint,
    ADD COLUMN rule text NOT NULL DEFAULT 'measured'
        CHECK (rule IN ('measured', 'full_lesson', 'minimum', 'no_show', 'late_cancel', 'no_students_minimum',
                        'corrected')),
    ADD COLUMN rule_detail text NOT NULL DEFAULT '';
UPDATE attendance_lines SET billed_seconds = billable_seconds;
ALTER TABLE attendance_lines
    ALTER COLUMN billed_seconds SET NOT NULL,
    ADD CONSTRAINT attendance_lines_billed_seconds CHECK (billed_seconds >= 0);

-- The amount follows the billed seconds (round half-up of billed_seconds × rate / 3600).
ALTER TABLE attendance_lines DROP COLUMN amount_cents;
ALTER TABLE attendance_lines
    ADD COLUMN amount_cents bigint GENERATED ALWAYS AS ((billed_seconds * rate_cents * 2 + 3600) / 7200) STORED;

-- Whether the line bills (pays) at all, said once: a cancelled class or a removed log bills
-- nothing, except the late-cancellation charge of a rostered student (teacher).
ALTER TABLE attendance_lines
    ADD COLUMN counted boolean GENERATED ALWAYS AS (rule = 'late_cancel' OR NOT (cancelled OR removed)) STORED;

ALTER TABLE month_totals ADD COLUMN billed_seconds bigint NOT NULL DEFAULT 0;
UPDATE month_totals SET billed_seconds = billable_seconds;
ALTER TABLE closed_lines ADD COLUMN billed_seconds bigint;
UPDATE closed_lines SET billed_seconds = billable_seconds;
ALTER TABLE closed_lines ALTER COLUMN billed_seconds SET NOT NULL;

-- As in 002, with the billed seconds and the rule: either changes what the line costs.
CREATE OR REPLACE FUNCTION attendance_lines_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.party, NEW.party_id, NEW.billable_seconds, NEW.billed_seconds, NEW.rule, NEW.month, NEW.cancelled,
        NEW.removed, NEW.rate_cents, NEW.currency)
       IS DISTINCT FROM
       (OLD.party, OLD.party_id, OLD.billable_seconds, OLD.billed_seconds, OLD.rule, OLD.month, OLD.cancelled,
        OLD.removed, OLD.rate_cents, OLD.currency)
    THEN
        NEW.revision := nextval('line_revision');
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER attendance_lines_revision ON attendance_lines;
CREATE TRIGGER attendance_lines_revision
    BEFORE UPDATE OF party, party_id, billable_seconds, billed_seconds, rule, month, cancelled, removed, rate_cents,
        currency
    ON attendance_lines FOR EACH ROW EXECUTE FUNCTION attendance_lines_revision();

-- As in 002, over the counted lines, with their billed seconds.
CREATE OR REPLACE FUNCTION attendance_lines_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO month_totals AS t (party, month, party_id, currency, amount_cents, billable_seconds, lines,
                                       provisional_lines, billed_seconds)
        SELECT party, month, party_id, coalesce(currency, ''), coalesce(sum(amount_cents), 0), sum(billable_seconds),
               count(*), count(*) FILTER (WHERE NOT final), sum(billed_seconds)
        FROM new_rows WHERE counted GROUP BY 1, 2, 3, 4
        ON CONFLICT (party, month, party_id, currency) DO UPDATE SET
            amount_cents = t.amount_cents + EXCLUDED.amount_cents,
            billable_seconds = t.billable_seconds + EXCLUDED.billable_seconds,
            billed_seconds = t.billed_seconds + EXCLUDED.billed_seconds,
            lines = t.lines + EXCLUDED.lines, provisional_lines = t.provisional_lines + EXCLUDED.provisional_lines;
    ELSE
        INSERT INTO month_totals AS t (party, month, party_id, currency, amount_cents, billable_seconds, lines,
                                       provisional_lines, billed_seconds)
        SELECT party, month, party_id, currency, sum(amount), sum(seconds), sum(lines), sum(provisional), sum(billed)
        FROM (SELECT party, month, party_id, coalesce(currency, '') AS currency, coalesce(amount_cents, 0) AS amount,
                     billable_seconds AS seconds, 1 AS lines, (NOT final)::int AS provisional, billed_seconds AS billed
              FROM new_rows WHERE counted
              UNION ALL
              SELECT party, month, party_id, coalesce(currency, ''), -coalesce(amount_cents, 0), -billable_seconds,
                     -1, -(NOT final)::int, -billed_seconds
              FROM old_rows WHERE counted) AS delta
        GROUP BY 1, 2, 3, 4
        HAVING (sum(amount), sum(seconds), sum(lines), sum(provisional), sum(billed)) <> (0, 0, 0, 0, 0)
        ON CONFLICT (party, month, party_id, currency) DO UPDATE SET
            amount_cents = t.amount_cents + EXCLUDED.amount_cents,
            billable_seconds = t.billable_seconds + EXCLUDED.billable_seconds,
            billed_seconds = t.billed_seconds + EXCLUDED.billed_seconds,
            lines = t.lines + EXCLUDED.lines, provisional_lines = t.provisional_lines + EXCLUDED.provisional_lines;
        DELETE FROM month_totals WHERE lines = 0;
    END IF;
    RETURN NULL;
END
$$;
