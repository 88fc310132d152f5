-- Users of the dashboard and owners of every stored row (replaces the plan's auth.users),
-- and the database roles the application switches to after it connects.

CREATE TABLE app_users (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Stored lower-cased so the unique constraint is case-insensitive without the citext extension.
    email         text        NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
    display_name  text        NOT NULL,
    -- Filled by the dashboard's sign-in issue; NULL means the user cannot sign in with a password.
    password_hash text,
    role          text        NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Roles are cluster-wide while migrations run per database, so creation must tolerate an existing role
-- (and a concurrent creator in another database: duplicate_object).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'brun_app') THEN
        CREATE ROLE brun_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
    END IF;
EXCEPTION WHEN duplicate_object THEN NULL;
END
$$;

-- Maintenance jobs (report upload retries) act as brun_system. It gets explicit "see everything"
-- policies instead of BYPASSRLS, so creating it does not need a superuser and RLS stays on.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'brun_system') THEN
        CREATE ROLE brun_system NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
    END IF;
EXCEPTION WHEN duplicate_object THEN NULL;
END
$$;

GRANT USAGE ON SCHEMA public TO brun_app, brun_system;
GRANT SELECT ON app_users TO brun_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON app_users TO brun_system;

-- The user a session acts for, as set by the application with set_config('app.user_id', ..., false).
-- After DISCARD ALL the setting reads as '' rather than NULL, hence NULLIF.
CREATE FUNCTION brun_current_user_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::uuid $$;

-- Admin is decided here from app_users.role, never taken from the client. SECURITY DEFINER so the
-- check works whatever the caller may read; search_path is pinned because of that.
CREATE FUNCTION brun_is_admin() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
    AS $$ SELECT EXISTS (SELECT 1 FROM public.app_users WHERE id = public.brun_current_user_id() AND role = 'admin') $$;
