-- Sign-in throttling, shared by every web instance: failures per key (an account's email or a client address)
-- within a window, and a lockout. Only the system role touches it; times come from the database clock.
CREATE TABLE login_attempts (
    key               text        PRIMARY KEY,
    failures          integer     NOT NULL,
    window_started_at timestamptz NOT NULL,
    locked_until      timestamptz
);

ALTER TABLE login_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE login_attempts FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON login_attempts TO brun_system;
CREATE POLICY login_attempts_system ON login_attempts TO brun_system USING (true) WITH CHECK (true);
