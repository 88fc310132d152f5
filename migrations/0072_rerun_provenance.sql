-- Bulk re-run: a new run generated from failed generations, with changed parameters. The run side (source_run_id,
-- rerun_of) came with 0071; here each new task records the task and the failed generation it re-generates, so a
-- re-run's results can be traced back row by row. No foreign key to failed_generations: retention may delete the
-- failure while its re-run stays.
ALTER TABLE generation_tasks ADD COLUMN rerun_of_task uuid REFERENCES generation_tasks (id) ON DELETE SET NULL;
ALTER TABLE generation_tasks ADD COLUMN rerun_of_failure uuid;
CREATE INDEX ix_generation_tasks_rerun_of_task ON generation_tasks (rerun_of_task) WHERE rerun_of_task IS NOT NULL;

COMMENT ON COLUMN generation_runs.rerun_of IS
    'A re-run: what it was made from (filter or selected failure ids), the changed parameters and the source runs with their task counts';
COMMENT ON COLUMN generation_tasks.rerun_of_failure IS 'The failed_generations.id this task re-generates (a re-run task)';
