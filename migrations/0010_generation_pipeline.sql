-- Runs, prompt scaffolding and the task queue for BatchGenerationWorker.
-- Delivery is at-least-once (leases); storage is exactly-once through unique task_id keys on
-- conversations and failed_generations.

CREATE TABLE personas (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key         text NOT NULL UNIQUE,
    name        text NOT NULL,
    description text NOT NULL
);

CREATE TABLE emotional_arcs (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key         text NOT NULL UNIQUE,
    name        text NOT NULL,
    description text NOT NULL
);

CREATE TABLE training_topics (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key         text NOT NULL UNIQUE,
    name        text NOT NULL,
    description text NOT NULL
);

CREATE TABLE prompt_templates (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL UNIQUE,
    body       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE generation_runs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    created_by      uuid NOT NULL REFERENCES app_users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    model           text NOT NULL,
    max_tokens      integer NOT NULL CHECK (max_tokens > 0),
    temperature     numeric(3, 2) CHECK (temperature BETWEEN 0 AND 1),
    template_id     uuid NOT NULL REFERENCES prompt_templates (id),
    status          text NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'completed', 'cancelled')),
    -- Counters move only inside the transaction that moves a task's state, so they stay exact.
    total           integer NOT NULL CHECK (total >= 0),
    succeeded       integer NOT NULL DEFAULT 0 CHECK (succeeded >= 0),
    failed          integer NOT NULL DEFAULT 0 CHECK (failed >= 0),
    cancelled       integer NOT NULL DEFAULT 0 CHECK (cancelled >= 0)
    -- In-flight and pending are counted from generation_tasks when read: a re-claimed task
    -- (expired lease) would otherwise be counted twice.
);

CREATE INDEX ix_generation_runs_created_by_created_at ON generation_runs (created_by, created_at DESC);
CREATE INDEX ix_generation_runs_created_at ON generation_runs (created_at DESC);

CREATE TABLE generation_tasks (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    run_id            uuid NOT NULL REFERENCES generation_runs (id) ON DELETE CASCADE,
    seq               integer NOT NULL,
    persona_id        uuid REFERENCES personas (id),
    emotional_arc_id  uuid REFERENCES emotional_arcs (id),
    training_topic_id uuid REFERENCES training_topics (id),
    template_id       uuid NOT NULL REFERENCES prompt_templates (id),
    prompt            text NOT NULL,
    state             text NOT NULL DEFAULT 'available'
                      CHECK (state IN ('available', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts          integer NOT NULL DEFAULT 0,
    lease_owner       text,
    lease_expires_at  timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    last_error        text,
    UNIQUE (run_id, seq)
);

-- The claim scans only claimable rows, so finished tasks never bloat the hot path.
CREATE INDEX ix_generation_tasks_available ON generation_tasks (created_at, seq) WHERE state = 'available';
CREATE INDEX ix_generation_tasks_running_lease ON generation_tasks (lease_expires_at) WHERE state = 'running';
CREATE INDEX ix_generation_tasks_run_state ON generation_tasks (run_id, state);

ALTER TABLE generation_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE generation_runs FORCE ROW LEVEL SECURITY;
ALTER TABLE generation_tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE generation_tasks FORCE ROW LEVEL SECURITY;

-- Members create, read and cancel their own runs; admins read all. Workers act as brun_system.
GRANT SELECT ON personas, emotional_arcs, training_topics, prompt_templates TO brun_app, brun_system;
GRANT SELECT, INSERT, UPDATE ON generation_runs, generation_tasks TO brun_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON generation_runs, generation_tasks TO brun_system;

CREATE POLICY generation_runs_read ON generation_runs FOR SELECT TO brun_app
    USING (created_by = brun_current_user_id() OR brun_is_admin());
CREATE POLICY generation_runs_insert_own ON generation_runs FOR INSERT TO brun_app
    WITH CHECK (created_by = brun_current_user_id());
CREATE POLICY generation_runs_update_own ON generation_runs FOR UPDATE TO brun_app
    USING (created_by = brun_current_user_id() OR brun_is_admin());
CREATE POLICY generation_runs_system ON generation_runs TO brun_system USING (true) WITH CHECK (true);

-- A task is visible and writable exactly when its run is (the run policies above decide).
CREATE POLICY generation_tasks_via_run ON generation_tasks TO brun_app
    USING (EXISTS (SELECT 1 FROM generation_runs r WHERE r.id = run_id))
    WITH CHECK (EXISTS (SELECT 1 FROM generation_runs r WHERE r.id = run_id
                        AND (r.created_by = brun_current_user_id() OR brun_is_admin())));
CREATE POLICY generation_tasks_system ON generation_tasks TO brun_system USING (true) WITH CHECK (true);
