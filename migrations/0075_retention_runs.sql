-- Retention (docs/retention.md): failed generations and their RAW reports older than Retention:OlderThanDays are
-- deleted in batches, blob first and then row; every run, dry or real, leaves one row here. Conversations are never
-- touched. Retention runs as brun_system, which already has "see everything" policies (and DELETE) on
-- failed_generations and generation_calls, so RLS stays on and nothing needs BYPASSRLS.

CREATE TABLE retention_runs (
    id                 uuid        PRIMARY KEY,
    -- Who started it: 'service:brun-web' for the hosted service, 'cli:<os user>' for brun retention run.
    triggered_by       text        NOT NULL,
    started_at         timestamptz NOT NULL,
    finished_at        timestamptz,
    status             text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    dry_run            boolean     NOT NULL,
    older_than_days    integer     NOT NULL CHECK (older_than_days >= 1),
    -- Rows created before this instant are due.
    cutoff             timestamptz NOT NULL,
    -- Deleted rows (in a dry run: rows that would be deleted).
    failures_deleted   bigint      NOT NULL DEFAULT 0,
    -- Blobs deleted, and due rows whose blob was already gone (deleted by an earlier, interrupted run, or never uploaded).
    blobs_deleted      bigint      NOT NULL DEFAULT 0,
    blobs_missing      bigint      NOT NULL DEFAULT 0,
    -- Due rows kept on purpose: quarantined conversations (source 'scan') and reports the upload retrier still owns.
    kept_quarantined   bigint      NOT NULL DEFAULT 0,
    kept_retrying      bigint      NOT NULL DEFAULT 0,
    -- generation_calls whose raw body was emptied (calls of finished tasks older than the cutoff).
    calls_pruned       bigint      NOT NULL DEFAULT 0,
    batches            integer     NOT NULL DEFAULT 0,
    last_error         text
);

CREATE INDEX ix_retention_runs_started ON retention_runs (started_at DESC);

ALTER TABLE retention_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE retention_runs FORCE ROW LEVEL SECURITY;

-- Admins may read the log from the dashboard or the API; only the system identity writes it.
GRANT SELECT ON retention_runs TO brun_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON retention_runs TO brun_system;
CREATE POLICY retention_runs_admin_read ON retention_runs FOR SELECT TO brun_app USING ((SELECT brun_is_admin()));
CREATE POLICY retention_runs_system ON retention_runs TO brun_system USING (true) WITH CHECK (true);

-- A call's raw body is emptied once its task is finished and older than the cutoff; this records when, so the page
-- of a failure can say the transcript was pruned rather than show an empty body as if the API had sent nothing.
ALTER TABLE generation_calls ADD COLUMN raw_body_pruned_at timestamptz;
CREATE INDEX ix_generation_calls_unpruned ON generation_calls (created_at) WHERE raw_body_pruned_at IS NULL;
