-- A failure's attempt history (every Claude call of its task: status, request id, disposition, cost), kept on the
-- row so its report can be rebuilt byte for byte by the upload retrier.
ALTER TABLE failed_generations ADD COLUMN api_attempts jsonb NOT NULL DEFAULT '[]'::jsonb;
