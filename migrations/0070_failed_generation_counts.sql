-- A rollup of failed_generations for the dashboard's chip counts, totals and per-day chart: one row per owner,
-- UTC day, run, failure type, stop reason, pattern and model, with the number of rows. Statement-level triggers
-- keep it exact in the same transaction as every INSERT, DELETE, UPDATE or TRUNCATE of failed_generations,
-- whoever writes (the worker, a bulk INSERT ... SELECT, a restore, a manual fix, retention, a cascade).

CREATE TABLE failed_generation_counts (
    created_by         uuid   NOT NULL,  -- no FK: a cascade delete of the user decrements these rows first
    day                date   NOT NULL,  -- (created_at AT TIME ZONE 'UTC')::date
    run_id             uuid,
    failure_type       text   NOT NULL,
    stop_reason        text,
    truncation_pattern text,
    model              text   NOT NULL,
    n                  bigint NOT NULL,
    CONSTRAINT ux_failed_generation_counts_key
        UNIQUE NULLS NOT DISTINCT (created_by, day, run_id, failure_type, stop_reason, truncation_pattern, model)
);

-- Rows that reach zero are kept (deleting them would race a concurrent insert of the same key); readers sum.
COMMENT ON TABLE failed_generation_counts IS
    'Trigger-maintained rollup of failed_generations; n may be 0. Never write by hand: fix failed_generations instead.';

-- Adds the signed per-key differences of one statement. Keys are applied in a fixed order, so two concurrent
-- bulk statements lock the rollup rows in the same order and cannot deadlock on them. An UPDATE that changes no
-- key column (report upload status, for example) nets to zero per key and writes nothing.
CREATE FUNCTION brun_failed_generation_counts_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM failed_generation_counts;
        RETURN NULL;
    END IF;

    INSERT INTO failed_generation_counts AS c
        (created_by, day, run_id, failure_type, stop_reason, truncation_pattern, model, n)
    SELECT d.created_by, d.day, d.run_id, d.failure_type, d.stop_reason, d.truncation_pattern, d.model, sum(d.delta)
    FROM (
        SELECT created_by, (created_at AT TIME ZONE 'UTC')::date AS day, run_id, failure_type, stop_reason,
               truncation_pattern, model, 1 AS delta
        FROM brun_fg_new_rows
        UNION ALL
        SELECT created_by, (created_at AT TIME ZONE 'UTC')::date, run_id, failure_type, stop_reason,
               truncation_pattern, model, -1
        FROM brun_fg_old_rows
    ) AS d
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(d.delta) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT ON CONSTRAINT ux_failed_generation_counts_key DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

-- One function per event shape: a trigger with transition tables may have only one event, and a table
-- referenced by the function must exist, so INSERT and DELETE get an empty stand-in for the missing side.
CREATE FUNCTION brun_failed_generation_counts_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO failed_generation_counts AS c
        (created_by, day, run_id, failure_type, stop_reason, truncation_pattern, model, n)
    SELECT created_by, (created_at AT TIME ZONE 'UTC')::date, run_id, failure_type, stop_reason, truncation_pattern,
           model, count(*)
    FROM brun_fg_new_rows
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT ON CONSTRAINT ux_failed_generation_counts_key DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION brun_failed_generation_counts_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO failed_generation_counts AS c
        (created_by, day, run_id, failure_type, stop_reason, truncation_pattern, model, n)
    SELECT created_by, (created_at AT TIME ZONE 'UTC')::date, run_id, failure_type, stop_reason, truncation_pattern,
           model, -count(*)
    FROM brun_fg_old_rows
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT ON CONSTRAINT ux_failed_generation_counts_key DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

-- No writer may slip in between the backfill and the triggers.
LOCK TABLE failed_generations IN SHARE ROW EXCLUSIVE MODE;

CREATE TRIGGER tr_failed_generations_counts_insert AFTER INSERT ON failed_generations
    REFERENCING NEW TABLE AS brun_fg_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brun_failed_generation_counts_insert();
CREATE TRIGGER tr_failed_generations_counts_delete AFTER DELETE ON failed_generations
    REFERENCING OLD TABLE AS brun_fg_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brun_failed_generation_counts_delete();
CREATE TRIGGER tr_failed_generations_counts_update AFTER UPDATE ON failed_generations
    REFERENCING OLD TABLE AS brun_fg_old_rows NEW TABLE AS brun_fg_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brun_failed_generation_counts_apply();
CREATE TRIGGER tr_failed_generations_counts_truncate AFTER TRUNCATE ON failed_generations
    FOR EACH STATEMENT EXECUTE FUNCTION brun_failed_generation_counts_apply();

INSERT INTO failed_generation_counts (created_by, day, run_id, failure_type, stop_reason, truncation_pattern, model, n)
SELECT created_by, (created_at AT TIME ZONE 'UTC')::date, run_id, failure_type, stop_reason, truncation_pattern, model, count(*)
FROM failed_generations
GROUP BY 1, 2, 3, 4, 5, 6, 7;

CREATE INDEX ix_failed_generation_counts_owner_day ON failed_generation_counts (created_by, day);
CREATE INDEX ix_failed_generation_counts_run ON failed_generation_counts (run_id) WHERE run_id IS NOT NULL;

ALTER TABLE failed_generation_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE failed_generation_counts FORCE ROW LEVEL SECURITY;

-- The triggers run as whoever writes failed_generations, so both roles may write: a member the counts of their own
-- rows, an admin any (an admin's quarantine inserts failed_generations rows that keep another member's ownership).
GRANT SELECT, INSERT, UPDATE ON failed_generation_counts TO brun_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON failed_generation_counts TO brun_system;

CREATE POLICY failed_generation_counts_read ON failed_generation_counts FOR SELECT TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY failed_generation_counts_insert ON failed_generation_counts FOR INSERT TO brun_app
    WITH CHECK (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY failed_generation_counts_update ON failed_generation_counts FOR UPDATE TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()))
    WITH CHECK (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY failed_generation_counts_system ON failed_generation_counts TO brun_system
    USING (true) WITH CHECK (true);
