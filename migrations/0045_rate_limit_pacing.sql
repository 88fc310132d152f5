-- Rate-limit pacing shared by every worker of an organisation (issue 8, part B). One row per organisation and
-- model ("scope"): the Messages API limits requests, input tokens and output tokens per minute per model, for the
-- whole organisation, so every worker process on every machine takes from the same row before it calls Claude.
--
-- Each limit is a token bucket kept as one instant, the time it will be full again (*_full_at; the generic cell rate
-- algorithm, as BRun.Diagnostics.Core.RateLimits.TokenBucket): taking c tokens moves it c * window / limit later,
-- and a take fits while the result is at most one window ahead of now. Times come from the database clock.
--
-- UNLOGGED: this is soft state, rebuilt from configuration and the API's headers. Each take and settle is one short
-- statement on one row with no WAL to flush, so the row lock is held for microseconds; fillfactor 50 keeps the
-- updates HOT. A crash empties the table and pacing starts again from a probe call (see brun_rate_limit_take).
CREATE UNLOGGED TABLE rate_limit_state (
    scope                         text             PRIMARY KEY,
    model                         text             NOT NULL,
    window_seconds                double precision NOT NULL DEFAULT 60 CHECK (window_seconds > 0),
    -- Limits paced against, per window (the API's limit less the safety margin, or the configured override).
    -- NULL: not known yet, so not enforced; while all three are NULL only one probe call at a time is let through.
    requests_limit                double precision CHECK (requests_limit > 0),
    input_tokens_limit            double precision CHECK (input_tokens_limit > 0),
    output_tokens_limit           double precision CHECK (output_tokens_limit > 0),
    -- The limits the API last announced in its anthropic-ratelimit-*-limit headers (for display).
    announced_requests_limit      integer,
    announced_input_tokens_limit  integer,
    announced_output_tokens_limit integer,
    requests_full_at              timestamptz      NOT NULL DEFAULT now(),
    input_full_at                 timestamptz      NOT NULL DEFAULT now(),
    output_full_at                timestamptz      NOT NULL DEFAULT now(),
    -- The organisation-wide "not before" after a 429: no worker dispatches until then.
    blocked_until                 timestamptz,
    blocked_reason                text,
    -- When the last refused dispatch expected to fit: a run with work left is "waiting on a rate limit" until then.
    waiting_until                 timestamptz,
    probe_until                   timestamptz,
    -- An answer has arrived: from then on, limits the API never announced are simply not enforced.
    answered                      boolean          NOT NULL DEFAULT false,
    -- Moving average of the output tokens of finished calls (an estimate for the next ones).
    output_tokens_avg             double precision,
    granted                       bigint           NOT NULL DEFAULT 0,
    refused                       bigint           NOT NULL DEFAULT 0,
    rate_limited                  bigint           NOT NULL DEFAULT 0,
    updated_at                    timestamptz      NOT NULL DEFAULT now()
) WITH (fillfactor = 50);

CREATE INDEX ix_rate_limit_state_model ON rate_limit_state (model);

ALTER TABLE rate_limit_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE rate_limit_state FORCE ROW LEVEL SECURITY;

-- Organisation-wide, not per-user data (limits and timestamps only): members read it to see that a run is waiting,
-- only workers write it.
GRANT SELECT ON rate_limit_state TO brun_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON rate_limit_state TO brun_system;
CREATE POLICY rate_limit_state_read ON rate_limit_state FOR SELECT TO brun_app USING (true);
CREATE POLICY rate_limit_state_system ON rate_limit_state TO brun_system USING (true) WITH CHECK (true);

-- The next full_at of one bucket after taking p_cost, or NULL when the bucket is not enforced. A cost above the
-- limit counts as the whole limit, so it waits for a full bucket instead of forever.
CREATE FUNCTION brun_rate_limit_next(p_full_at timestamptz, p_now timestamptz, p_cost double precision,
                                     p_limit double precision, p_window double precision)
RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_limit IS NULL THEN NULL
                ELSE greatest(p_full_at, p_now)
                     + make_interval(secs => least(greatest(p_cost, 0), p_limit) * p_window / p_limit) END
$$;

-- Take one request, p_input input tokens and p_output output tokens if every enforced bucket has them and the
-- organisation is not blocked; otherwise take nothing and say when they would fit (ready_at).
CREATE FUNCTION brun_rate_limit_take(p_scope text, p_input double precision, p_output double precision)
RETURNS TABLE (granted boolean, db_now timestamptz, ready_at timestamptz, blocked_until timestamptz, probe boolean)
LANGUAGE plpgsql AS $$
DECLARE
    s rate_limit_state%ROWTYPE;
    t timestamptz;
    w interval;
    rq timestamptz;
    iq timestamptz;
    oq timestamptz;
    ready timestamptz;
    unknown boolean;
BEGIN
    SELECT * INTO s FROM rate_limit_state r WHERE r.scope = p_scope FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'rate_limit_state has no row for scope %', p_scope;
    END IF;

    -- Read the clock after the lock, so a take never computes with an instant earlier than the previous one's.
    t := clock_timestamp();
    w := make_interval(secs => s.window_seconds);
    rq := brun_rate_limit_next(s.requests_full_at, t, 1, s.requests_limit, s.window_seconds);
    iq := brun_rate_limit_next(s.input_full_at, t, p_input, s.input_tokens_limit, s.window_seconds);
    oq := brun_rate_limit_next(s.output_full_at, t, p_output, s.output_tokens_limit, s.window_seconds);
    unknown := NOT s.answered AND s.requests_limit IS NULL AND s.input_tokens_limit IS NULL AND s.output_tokens_limit IS NULL;
    ready := greatest(t, s.blocked_until, rq - w, iq - w, oq - w, CASE WHEN unknown THEN s.probe_until END);

    IF ready <= t THEN
        UPDATE rate_limit_state r
        SET requests_full_at = coalesce(rq, r.requests_full_at),
            input_full_at = coalesce(iq, r.input_full_at),
            output_full_at = coalesce(oq, r.output_full_at),
            probe_until = CASE WHEN unknown THEN t + interval '60 seconds' ELSE NULL END,
            granted = r.granted + 1,
            updated_at = t
        WHERE r.scope = p_scope;
    ELSE
        UPDATE rate_limit_state r
        SET waiting_until = greatest(r.waiting_until, ready), refused = r.refused + 1, updated_at = t
        WHERE r.scope = p_scope;
    END IF;

    RETURN QUERY SELECT ready <= t, t, ready, s.blocked_until, unknown;
END
$$;

-- After the answer: correct the estimates (negative deltas give tokens back), charge the extra HTTP attempts,
-- move each bucket at least as far as the API's own reset says (beyond a tolerance for the reset's rounding), block
-- the organisation after a 429, and fold the real output into the moving average.
CREATE FUNCTION brun_rate_limit_settle(
    p_scope text,
    p_extra_requests double precision,
    p_input_delta double precision,
    p_output_delta double precision,
    p_output_tokens double precision,
    p_answered boolean,
    p_server_requests_full_in double precision,
    p_server_input_full_in double precision,
    p_server_output_full_in double precision,
    p_tolerance_seconds double precision,
    p_block_seconds double precision,
    p_block_reason text)
RETURNS timestamptz
LANGUAGE plpgsql AS $$
DECLARE
    s rate_limit_state%ROWTYPE;
    t timestamptz;
    tolerance interval;
BEGIN
    SELECT * INTO s FROM rate_limit_state r WHERE r.scope = p_scope FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    t := clock_timestamp();
    tolerance := make_interval(secs => p_tolerance_seconds);
    UPDATE rate_limit_state r
    SET requests_full_at = brun_rate_limit_sync(
            brun_rate_limit_adjust(r.requests_full_at, t, p_extra_requests, r.requests_limit, r.window_seconds),
            t, p_server_requests_full_in, r.announced_requests_limit / r.requests_limit, tolerance),
        input_full_at = brun_rate_limit_sync(
            brun_rate_limit_adjust(r.input_full_at, t, p_input_delta, r.input_tokens_limit, r.window_seconds),
            t, p_server_input_full_in, r.announced_input_tokens_limit / r.input_tokens_limit, tolerance),
        output_full_at = brun_rate_limit_sync(
            brun_rate_limit_adjust(r.output_full_at, t, p_output_delta, r.output_tokens_limit, r.window_seconds),
            t, p_server_output_full_in, r.announced_output_tokens_limit / r.output_tokens_limit, tolerance),
        blocked_until = CASE WHEN p_block_seconds IS NULL THEN r.blocked_until
                             ELSE greatest(r.blocked_until, t + make_interval(secs => p_block_seconds)) END,
        blocked_reason = coalesce(p_block_reason, r.blocked_reason),
        answered = r.answered OR p_answered,
        probe_until = NULL,
        rate_limited = r.rate_limited + CASE WHEN p_block_seconds IS NULL THEN 0 ELSE 1 END,
        output_tokens_avg = CASE WHEN p_output_tokens IS NULL THEN r.output_tokens_avg
                                 WHEN r.output_tokens_avg IS NULL THEN p_output_tokens
                                 ELSE r.output_tokens_avg + 0.1 * (p_output_tokens - r.output_tokens_avg) END,
        updated_at = t
    WHERE r.scope = p_scope;
    RETURN t;
END
$$;

-- full_at moved by p_tokens: forward from now for a charge, back for a refund (a bucket past full is just full).
CREATE FUNCTION brun_rate_limit_adjust(p_full_at timestamptz, p_now timestamptz, p_tokens double precision,
                                       p_limit double precision, p_window double precision)
RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_limit IS NULL OR p_tokens IS NULL OR p_tokens = 0 THEN p_full_at
                WHEN p_tokens > 0 THEN greatest(p_full_at, p_now) + make_interval(secs => p_tokens * p_window / p_limit)
                ELSE p_full_at - make_interval(secs => -p_tokens * p_window / p_limit) END
$$;

-- full_at moved to where the API's own count puts it, when that is later by more than the tolerance (the reset
-- header is rounded to the second): another client of the organisation, or state lost in a crash, shows up here.
-- p_full_in is how long until the API's bucket is full, as of now; p_ratio (announced limit / paced limit, 1 when
-- unknown) stretches it to this bucket's slower refill.
CREATE FUNCTION brun_rate_limit_sync(p_full_at timestamptz, p_now timestamptz, p_full_in double precision,
                                     p_ratio double precision, p_tolerance interval)
RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_full_in IS NULL OR p_full_in <= 0 THEN p_full_at
                WHEN p_now + make_interval(secs => p_full_in * greatest(coalesce(p_ratio, 1), 1)) > p_full_at + p_tolerance
                    THEN p_now + make_interval(secs => p_full_in * greatest(coalesce(p_ratio, 1), 1))
                ELSE p_full_at END
$$;
