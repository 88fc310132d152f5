-- A failed task can be re-queued explicitly (content failures are never retried automatically). The retry is a
-- new task that points back at the failed one, so the failed task and its failed_generations row stay as history.
ALTER TABLE generation_tasks ADD COLUMN requeued_from uuid REFERENCES generation_tasks (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX ux_generation_tasks_requeued_from ON generation_tasks (requeued_from) WHERE requeued_from IS NOT NULL;
