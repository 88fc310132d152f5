-- The read policies call brun_current_user_id() and brun_is_admin(). Functions are PARALLEL UNSAFE unless declared
-- otherwise, and one unsafe function anywhere in a query keeps the whole query in a single process: every scan the
-- dashboard cannot answer from an index or the rollup (a broad text search, an export, an hourly chart) ran on one
-- core. A broad search's count at a million rows: 0.76 s serial, 0.38 s with two workers (docs/dashboard.md).
--
-- Both are safe in a parallel worker: they read a setting (app.user_id, which workers inherit from the leader with
-- the rest of the session's settings) and app_users, and write nothing.

ALTER FUNCTION brun_current_user_id() PARALLEL SAFE;
ALTER FUNCTION brun_is_admin() PARALLEL SAFE;
