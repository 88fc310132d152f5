-- Raw bodies and conversation turns (a few KB each) are compressed as they are stored. pglz, the default, was the
-- largest single cost of ingesting a batch results file (about a quarter of a millisecond per 5 KB body, three to
-- four times lz4's). lz4 applies to values written from now on; older rows stay readable as they are.
-- A server built without lz4 keeps pglz: the change is an optimisation, never a reason for the migration to fail.
DO $$
DECLARE
    target text;
BEGIN
    FOREACH target IN ARRAY ARRAY[
        'generation_calls.raw_body',
        'conversations.turns',
        'failed_generations.raw_body',
        'failed_generations.raw_response',
        'failed_generations.response_content']
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET COMPRESSION lz4', split_part(target, '.', 1), split_part(target, '.', 2));
    END LOOP;
EXCEPTION
    WHEN feature_not_supported OR invalid_parameter_value OR syntax_error THEN
        RAISE NOTICE 'lz4 compression is not available on this server (%); bodies stay pglz-compressed', SQLERRM;
END
$$;
