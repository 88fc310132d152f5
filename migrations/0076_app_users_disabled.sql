-- Accounts (docs/operations.md "Accounts"): an admin may disable a user. A disabled user cannot sign in (password or
-- OpenID Connect), their API tokens and existing cookies stop working (checked on every request), and the database no
-- longer treats them as an admin. Their rows stay theirs.

ALTER TABLE app_users
    ADD COLUMN disabled_at timestamptz,
    ADD COLUMN disabled_by uuid REFERENCES app_users (id) ON DELETE SET NULL;

-- Admin rights end with the account: a disabled admin's session, if one is still open, gets no admin policy.
CREATE OR REPLACE FUNCTION brun_is_admin() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
    AS $$ SELECT EXISTS (SELECT 1 FROM public.app_users
                         WHERE id = public.brun_current_user_id() AND role = 'admin' AND disabled_at IS NULL) $$;
