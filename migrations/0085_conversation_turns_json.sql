-- conversations.turns becomes json (the text as written) instead of jsonb. Every reader of turns wants the text
-- (the quarantine scan, the training export, the validator), and printing a 20 KB jsonb value as text cost the server
-- about 200 µs per row, the largest single cost of a scan; a json value is read back by detoasting and copying.
-- Nothing queries inside turns, compares it or indexes it, which is what jsonb would be for. Writers now cast to
-- json, so the stored text is what the application wrote; rows written before this migration keep jsonb's printed
-- form.
--
-- Changing the type rewrites the table and resets the column's compression to the default, so lz4 (0051) is set in
-- the same statement, which makes the rewrite itself store lz4. A server built without lz4 changes the type alone.
DO $$
BEGIN
    ALTER TABLE conversations
        ALTER COLUMN turns TYPE json USING turns::json,
        ALTER COLUMN turns SET COMPRESSION lz4;
EXCEPTION
    WHEN feature_not_supported OR invalid_parameter_value OR syntax_error THEN
        RAISE NOTICE 'lz4 compression is not available on this server (%); turns stay pglz-compressed', SQLERRM;
        ALTER TABLE conversations ALTER COLUMN turns TYPE json USING turns::json;
END
$$;
