-- Accounts (docs/operations.md "Accounts"): a password change signs out the user's other sessions. Every dashboard
-- cookie carries the stamp it was issued with and is checked against this column on every request (the same
-- primary-key lookup that already refuses a disabled user's cookie); changing the password (the account page or
-- brun user set-password) draws a new stamp, so every older cookie stops working. The session that changed the
-- password is issued a cookie with the new stamp. Cookies issued before this migration carry no stamp: their
-- owners sign in once more.

ALTER TABLE app_users ADD COLUMN session_stamp uuid NOT NULL DEFAULT gen_random_uuid();
