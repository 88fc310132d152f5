-- Results lines of a Message Batch that could not be read (not JSON, or without custom_id and result.type). Until now
-- such a line was logged by number and skipped: its task went into the next batch (billed again) and what the API had
-- sent was gone. The line is kept as it came, so it can be read and reported; the task is still sent again.
CREATE TABLE message_batch_unreadable_lines (
    batch_id   uuid        NOT NULL REFERENCES message_batches (id) ON DELETE CASCADE,
    line       bigint      NOT NULL,   -- 1-based line number in the results file
    reason     text        NOT NULL,   -- why it could not be read
    text       text        NOT NULL,   -- the line as received, NULs as U+FFFD (see text_nuls)
    text_nuls  integer[],              -- where the line held NULs (UTF-16 indexes), as in generation_calls.raw_body_nuls
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, line)
);

ALTER TABLE message_batches ADD COLUMN results_lines_unreadable integer NOT NULL DEFAULT 0;

-- Downloads of the results that ended before one line per request (a transfer cut short): the ingestion is tried
-- again from its checkpoint, up to Batch:MaxShortResultsReads downloads, before the missing requests are sent again.
ALTER TABLE message_batches ADD COLUMN results_short_reads integer NOT NULL DEFAULT 0;

ALTER TABLE message_batch_unreadable_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_batch_unreadable_lines FORCE ROW LEVEL SECURITY;

-- As message_batches: members read the lines of the batches of runs they can see; workers write them.
GRANT SELECT ON message_batch_unreadable_lines TO brun_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON message_batch_unreadable_lines TO brun_system;

CREATE POLICY message_batch_unreadable_lines_via_batch ON message_batch_unreadable_lines FOR SELECT TO brun_app
    USING (EXISTS (SELECT 1 FROM message_batches b WHERE b.id = batch_id));
CREATE POLICY message_batch_unreadable_lines_system ON message_batch_unreadable_lines TO brun_system USING (true) WITH CHECK (true);
