-- Failed generations: every diagnostic fact about a Claude call that may not enter production.

CREATE TABLE failed_generations (
    id                         uuid        PRIMARY KEY,
    conversation_id            uuid,
    run_id                     uuid,
    -- One row per pipeline task at most, so a retried task is stored exactly once. NULLs never conflict.
    task_id                    uuid        UNIQUE,

    -- Request context
    prompt                     text        NOT NULL,
    prompt_length              integer     NOT NULL,
    model                      text        NOT NULL,
    max_tokens                 integer     NOT NULL,
    temperature                numeric(3,2),
    structured_outputs_enabled boolean     NOT NULL DEFAULT true,

    -- Response. raw_response is the body when it is JSON, else {"format":"sse"|"text","body":...};
    -- raw_body keeps the exact text either way.
    raw_response               jsonb       NOT NULL,
    raw_body                   text        NOT NULL,
    response_content           text,
    stop_reason                text,
    stop_sequence              text,
    stop_details_category      text,
    stop_details_explanation   text,
    input_tokens               integer,
    output_tokens              integer,
    cache_creation_input_tokens integer,
    cache_read_input_tokens    integer,

    -- Transport facts
    request_id                 text,
    http_status                integer     NOT NULL,
    duration_ms                bigint,
    streamed                   boolean     NOT NULL,
    stream_outcome             text,
    transport_failure          text,
    attempts                   integer     NOT NULL DEFAULT 1,
    rate_limit_headers         jsonb       NOT NULL DEFAULT '{}'::jsonb,

    -- Failure analysis
    failure_type               text        NOT NULL
        CHECK (failure_type IN ('truncation', 'parse_error', 'api_error', 'validation_error')),
    truncation_pattern         text,
    truncation_details         text,
    detection_confidence       text        NOT NULL CHECK (detection_confidence IN ('low', 'medium', 'high')),
    error_message              text,
    error_stack                text,

    -- Error report upload (the row is stored first; the blob may follow later through the retrier)
    raw_file_path              text,
    report_status              text        NOT NULL DEFAULT 'pending'
        CHECK (report_status IN ('pending', 'uploaded', 'failed')),
    report_attempts            integer     NOT NULL DEFAULT 0,
    report_last_error          text,
    report_uploaded_at         timestamptz,
    report_next_attempt_at     timestamptz,

    created_at                 timestamptz NOT NULL DEFAULT now(),
    created_by                 uuid        NOT NULL REFERENCES app_users (id) ON DELETE CASCADE,

    -- Scaffolding provenance
    persona_id                 uuid,
    emotional_arc_id           uuid,
    training_topic_id          uuid,
    template_id                uuid
);

CREATE INDEX ix_failed_generations_failure_type ON failed_generations (failure_type);
CREATE INDEX ix_failed_generations_stop_reason ON failed_generations (stop_reason);
CREATE INDEX ix_failed_generations_created_at ON failed_generations (created_at DESC);
CREATE INDEX ix_failed_generations_pattern ON failed_generations (truncation_pattern) WHERE truncation_pattern IS NOT NULL;
CREATE INDEX ix_failed_generations_run_id ON failed_generations (run_id) WHERE run_id IS NOT NULL;
CREATE INDEX ix_failed_generations_owner_created ON failed_generations (created_by, created_at DESC);
-- The retrier's claim query: reports not yet uploaded, oldest due first.
CREATE INDEX ix_failed_generations_report_due ON failed_generations (report_next_attempt_at)
    WHERE report_status <> 'uploaded';

COMMENT ON COLUMN failed_generations.stop_reason IS 'Claude stop_reason verbatim (end_turn, max_tokens, refusal, ... or unknown values); NULL when none arrived';
COMMENT ON COLUMN failed_generations.http_status IS 'HTTP status of the final attempt; 0 when no response arrived';

ALTER TABLE failed_generations ENABLE ROW LEVEL SECURITY;
ALTER TABLE failed_generations FORCE ROW LEVEL SECURITY;

GRANT SELECT, INSERT, UPDATE ON failed_generations TO brun_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON failed_generations TO brun_system;

CREATE POLICY failed_generations_read ON failed_generations FOR SELECT TO brun_app
    USING (created_by = brun_current_user_id() OR brun_is_admin());
CREATE POLICY failed_generations_insert_own ON failed_generations FOR INSERT TO brun_app
    WITH CHECK (created_by = brun_current_user_id());
CREATE POLICY failed_generations_update_own ON failed_generations FOR UPDATE TO brun_app
    USING (created_by = brun_current_user_id())
    WITH CHECK (created_by = brun_current_user_id());
CREATE POLICY failed_generations_system ON failed_generations TO brun_system
    USING (true) WITH CHECK (true);
