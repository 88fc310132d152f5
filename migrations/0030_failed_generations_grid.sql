-- The failed-generations dashboard on a million rows: paging, counts per filter chip, text search, charts.

-- Text search over truncation_details / error_message: ILIKE '%term%' can use a trigram GIN index
-- (pg_trgm is a trusted extension since PostgreSQL 13, so the database owner may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX ix_failed_generations_details_trgm ON failed_generations
    USING gin (truncation_details gin_trgm_ops) WHERE truncation_details IS NOT NULL;
CREATE INDEX ix_failed_generations_error_trgm ON failed_generations
    USING gin (error_message gin_trgm_ops) WHERE error_message IS NOT NULL;

-- The grid's default order (newest first, id as tie-breaker) with the filter and chip columns included:
-- page 1 reads 25 index entries, and the chip counts and totals are index-only scans of one narrow index
-- instead of reads of wide rows (raw bodies live in the heap/TOAST).
CREATE INDEX ix_failed_generations_grid ON failed_generations (created_at DESC, id DESC)
    INCLUDE (created_by, failure_type, stop_reason, truncation_pattern, model, run_id, output_tokens);

-- Sort by output tokens (the cluster near 1,000 tokens).
CREATE INDEX ix_failed_generations_output_tokens ON failed_generations (output_tokens DESC NULLS LAST, id DESC);

-- The same policies, with the session functions wrapped in scalar subqueries: PostgreSQL then evaluates each
-- once per query (an InitPlan) instead of once per row. brun_is_admin() is SECURITY DEFINER and cannot be
-- inlined, so unwrapped it ran a lookup in app_users for every row an admin scanned (or a member's foreign row).
-- Who sees what is unchanged.
DROP POLICY failed_generations_read ON failed_generations;
CREATE POLICY failed_generations_read ON failed_generations FOR SELECT TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));

DROP POLICY conversations_read ON conversations;
CREATE POLICY conversations_read ON conversations FOR SELECT TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));

-- The successes side of the output-token histogram.
CREATE INDEX ix_conversations_created_at ON conversations (created_at DESC) INCLUDE (created_by, output_tokens, model, run_id);
