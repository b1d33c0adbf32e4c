-- A line whose attendance log was removed (the person left the roster, or the class was
-- cancelled after its logs were computed) is kept, so that its log's versions keep ordering
-- what arrives, but like a line of a cancelled class it bills, pays and counts nothing.
ALTER TABLE attendance_lines ADD COLUMN removed boolean NOT NULL DEFAULT false;

-- As in 001, with `removed`: removing (or restoring) a line changes what it costs.
CREATE OR REPLACE FUNCTION attendance_lines_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.party, NEW.party_id, NEW.billable_seconds, NEW.month, NEW.cancelled, NEW.removed, NEW.rate_cents,
        NEW.currency)
       IS DISTINCT FROM
       (OLD.party, OLD.party_id, OLD.billable_seconds, OLD.month, OLD.cancelled, OLD.removed, OLD.rate_cents,
        OLD.currency)
    THEN
        NEW.revision := nextval('line_revision');
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER attendance_lines_revision ON attendance_lines;
CREATE TRIGGER attendance_lines_revision
    BEFORE UPDATE OF party, party_id, billable_seconds, month, cancelled, removed, rate_cents, currency
    ON attendance_lines FOR EACH ROW EXECUTE FUNCTION attendance_lines_revision();

-- As in 001, counting neither cancelled nor removed lines. Every line written before this
-- migration has removed = false, so the running totals stay as they are.
CREATE OR REPLACE FUNCTION attendance_lines_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO month_totals AS t
        SELECT party, month, party_id, coalesce(currency, ''), coalesce(sum(amount_cents), 0), sum(billable_seconds),
               count(*), count(*) FILTER (WHERE NOT final)
        FROM new_rows WHERE NOT cancelled AND NOT removed GROUP BY 1, 2, 3, 4
        ON CONFLICT (party, month, party_id, currency) DO UPDATE SET
            amount_cents = t.amount_cents + EXCLUDED.amount_cents,
            billable_seconds = t.billable_seconds + EXCLUDED.billable_seconds,
            lines = t.lines + EXCLUDED.lines, provisional_lines = t.provisional_lines + EXCLUDED.provisional_lines;
    ELSE
        INSERT INTO month_totals AS t
        SELECT party, month, party_id, currency, sum(amount), sum(seconds), sum(lines), sum(provisional)
        FROM (SELECT party, month, party_id, coalesce(currency, '') AS currency, coalesce(amount_cents, 0) AS amount,
                     billable_seconds AS seconds, 1 AS lines, (NOT final)::int AS provisional
              FROM new_rows WHERE NOT cancelled AND NOT removed
              UNION ALL
              SELECT party, month, party_id, coalesce(currency, ''), -coalesce(amount_cents, 0), -billable_seconds,
                     -1, -(NOT final)::int
              FROM old_rows WHERE NOT cancelled AND NOT removed) AS delta
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
