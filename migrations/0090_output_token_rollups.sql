-- Rollups of output tokens for the histograms (the insights tab, run comparison, run reports). They read every row of
-- failed_generations and of conversations under the filters: at a million failures a full scan of the 540 MB table
-- per chart load, and the insights tab reloads on every live batch that matches, so an open tab during a run kept
-- a core scanning (docs/dashboard.md "Histograms from rollups").
--
-- One row per owner, UTC day, the chip dimensions and a 50-token bucket (output_tokens / 50), with the number of rows:
-- any histogram whose bucket width is a multiple of 50 (the dashboard asks for 100; a comparison for multiples of
-- 50) sums whole buckets. Rows without output_tokens are not histogrammed, so they are not rolled up. A negative
-- count (none is written by the application, but nothing forbids it) goes to bucket -1, which width_bucket puts
-- below the first bucket as well.
--
-- Statement-level triggers keep both exact in the same transaction as every INSERT, UPDATE, DELETE or TRUNCATE,
-- whoever writes, as the rollup of 0070 is kept. Rows that reach zero are kept (readers sum; deleting them would
-- race a concurrent insert of the same key).

CREATE FUNCTION brun_output_token_bucket(p_output_tokens integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN p_output_tokens < 0 THEN -1 ELSE p_output_tokens / 50 END;

CREATE TABLE failed_generation_token_counts (
    created_by         uuid    NOT NULL,  -- no FK: a cascade delete of the user decrements these rows first
    day                date    NOT NULL,  -- (created_at AT TIME ZONE 'UTC')::date
    run_id             uuid,
    failure_type       text    NOT NULL,
    stop_reason        text,
    truncation_pattern text,
    model              text    NOT NULL,
    bucket             integer NOT NULL,  -- brun_output_token_bucket(output_tokens)
    n                  bigint  NOT NULL,
    CONSTRAINT ux_failed_generation_token_counts_key
        UNIQUE NULLS NOT DISTINCT (created_by, day, run_id, failure_type, stop_reason, truncation_pattern, model, bucket)
);

CREATE TABLE conversation_token_counts (
    created_by uuid    NOT NULL,
    day        date    NOT NULL,
    run_id     uuid,
    model      text    NOT NULL,
    bucket     integer NOT NULL,
    n          bigint  NOT NULL,
    CONSTRAINT ux_conversation_token_counts_key UNIQUE NULLS NOT DISTINCT (created_by, day, run_id, model, bucket)
);

COMMENT ON TABLE failed_generation_token_counts IS
    'Trigger-maintained rollup of failed_generations.output_tokens; n may be 0. Never write by hand: fix failed_generations instead.';
COMMENT ON TABLE conversation_token_counts IS
    'Trigger-maintained rollup of conversations.output_tokens; n may be 0. Never write by hand: fix conversations instead.';

-- Adds the signed per-key differences of one statement, keys in a fixed order (two concurrent bulk statements lock
-- the rollup rows in the same order and cannot deadlock on them). One function for every event: a statement naming
-- a transition table is planned only when it first runs, so the branch for another event never needs its tables.
-- An UPDATE that changes no key column (report upload status, release) nets to zero per key and writes nothing.
CREATE FUNCTION brun_failed_generation_token_counts_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM failed_generation_token_counts;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO failed_generation_token_counts AS c
            (created_by, day, run_id, failure_type, stop_reason, truncation_pattern, model, bucket, n)
        SELECT created_by, (created_at AT TIME ZONE 'UTC')::date, run_id, failure_type, stop_reason, truncation_pattern,
               model, brun_output_token_bucket(output_tokens), count(*)
        FROM brun_fg_new_rows
        WHERE output_tokens IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT ON CONSTRAINT ux_failed_generation_token_counts_key DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO failed_generation_token_counts AS c
            (created_by, day, run_id, failure_type, stop_reason, truncation_pattern, model, bucket, n)
        SELECT created_by, (created_at AT TIME ZONE 'UTC')::date, run_id, failure_type, stop_reason, truncation_pattern,
               model, brun_output_token_bucket(output_tokens), -count(*)
        FROM brun_fg_old_rows
        WHERE output_tokens IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT ON CONSTRAINT ux_failed_generation_token_counts_key DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSE
        INSERT INTO failed_generation_token_counts AS c
            (created_by, day, run_id, failure_type, stop_reason, truncation_pattern, model, bucket, n)
        SELECT d.created_by, d.day, d.run_id, d.failure_type, d.stop_reason, d.truncation_pattern, d.model, d.bucket,
               sum(d.delta)
        FROM (
            SELECT created_by, (created_at AT TIME ZONE 'UTC')::date AS day, run_id, failure_type, stop_reason,
                   truncation_pattern, model, brun_output_token_bucket(output_tokens) AS bucket, 1 AS delta
            FROM brun_fg_new_rows
            WHERE output_tokens IS NOT NULL
            UNION ALL
            SELECT created_by, (created_at AT TIME ZONE 'UTC')::date, run_id, failure_type, stop_reason,
                   truncation_pattern, model, brun_output_token_bucket(output_tokens), -1
            FROM brun_fg_old_rows
            WHERE output_tokens IS NOT NULL
        ) AS d
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        HAVING sum(d.delta) <> 0
        ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT ON CONSTRAINT ux_failed_generation_token_counts_key DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION brun_conversation_token_counts_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM conversation_token_counts;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO conversation_token_counts AS c (created_by, day, run_id, model, bucket, n)
        SELECT created_by, (created_at AT TIME ZONE 'UTC')::date, run_id, model, brun_output_token_bucket(output_tokens),
               count(*)
        FROM brun_cv_new_rows
        WHERE output_tokens IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT ON CONSTRAINT ux_conversation_token_counts_key DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO conversation_token_counts AS c (created_by, day, run_id, model, bucket, n)
        SELECT created_by, (created_at AT TIME ZONE 'UTC')::date, run_id, model, brun_output_token_bucket(output_tokens),
               -count(*)
        FROM brun_cv_old_rows
        WHERE output_tokens IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT ON CONSTRAINT ux_conversation_token_counts_key DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSE
        INSERT INTO conversation_token_counts AS c (created_by, day, run_id, model, bucket, n)
        SELECT d.created_by, d.day, d.run_id, d.model, d.bucket, sum(d.delta)
        FROM (
            SELECT created_by, (created_at AT TIME ZONE 'UTC')::date AS day, run_id, model,
                   brun_output_token_bucket(output_tokens) AS bucket, 1 AS delta
            FROM brun_cv_new_rows
            WHERE output_tokens IS NOT NULL
            UNION ALL
            SELECT created_by, (created_at AT TIME ZONE 'UTC')::date, run_id, model,
                   brun_output_token_bucket(output_tokens), -1
            FROM brun_cv_old_rows
            WHERE output_tokens IS NOT NULL
        ) AS d
        GROUP BY 1, 2, 3, 4, 5
        HAVING sum(d.delta) <> 0
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT ON CONSTRAINT ux_conversation_token_counts_key DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;

-- No writer may slip in between the backfill and the triggers.
LOCK TABLE failed_generations IN SHARE ROW EXCLUSIVE MODE;
LOCK TABLE conversations IN SHARE ROW EXCLUSIVE MODE;

CREATE TRIGGER tr_failed_generations_token_counts_insert AFTER INSERT ON failed_generations
    REFERENCING NEW TABLE AS brun_fg_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brun_failed_generation_token_counts_apply();
CREATE TRIGGER tr_failed_generations_token_counts_delete AFTER DELETE ON failed_generations
    REFERENCING OLD TABLE AS brun_fg_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brun_failed_generation_token_counts_apply();
CREATE TRIGGER tr_failed_generations_token_counts_update AFTER UPDATE ON failed_generations
    REFERENCING OLD TABLE AS brun_fg_old_rows NEW TABLE AS brun_fg_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brun_failed_generation_token_counts_apply();
CREATE TRIGGER tr_failed_generations_token_counts_truncate AFTER TRUNCATE ON failed_generations
    FOR EACH STATEMENT EXECUTE FUNCTION brun_failed_generation_token_counts_apply();

CREATE TRIGGER tr_conversations_token_counts_insert AFTER INSERT ON conversations
    REFERENCING NEW TABLE AS brun_cv_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brun_conversation_token_counts_apply();
CREATE TRIGGER tr_conversations_token_counts_delete AFTER DELETE ON conversations
    REFERENCING OLD TABLE AS brun_cv_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brun_conversation_token_counts_apply();
CREATE TRIGGER tr_conversations_token_counts_update AFTER UPDATE ON conversations
    REFERENCING OLD TABLE AS brun_cv_old_rows NEW TABLE AS brun_cv_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brun_conversation_token_counts_apply();
CREATE TRIGGER tr_conversations_token_counts_truncate AFTER TRUNCATE ON conversations
    FOR EACH STATEMENT EXECUTE FUNCTION brun_conversation_token_counts_apply();

INSERT INTO failed_generation_token_counts
    (created_by, day, run_id, failure_type, stop_reason, truncation_pattern, model, bucket, n)
SELECT created_by, (created_at AT TIME ZONE 'UTC')::date, run_id, failure_type, stop_reason, truncation_pattern, model,
       brun_output_token_bucket(output_tokens), count(*)
FROM failed_generations
WHERE output_tokens IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

INSERT INTO conversation_token_counts (created_by, day, run_id, model, bucket, n)
SELECT created_by, (created_at AT TIME ZONE 'UTC')::date, run_id, model, brun_output_token_bucket(output_tokens), count(*)
FROM conversations
WHERE output_tokens IS NOT NULL
GROUP BY 1, 2, 3, 4, 5;

CREATE INDEX ix_failed_generation_token_counts_owner_day ON failed_generation_token_counts (created_by, day);
CREATE INDEX ix_failed_generation_token_counts_run ON failed_generation_token_counts (run_id) WHERE run_id IS NOT NULL;
CREATE INDEX ix_conversation_token_counts_owner_day ON conversation_token_counts (created_by, day);
CREATE INDEX ix_conversation_token_counts_run ON conversation_token_counts (run_id) WHERE run_id IS NOT NULL;

ALTER TABLE failed_generation_token_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE failed_generation_token_counts FORCE ROW LEVEL SECURITY;
ALTER TABLE conversation_token_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE conversation_token_counts FORCE ROW LEVEL SECURITY;

-- The triggers run as whoever writes the rows: a member their own counts, an admin any (a quarantine or a release
-- moves rows that keep another member's ownership), the system every row (retention, the worker).
GRANT SELECT, INSERT, UPDATE ON failed_generation_token_counts TO brun_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON failed_generation_token_counts TO brun_system;
GRANT SELECT, INSERT, UPDATE ON conversation_token_counts TO brun_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON conversation_token_counts TO brun_system;

CREATE POLICY failed_generation_token_counts_read ON failed_generation_token_counts FOR SELECT TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY failed_generation_token_counts_insert ON failed_generation_token_counts FOR INSERT TO brun_app
    WITH CHECK (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY failed_generation_token_counts_update ON failed_generation_token_counts FOR UPDATE TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()))
    WITH CHECK (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY failed_generation_token_counts_system ON failed_generation_token_counts TO brun_system
    USING (true) WITH CHECK (true);

CREATE POLICY conversation_token_counts_read ON conversation_token_counts FOR SELECT TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY conversation_token_counts_insert ON conversation_token_counts FOR INSERT TO brun_app
    WITH CHECK (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY conversation_token_counts_update ON conversation_token_counts FOR UPDATE TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()))
    WITH CHECK (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY conversation_token_counts_system ON conversation_token_counts TO brun_system
    USING (true) WITH CHECK (true);

ANALYZE failed_generation_token_counts;
ANALYZE conversation_token_counts;
