-- A narrow copy of what a broad text search reads (docs/dashboard.md "Broad text search, stop 24"). The chip counts of
-- a term too common to resolve to ids read every match: at a million rows that was one parallel scan of the 540 MB
-- table, 530-600 ms on two cores, spent on lowering both text columns of every row for ILIKE (pg_lower), on walking
-- each wide row to the columns it needs, and on hashing five text and uuid columns to group the matches.
--
-- failed_generation_search keeps, per failed generation, only the owner, the time, the texts already lowered and one
-- integer for its combination of chip values (failed_generation_dimensions): 130 MB, and the same counts take
-- 130-230 ms. `details LIKE lower(pattern)` is what ILIKE does in a multibyte database (both sides lowered with the
-- column's collation, then LIKE), so the matches are the same.
--
-- Statement-level triggers keep both tables exact in the same transaction as every INSERT, UPDATE, DELETE or
-- TRUNCATE of failed_generations, whoever writes, as the rollup of 0070 is kept.

CREATE TABLE failed_generation_dimensions (
    id                 integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_by         uuid NOT NULL,  -- no FK: rows of a deleted user are harmless, and the search rows go first
    -- The combination as text: a record's text form tells NULL ("(,") from an empty string ("(\"\","), so plain
    -- equality on it (and its unique index) matches exactly what IS NOT DISTINCT FROM would, with an index.
    key                text NOT NULL,
    run_id             uuid,
    failure_type       text NOT NULL,
    stop_reason        text,
    truncation_pattern text,
    model              text NOT NULL,
    CONSTRAINT ux_failed_generation_dimensions_key UNIQUE (created_by, key)
);

CREATE TABLE failed_generation_search (
    id         uuid PRIMARY KEY,   -- failed_generations.id
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL,
    dimensions integer NOT NULL,   -- failed_generation_dimensions.id
    details    text,               -- lower(truncation_details)
    errors     text                -- lower(error_message)
);

COMMENT ON TABLE failed_generation_search IS
    'Trigger-maintained copy of failed_generations for text search counts. Never write by hand: fix failed_generations instead.';

CREATE FUNCTION brun_failed_generation_dimension_key(
    p_run_id uuid, p_failure_type text, p_stop_reason text, p_truncation_pattern text, p_model text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN ROW(p_run_id, p_failure_type, p_stop_reason, p_truncation_pattern, p_model)::text;

-- Adds (on INSERT) or replaces (on UPDATE) the copies of the statement's rows; one function for both triggers, since
-- a statement naming a transition table is planned only when it first runs (the UPDATE branch never runs for an
-- INSERT). Only updates that change a searched column rewrite copies: the frequent ones (report upload status,
-- release) touch none and write nothing here; the transition tables are joined by hash, so a bulk update stays
-- linear. Combinations are added in a fixed order (two concurrent statements cannot deadlock on them); one added by
-- a concurrent transaction is waited for by ON CONFLICT and then seen by the next statement. Should a row still find
-- no combination (a snapshot that cannot see it), the statement fails: a row never goes uncounted.
CREATE FUNCTION brun_failed_generation_search_write() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_rows bigint;
    v_added bigint;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NOT EXISTS (
            SELECT 1 FROM brun_fg_new_rows n FULL JOIN brun_fg_old_rows o ON o.id = n.id
            WHERE n.id IS NULL OR o.id IS NULL  -- ids changed: the old rows go, the new come
               OR (o.created_by, o.created_at, o.run_id, o.failure_type, o.stop_reason, o.truncation_pattern, o.model,
                   o.truncation_details, o.error_message)
                  IS DISTINCT FROM
                  (n.created_by, n.created_at, n.run_id, n.failure_type, n.stop_reason, n.truncation_pattern, n.model,
                   n.truncation_details, n.error_message)) THEN
            RETURN NULL;
        END IF;

        DELETE FROM failed_generation_search s USING brun_fg_old_rows o WHERE s.id = o.id;
    END IF;

    INSERT INTO failed_generation_dimensions (created_by, key, run_id, failure_type, stop_reason, truncation_pattern, model)
    SELECT DISTINCT created_by,
           brun_failed_generation_dimension_key(run_id, failure_type, stop_reason, truncation_pattern, model),
           run_id, failure_type, stop_reason, truncation_pattern, model
    FROM brun_fg_new_rows
    ORDER BY 1, 2
    ON CONFLICT ON CONSTRAINT ux_failed_generation_dimensions_key DO NOTHING;

    INSERT INTO failed_generation_search (id, created_by, created_at, dimensions, details, errors)
    SELECT n.id, n.created_by, n.created_at, d.id, lower(n.truncation_details), lower(n.error_message)
    FROM brun_fg_new_rows n
    JOIN failed_generation_dimensions d
      ON d.created_by = n.created_by
     AND d.key = brun_failed_generation_dimension_key(n.run_id, n.failure_type, n.stop_reason, n.truncation_pattern, n.model);
    GET DIAGNOSTICS v_added = ROW_COUNT;
    SELECT count(*) INTO v_rows FROM brun_fg_new_rows;
    IF v_added <> v_rows THEN
        RAISE EXCEPTION 'failed_generation_search: % of % rows found their dimensions', v_added, v_rows;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION brun_failed_generation_search_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM failed_generation_search s USING brun_fg_old_rows o WHERE s.id = o.id;
    RETURN NULL;
END
$$;

CREATE FUNCTION brun_failed_generation_search_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE failed_generation_search;
    RETURN NULL;
END
$$;

-- No writer may slip in between the copy and the triggers.
LOCK TABLE failed_generations IN SHARE ROW EXCLUSIVE MODE;

CREATE TRIGGER tr_failed_generations_search_insert AFTER INSERT ON failed_generations
    REFERENCING NEW TABLE AS brun_fg_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brun_failed_generation_search_write();
CREATE TRIGGER tr_failed_generations_search_update AFTER UPDATE ON failed_generations
    REFERENCING OLD TABLE AS brun_fg_old_rows NEW TABLE AS brun_fg_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brun_failed_generation_search_write();
CREATE TRIGGER tr_failed_generations_search_delete AFTER DELETE ON failed_generations
    REFERENCING OLD TABLE AS brun_fg_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brun_failed_generation_search_delete();
CREATE TRIGGER tr_failed_generations_search_truncate AFTER TRUNCATE ON failed_generations
    FOR EACH STATEMENT EXECUTE FUNCTION brun_failed_generation_search_truncate();

INSERT INTO failed_generation_dimensions (created_by, key, run_id, failure_type, stop_reason, truncation_pattern, model)
SELECT DISTINCT created_by,
       brun_failed_generation_dimension_key(run_id, failure_type, stop_reason, truncation_pattern, model),
       run_id, failure_type, stop_reason, truncation_pattern, model
FROM failed_generations;

INSERT INTO failed_generation_search (id, created_by, created_at, dimensions, details, errors)
SELECT f.id, f.created_by, f.created_at, d.id, lower(f.truncation_details), lower(f.error_message)
FROM failed_generations f
JOIN failed_generation_dimensions d
  ON d.created_by = f.created_by
 AND d.key = brun_failed_generation_dimension_key(f.run_id, f.failure_type, f.stop_reason, f.truncation_pattern, f.model);

CREATE INDEX ix_failed_generation_search_owner_created ON failed_generation_search (created_by, created_at);

ALTER TABLE failed_generation_dimensions ENABLE ROW LEVEL SECURITY;
ALTER TABLE failed_generation_dimensions FORCE ROW LEVEL SECURITY;
ALTER TABLE failed_generation_search ENABLE ROW LEVEL SECURITY;
ALTER TABLE failed_generation_search FORCE ROW LEVEL SECURITY;

-- The triggers run as whoever writes failed_generations: a member writes the copies of their own rows, an admin any
-- (a quarantine inserts rows that keep another member's ownership), the system every row (retention).
GRANT SELECT, INSERT ON failed_generation_dimensions TO brun_app;
GRANT SELECT, INSERT, DELETE ON failed_generation_dimensions TO brun_system;
GRANT SELECT, INSERT, DELETE ON failed_generation_search TO brun_app;
GRANT SELECT, INSERT, DELETE, TRUNCATE ON failed_generation_search TO brun_system;

CREATE POLICY failed_generation_dimensions_read ON failed_generation_dimensions FOR SELECT TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY failed_generation_dimensions_insert ON failed_generation_dimensions FOR INSERT TO brun_app
    WITH CHECK (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY failed_generation_dimensions_system ON failed_generation_dimensions TO brun_system
    USING (true) WITH CHECK (true);

CREATE POLICY failed_generation_search_read ON failed_generation_search FOR SELECT TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY failed_generation_search_insert ON failed_generation_search FOR INSERT TO brun_app
    WITH CHECK (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY failed_generation_search_delete ON failed_generation_search FOR DELETE TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY failed_generation_search_system ON failed_generation_search TO brun_system
    USING (true) WITH CHECK (true);

ANALYZE failed_generation_dimensions;
ANALYZE failed_generation_search;

-- The copy also tells a broad term quickly. brun_failed_generation_text_matches (0087) found that a term is broad by
-- collecting its first 20,001 matches through the trigram indexes: 100-350 ms at a million rows for a term in 20-80 %
-- of them (each trigram's posting list is most of the table), paid by the page and again by its counts. A 1 % sample
-- of the copy's pages (a few milliseconds) now answers first when it shows the term is far past the limit; any other
-- term goes the trigram way as before. Either answer gives the same rows (the broad way reads the rows themselves);
-- only the cost differs. The functions run as the tables' owner, who needs a read policy on the copy as on the rows.
CREATE POLICY failed_generation_search_owner_search ON failed_generation_search FOR SELECT TO CURRENT_USER USING (true);

-- Whether a sample of p_sample_percent of the copy's pages shows p_pattern matching at least five times p_max of the
-- rows the user may see. A sample is trusted only from 1,000 matches in it: a small table's one or two sampled pages
-- would otherwise stand for a hundred times their rows. REPEATABLE: the same pages every time, so a page and its
-- counts reach the same answer.
CREATE FUNCTION brun_failed_generation_text_is_broad(p_pattern text, p_max integer, p_sample_percent real) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_user uuid := public.brun_current_user_id();
    v_admin boolean := public.brun_is_admin();
    v_sampled bigint;
BEGIN
    IF v_user IS NULL OR p_pattern IS NULL OR p_max IS NULL OR p_sample_percent IS NULL
       OR p_sample_percent <= 0 OR p_sample_percent > 100 THEN
        RETURN false;
    END IF;

    SELECT count(*) INTO v_sampled
    FROM public.failed_generation_search TABLESAMPLE SYSTEM (p_sample_percent) REPEATABLE (89)
    WHERE (details LIKE lower(p_pattern) OR errors LIKE lower(p_pattern))
      AND (v_admin OR created_by = v_user);
    RETURN v_sampled >= 1000 AND v_sampled * 100 / p_sample_percent >= 5 * p_max::bigint;
END
$$;

REVOKE ALL ON FUNCTION brun_failed_generation_text_is_broad(text, integer, real) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION brun_failed_generation_text_is_broad(text, integer, real) TO brun_app, brun_system;

CREATE OR REPLACE FUNCTION brun_failed_generation_text_matches(p_pattern text, p_max integer) RETURNS uuid[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_user uuid := public.brun_current_user_id();
    v_admin boolean := public.brun_is_admin();
    v_ids uuid[];
BEGIN
    IF v_user IS NULL OR p_pattern IS NULL OR p_max IS NULL OR p_max < 0
       OR public.brun_failed_generation_text_is_broad(p_pattern, p_max, 1) THEN
        RETURN NULL;
    END IF;

    -- The pattern is planned as a literal (format %L): with a parameter the planner cannot judge the trigram indexes.
    EXECUTE format(
        'SELECT array_agg(id) FROM (
             SELECT id FROM public.failed_generations
             WHERE (truncation_details ILIKE %1$L OR error_message ILIKE %1$L)
               AND (created_by = %2$L::uuid OR %3$L::boolean)
             LIMIT %4$s) m',
        p_pattern, v_user, v_admin, p_max + 1)
    INTO v_ids;

    IF coalesce(cardinality(v_ids), 0) > p_max THEN
        RETURN NULL;
    END IF;

    RETURN coalesce(v_ids, '{}');
END
$$;
