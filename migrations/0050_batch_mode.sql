-- Batch mode: a run's tasks go to Anthropic's Message Batches API (half price, answers within 24 h) instead of
-- one POST /v1/messages each. Every result is still validated; a "succeeded" result cut by max_tokens is a failure.

ALTER TABLE generation_runs
    ADD COLUMN mode text NOT NULL DEFAULT 'online' CHECK (mode IN ('online', 'batch')),
    -- What the run's batch results would have cost at online prices (cost_usd holds what they did cost, at the
    -- batch discount), so the run page can show the saving.
    ADD COLUMN online_equivalent_cost_usd numeric(14,6) NOT NULL DEFAULT 0;

-- One row per batch we create (or are about to create). The row is written before the POST (submission intent), so a
-- crash between the POST and recording its id is reconciled by listing the API's batches, never by posting again.
CREATE TABLE message_batches (
    id                   uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    run_id               uuid        NOT NULL REFERENCES generation_runs (id) ON DELETE CASCADE,
    seq                  integer     NOT NULL,
    -- Anthropic's id (msgbatch_...); NULL until the POST answered or reconciliation found it.
    anthropic_batch_id   text        UNIQUE,
    -- pending: intent recorded, POST not confirmed; submitted: the API has it; abandoned: the POST never arrived
    -- (its tasks went back to the queue).
    submission_state     text        NOT NULL DEFAULT 'pending'
                         CHECK (submission_state IN ('pending', 'submitted', 'abandoned')),
    submit_started_at    timestamptz,
    submit_attempts      integer     NOT NULL DEFAULT 0,
    submit_error         text,
    request_count        integer     NOT NULL CHECK (request_count > 0),
    request_bytes        bigint      NOT NULL DEFAULT 0,
    -- The API's processing_status and request_counts, as last polled.
    processing_status    text        CHECK (processing_status IN ('in_progress', 'canceling', 'ended')),
    count_processing     integer     NOT NULL DEFAULT 0,
    count_succeeded      integer     NOT NULL DEFAULT 0,
    count_errored        integer     NOT NULL DEFAULT 0,
    count_canceled       integer     NOT NULL DEFAULT 0,
    count_expired        integer     NOT NULL DEFAULT 0,
    api_created_at       timestamptz,
    expires_at           timestamptz,
    ended_at             timestamptz,
    cancel_initiated_at  timestamptz,
    results_url          text,
    -- We asked the API to cancel it (run cancelled); set before the POST .../cancel.
    cancel_requested     boolean     NOT NULL DEFAULT false,
    -- Polling: one poller per batch through a lease on the database clock; the next poll time is shared by every
    -- worker, so N workers do not poll N times as often.
    poll_owner           text,
    poll_lease_until     timestamptz,
    next_poll_at         timestamptz NOT NULL DEFAULT now(),
    poll_count           integer     NOT NULL DEFAULT 0,
    last_polled_at       timestamptz,
    -- Results ingestion: lines handled so far (a restart skips them; each line's store is idempotent anyway).
    results_lines_done   bigint      NOT NULL DEFAULT 0,
    ingest_state         text        NOT NULL DEFAULT 'waiting'
                         CHECK (ingest_state IN ('waiting', 'ingesting', 'done')),
    ingested_at          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, seq)
);

CREATE INDEX ix_message_batches_due ON message_batches (next_poll_at) WHERE ingest_state <> 'done';
CREATE INDEX ix_message_batches_run ON message_batches (run_id, seq);

-- A task sent in a batch: which batch, and the custom_id it was sent under (task id + delivery attempt, so a stale
-- result line of an earlier batch can never finish a later delivery).
ALTER TABLE generation_tasks
    ADD COLUMN batch_id uuid REFERENCES message_batches (id) ON DELETE SET NULL,
    ADD COLUMN custom_id text,
    -- Set when a batch-mode task is sent back online (an errored result with Batch:ResubmitOnline).
    ADD COLUMN force_online boolean NOT NULL DEFAULT false;
CREATE INDEX ix_generation_tasks_batch ON generation_tasks (batch_id) WHERE batch_id IS NOT NULL;

-- A failure that came from a batch result says so: which batch, which custom_id, and what the batch called it
-- ("succeeded" for a max_tokens cut, "errored" for an API error).
ALTER TABLE failed_generations
    ADD COLUMN batch_id text,
    ADD COLUMN batch_custom_id text,
    ADD COLUMN batch_result_type text;

ALTER TABLE message_batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_batches FORCE ROW LEVEL SECURITY;

-- Members read the batches of the runs they can see; workers (brun_system) do everything else.
GRANT SELECT ON message_batches TO brun_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON message_batches TO brun_system;

CREATE POLICY message_batches_via_run ON message_batches FOR SELECT TO brun_app
    USING (EXISTS (SELECT 1 FROM generation_runs r WHERE r.id = run_id));
CREATE POLICY message_batches_system ON message_batches TO brun_system USING (true) WITH CHECK (true);
