-- Personal API tokens for the HTTP endpoints (Authorization: Bearer <token>). Only a SHA-256 hash of the token
-- is stored; the token itself is shown once, when it is created.

CREATE TABLE api_tokens (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid        NOT NULL REFERENCES app_users (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    -- Lower-case hex SHA-256 of the whole token string.
    token_hash   text        NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked      boolean     NOT NULL DEFAULT false,
    revoked_at   timestamptz
);

CREATE INDEX ix_api_tokens_user_id ON api_tokens (user_id);

ALTER TABLE api_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_tokens FORCE ROW LEVEL SECURITY;

-- Tokens are looked up before anyone is signed in, so validation and creation run as brun_system.
-- A signed-in user may list and revoke their own tokens; the hash is of no use without the token.
GRANT SELECT, UPDATE ON api_tokens TO brun_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON api_tokens TO brun_system;

CREATE POLICY api_tokens_own ON api_tokens FOR SELECT TO brun_app
    USING (user_id = brun_current_user_id());
CREATE POLICY api_tokens_revoke_own ON api_tokens FOR UPDATE TO brun_app
    USING (user_id = brun_current_user_id())
    WITH CHECK (user_id = brun_current_user_id());
CREATE POLICY api_tokens_system ON api_tokens TO brun_system
    USING (true) WITH CHECK (true);
