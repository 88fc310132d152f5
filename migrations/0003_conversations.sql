-- Production conversations: only responses that passed validation land here.

CREATE TABLE conversations (
    id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    run_id            uuid,
    task_id           uuid        UNIQUE,
    model             text        NOT NULL,
    stop_reason       text,
    input_tokens      integer,
    output_tokens     integer,
    turns             jsonb       NOT NULL,
    metadata          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    persona_id        uuid,
    emotional_arc_id  uuid,
    training_topic_id uuid,
    template_id       uuid,
    created_by        uuid        NOT NULL REFERENCES app_users (id) ON DELETE CASCADE,
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX ix_conversations_owner_created ON conversations (created_by, created_at DESC);
CREATE INDEX ix_conversations_run_id ON conversations (run_id) WHERE run_id IS NOT NULL;

ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE conversations FORCE ROW LEVEL SECURITY;

GRANT SELECT, INSERT, UPDATE ON conversations TO brun_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON conversations TO brun_system;

CREATE POLICY conversations_read ON conversations FOR SELECT TO brun_app
    USING (created_by = brun_current_user_id() OR brun_is_admin());
CREATE POLICY conversations_insert_own ON conversations FOR INSERT TO brun_app
    WITH CHECK (created_by = brun_current_user_id());
CREATE POLICY conversations_update_own ON conversations FOR UPDATE TO brun_app
    USING (created_by = brun_current_user_id())
    WITH CHECK (created_by = brun_current_user_id());
CREATE POLICY conversations_system ON conversations TO brun_system
    USING (true) WITH CHECK (true);
