-- The insights breakdown's counts of tasks per combination of persona, arc, topic, template version and state
-- (docs/dashboard.md, "Insights charts are live"). Read as brun_app, the tasks' policy checks each task's run with an
-- EXISTS subquery, and a subquery in a scan's filter keeps the whole scan in one process: 705 ms for a million tasks,
-- against about 300 ms with parallel workers.
--
-- brun_task_outcome_combinations runs as the tables' owner and applies the runs' read rule itself (the caller's own
-- runs, or every run for an admin), as brun_failed_generation_text_matches (0087) does for text search. It returns
-- only counts, grouped, of tasks the caller may already read one by one; with no user it returns nothing (maintenance
-- reads the tasks directly). The tables force row-level security on their owner too, so the owner gets read policies;
-- it could already turn row-level security off, so nothing new is granted.

CREATE POLICY generation_runs_owner_read ON generation_runs FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY generation_tasks_owner_read ON generation_tasks FOR SELECT TO CURRENT_USER USING (true);

CREATE FUNCTION brun_task_outcome_combinations(p_run_id uuid, p_from timestamptz, p_to timestamptz, p_model text)
    RETURNS TABLE (persona_id uuid, emotional_arc_id uuid, training_topic_id uuid, template_version_id uuid, state text, n bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_user uuid := public.brun_current_user_id();
    v_admin boolean := public.brun_is_admin();
BEGIN
    IF v_user IS NULL THEN
        RETURN;
    END IF;

    -- One run (the run page) goes through the tasks' run index; a plan cached for "any run or one" could not.
    IF p_run_id IS NOT NULL THEN
        RETURN QUERY
            SELECT t.persona_id, t.emotional_arc_id, t.training_topic_id, t.template_version_id, t.state, count(*)
            FROM public.generation_tasks t
            JOIN public.generation_runs r ON r.id = t.run_id
            WHERE t.run_id = p_run_id
              AND (r.created_by = v_user OR v_admin)
              AND (p_from IS NULL OR r.created_at >= p_from)
              AND (p_to IS NULL OR r.created_at < p_to)
              AND (p_model IS NULL OR r.model = p_model)
            GROUP BY 1, 2, 3, 4, 5;
        RETURN;
    END IF;

    RETURN QUERY
        SELECT t.persona_id, t.emotional_arc_id, t.training_topic_id, t.template_version_id, t.state, count(*)
        FROM public.generation_tasks t
        JOIN public.generation_runs r ON r.id = t.run_id
        WHERE (r.created_by = v_user OR v_admin)
          AND (p_from IS NULL OR r.created_at >= p_from)
          AND (p_to IS NULL OR r.created_at < p_to)
          AND (p_model IS NULL OR r.model = p_model)
        GROUP BY 1, 2, 3, 4, 5;
END
$$;

REVOKE ALL ON FUNCTION brun_task_outcome_combinations(uuid, timestamptz, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION brun_task_outcome_combinations(uuid, timestamptz, timestamptz, text) TO brun_app;
