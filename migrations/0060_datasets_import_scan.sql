-- Datasets brought in from outside (brun import), quarantine scans of stored conversations (brun scan), and the
-- columns that let a failed generation say where it came from and be released back by a person.

-- A named dataset: what imported conversations belong to (one name per owner).
CREATE TABLE datasets (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_by  uuid        NOT NULL REFERENCES app_users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (created_by, name)
);

-- One import of one or more files into a dataset, with its counts. bad_lines are lines that could not be read as a
-- record of the format (each one is in dataset_import_errors); rejected are records that were read but failed
-- validation (each one is a failed generation with source 'import').
CREATE TABLE dataset_imports (
    id          uuid        PRIMARY KEY,
    dataset_id  uuid        NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    format      text        NOT NULL CHECK (format IN ('auto', 'openai', 'sharegpt', 'messages-api')),
    status      text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
    records     bigint      NOT NULL DEFAULT 0,
    imported    bigint      NOT NULL DEFAULT 0,
    rejected    bigint      NOT NULL DEFAULT 0,
    bad_lines   bigint      NOT NULL DEFAULT 0,
    created_by  uuid        NOT NULL REFERENCES app_users (id) ON DELETE CASCADE,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

CREATE TABLE dataset_import_errors (
    import_id   uuid        NOT NULL REFERENCES dataset_imports (id) ON DELETE CASCADE,
    source      text        NOT NULL,
    line        bigint      NOT NULL,
    message     text        NOT NULL,
    created_by  uuid        NOT NULL REFERENCES app_users (id) ON DELETE CASCADE,
    PRIMARY KEY (import_id, source, line)
);

ALTER TABLE conversations
    ADD COLUMN dataset_id uuid REFERENCES datasets (id),
    ADD COLUMN source text NOT NULL DEFAULT 'generation' CHECK (source IN ('generation', 'import')),
    -- Set when a person released this conversation back from quarantine (the failed generation that records who and why).
    ADD COLUMN released_from uuid;

CREATE INDEX ix_conversations_dataset ON conversations (dataset_id, id) WHERE dataset_id IS NOT NULL;

-- Where a failed generation came from: the pipeline, an import, or a quarantine scan of a stored conversation
-- (then conversation_id is the original row id and quarantined_row the whole row as it was, to release it back).
ALTER TABLE failed_generations
    ADD COLUMN source text NOT NULL DEFAULT 'generation' CHECK (source IN ('generation', 'import', 'scan')),
    ADD COLUMN dataset_id uuid REFERENCES datasets (id),
    ADD COLUMN scan_id uuid,
    ADD COLUMN quarantined_row jsonb,
    ADD COLUMN released_at timestamptz,
    ADD COLUMN released_by uuid REFERENCES app_users (id),
    ADD COLUMN release_reason text,
    ADD CONSTRAINT failed_generations_release_complete
        CHECK ((released_at IS NULL) = (released_by IS NULL) AND (released_at IS NULL) = (release_reason IS NULL));

CREATE INDEX ix_failed_generations_conversation ON failed_generations (conversation_id) WHERE conversation_id IS NOT NULL;

-- A quarantine scan: its scope, its checkpoint (the last conversation id it finished, in id order) and its counts.
CREATE TABLE scans (
    id                uuid        PRIMARY KEY,
    scope             text        NOT NULL CHECK (scope IN ('dataset', 'run', 'all')),
    dataset_id        uuid        REFERENCES datasets (id) ON DELETE CASCADE,
    run_id            uuid,
    dry_run           boolean     NOT NULL,
    status            text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
    validator_version text        NOT NULL,
    total             bigint      NOT NULL,
    scanned           bigint      NOT NULL DEFAULT 0,
    flagged           bigint      NOT NULL DEFAULT 0,
    quarantined       bigint      NOT NULL DEFAULT 0,
    kept_released     bigint      NOT NULL DEFAULT 0,
    checkpoint        uuid,
    last_error        text,
    created_by        uuid        NOT NULL REFERENCES app_users (id) ON DELETE CASCADE,
    started_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz
);

CREATE INDEX ix_scans_owner_started ON scans (created_by, started_at DESC);

-- What a scan found: one row per flagged conversation (failure_id is null in a dry run or for a released row).
CREATE TABLE scan_findings (
    scan_id         uuid        NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    conversation_id uuid        NOT NULL,
    failure_id      uuid,
    failure_type    text        NOT NULL,
    pattern         text        NOT NULL,
    confidence      text        NOT NULL,
    details         text        NOT NULL,
    action          text        NOT NULL CHECK (action IN ('quarantined', 'would_quarantine', 'kept_released')),
    created_by      uuid        NOT NULL REFERENCES app_users (id) ON DELETE CASCADE,
    PRIMARY KEY (scan_id, conversation_id)
);

-- Row-level security: a member sees and changes their own rows, an admin all, brun_system everything.
ALTER TABLE datasets ENABLE ROW LEVEL SECURITY;
ALTER TABLE datasets FORCE ROW LEVEL SECURITY;
ALTER TABLE dataset_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE dataset_imports FORCE ROW LEVEL SECURITY;
ALTER TABLE dataset_import_errors ENABLE ROW LEVEL SECURITY;
ALTER TABLE dataset_import_errors FORCE ROW LEVEL SECURITY;
ALTER TABLE scans ENABLE ROW LEVEL SECURITY;
ALTER TABLE scans FORCE ROW LEVEL SECURITY;
ALTER TABLE scan_findings ENABLE ROW LEVEL SECURITY;
ALTER TABLE scan_findings FORCE ROW LEVEL SECURITY;

GRANT SELECT, INSERT, UPDATE ON datasets, dataset_imports, dataset_import_errors, scans, scan_findings TO brun_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON datasets, dataset_imports, dataset_import_errors, scans, scan_findings TO brun_system;

CREATE POLICY datasets_member ON datasets TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()))
    WITH CHECK (created_by = (SELECT brun_current_user_id()));
CREATE POLICY datasets_system ON datasets TO brun_system USING (true) WITH CHECK (true);
CREATE POLICY dataset_imports_member ON dataset_imports TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()))
    WITH CHECK (created_by = (SELECT brun_current_user_id()));
CREATE POLICY dataset_imports_system ON dataset_imports TO brun_system USING (true) WITH CHECK (true);
CREATE POLICY dataset_import_errors_member ON dataset_import_errors TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()))
    WITH CHECK (created_by = (SELECT brun_current_user_id()));
CREATE POLICY dataset_import_errors_system ON dataset_import_errors TO brun_system USING (true) WITH CHECK (true);
CREATE POLICY scans_member ON scans TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()))
    WITH CHECK (created_by = (SELECT brun_current_user_id()));
CREATE POLICY scans_system ON scans TO brun_system USING (true) WITH CHECK (true);
-- A finding belongs to the conversation's owner; an admin's scan records findings on other members' rows.
CREATE POLICY scan_findings_member ON scan_findings TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()))
    WITH CHECK (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY scan_findings_system ON scan_findings TO brun_system USING (true) WITH CHECK (true);

-- Quarantine moves a conversation into failed_generations, and release moves it back, as the signed-in user:
-- a member only their own rows, an admin any row (the rows keep their owner). Added policies are OR-ed with
-- the existing ones, which stay as they were.
GRANT DELETE ON conversations TO brun_app;
CREATE POLICY conversations_quarantine ON conversations FOR DELETE TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY conversations_release_admin ON conversations FOR INSERT TO brun_app
    WITH CHECK ((SELECT brun_is_admin()));
CREATE POLICY failed_generations_quarantine_admin ON failed_generations FOR INSERT TO brun_app
    WITH CHECK ((SELECT brun_is_admin()));
CREATE POLICY failed_generations_release_admin ON failed_generations FOR UPDATE TO brun_app
    USING ((SELECT brun_is_admin())) WITH CHECK ((SELECT brun_is_admin()));
