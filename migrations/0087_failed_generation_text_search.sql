-- Text search (docs/dashboard.md "Text search"): a dashboard query runs as brun_app under row-level security, and
-- ILIKE is not leakproof, so PostgreSQL may not evaluate it inside an index scan ahead of the policy's own check:
-- the trigram indexes of 0030 were never used, and every search read the whole table (0.85 s at a million rows to
-- count one match; page 1, newest first, walked the date index to its end).
--
-- brun_failed_generation_text_matches finds the matching ids through the trigram indexes and applies the read
-- policy's rule itself (own rows, or every row for an admin). It answers NULL, meaning "search the rows as before",
-- when more than p_max rows match (a broad term: page 1 then finds its rows early in the date index) or when no user
-- is set (maintenance, which sees every row anyway).
--
-- It runs as the owner of the tables (SECURITY DEFINER). The tables FORCE row-level security on their owner too, so
-- the owner gets a read policy of its own here; the owner could already turn row-level security off, so this grants
-- nothing new, and nobody else is given it.

CREATE POLICY failed_generations_owner_search ON failed_generations FOR SELECT TO CURRENT_USER USING (true);

CREATE FUNCTION brun_failed_generation_text_matches(p_pattern text, p_max integer) RETURNS uuid[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_user uuid := public.brun_current_user_id();
    v_ids uuid[];
BEGIN
    IF v_user IS NULL OR p_pattern IS NULL OR p_max IS NULL OR p_max < 0 THEN
        RETURN NULL;
    END IF;

    -- The pattern is planned as a literal (format %L): with a parameter the planner cannot judge the trigram indexes.
    EXECUTE format(
        'SELECT array_agg(id) FROM (
             SELECT id FROM public.failed_generations
             WHERE (truncation_details ILIKE %1$L OR error_message ILIKE %1$L)
               AND (created_by = %2$L::uuid OR public.brun_is_admin())
             LIMIT %3$s) m',
        p_pattern, v_user, p_max + 1)
    INTO v_ids;

    IF coalesce(cardinality(v_ids), 0) > p_max THEN
        RETURN NULL;
    END IF;

    RETURN coalesce(v_ids, '{}');
END
$$;

REVOKE ALL ON FUNCTION brun_failed_generation_text_matches(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION brun_failed_generation_text_matches(text, integer) TO brun_app, brun_system;
