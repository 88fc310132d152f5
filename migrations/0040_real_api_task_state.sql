-- Real API, queue side: cost, the simulated marker, delayed retries, and one durable capture per Claude call.

-- What a stored outcome cost: the sum over every call its task made (retried calls included). NULL when the model
-- has no price.
ALTER TABLE conversations ADD COLUMN cost_usd numeric(14,6);
ALTER TABLE failed_generations ADD COLUMN cost_usd numeric(14,6);

-- Rows answered by the built-in simulator (response header x-brun-simulated: true). Never training data.
ALTER TABLE conversations ADD COLUMN simulated boolean NOT NULL DEFAULT false;
ALTER TABLE failed_generations ADD COLUMN simulated boolean NOT NULL DEFAULT false;

-- Per run: every call's cost (failures and retried calls included), and the part spent on tasks that ended as
-- failed generations. Moved in the same transaction as the call or outcome they count.
ALTER TABLE generation_runs ADD COLUMN cost_usd numeric(14,6) NOT NULL DEFAULT 0;
ALTER TABLE generation_runs ADD COLUMN failed_cost_usd numeric(14,6) NOT NULL DEFAULT 0;

-- A task sent back after a transient API failure waits until not_before (backoff, retry-after). Compared with the
-- database clock (now()), like leases. delivery_errors counts deliveries that ended in an error of ours (storage
-- outage), so a task can be given up after Worker:MaxDeliveryAttempts of those without counting API retries.
ALTER TABLE generation_tasks ADD COLUMN not_before timestamptz NOT NULL DEFAULT now();
ALTER TABLE generation_tasks ADD COLUMN delivery_errors integer NOT NULL DEFAULT 0;

-- The claim orders by not_before (a new task's not_before is its creation time, so this stays first in, first out)
-- and stops at the first task that is not due yet, however many wait behind a backoff.
DROP INDEX ix_generation_tasks_available;
CREATE INDEX ix_generation_tasks_available ON generation_tasks (not_before, created_at, seq) WHERE state = 'available';

-- Every Claude call a task made, written before its response is validated. A redelivered task whose last call
-- holds a final answer (a response to validate, or a permanent error) finishes from it without calling Claude
-- again; the transient calls before it are the attempt history shown in a failure's report.
CREATE TABLE generation_calls (
    id                          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id                     uuid        NOT NULL REFERENCES generation_tasks (id) ON DELETE CASCADE,
    run_id                      uuid        NOT NULL REFERENCES generation_runs (id) ON DELETE CASCADE,
    -- The task's delivery (generation_tasks.attempts) that made the call: one call per delivery.
    attempt                     integer     NOT NULL,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    -- response: an answer to validate; transient: worth another try later; permanent: an API error that will not heal.
    disposition                 text        NOT NULL CHECK (disposition IN ('response', 'transient', 'permanent')),
    reason                      text,
    http_status                 integer     NOT NULL,
    request_id                  text,
    transport_failure           text,
    transport_error             text,
    streamed                    boolean     NOT NULL,
    raw_body                    text        NOT NULL,
    headers                     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    duration_ms                 bigint,
    http_attempts               integer     NOT NULL DEFAULT 1,
    model                       text        NOT NULL,
    max_tokens                  integer     NOT NULL,
    temperature                 numeric(3,2),
    structured_outputs_enabled  boolean     NOT NULL,
    stream                      boolean     NOT NULL,
    input_tokens                integer,
    output_tokens               integer,
    cache_creation_input_tokens integer,
    cache_read_input_tokens     integer,
    cost_usd                    numeric(14,6),
    simulated                   boolean     NOT NULL DEFAULT false,
    UNIQUE (task_id, attempt)
);

CREATE INDEX ix_generation_calls_run_id ON generation_calls (run_id);

ALTER TABLE generation_calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE generation_calls FORCE ROW LEVEL SECURITY;

-- Members read the calls of runs they can see; only workers write them.
GRANT SELECT ON generation_calls TO brun_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON generation_calls TO brun_system;

CREATE POLICY generation_calls_read ON generation_calls FOR SELECT TO brun_app
    USING (EXISTS (SELECT 1 FROM generation_runs r WHERE r.id = run_id));
CREATE POLICY generation_calls_system ON generation_calls TO brun_system USING (true) WITH CHECK (true);

-- A report row the upload retrier could not even read or rebuild is parked here instead of failing every pass.
ALTER TABLE failed_generations DROP CONSTRAINT failed_generations_report_status_check;
ALTER TABLE failed_generations ADD CONSTRAINT failed_generations_report_status_check
    CHECK (report_status IN ('pending', 'uploaded', 'failed', 'unreadable'));
