-- Alerts with auto-pause, and where a re-run came from.
-- A run may now be 'paused': the queue's claim only serves 'running' runs, so no new task starts until a person
-- resumes or cancels it. Rules are evaluated by triggers in the transaction that records a failure, so every
-- worker process (and any other writer) is covered and nothing is evaluated twice.

ALTER TABLE generation_runs DROP CONSTRAINT generation_runs_status_check;
ALTER TABLE generation_runs ADD CONSTRAINT generation_runs_status_check
    CHECK (status IN ('running', 'paused', 'completed', 'cancelled'));
ALTER TABLE generation_runs ADD COLUMN paused_reason text;
-- A re-run records its source run and what it was made from (filter or selection, changed parameters).
ALTER TABLE generation_runs ADD COLUMN source_run_id uuid REFERENCES generation_runs (id) ON DELETE SET NULL;
ALTER TABLE generation_runs ADD COLUMN rerun_of jsonb;
CREATE INDEX ix_generation_runs_source ON generation_runs (source_run_id) WHERE source_run_id IS NOT NULL;

-- One row per run, created with the run (the column defaults are the product's defaults); edited per run.
-- A NULL threshold turns that rule off.
CREATE TABLE run_alert_rules (
    run_id                   uuid PRIMARY KEY REFERENCES generation_runs (id) ON DELETE CASCADE,
    created_by               uuid NOT NULL REFERENCES app_users (id) ON DELETE CASCADE,
    min_tasks                integer NOT NULL DEFAULT 20 CHECK (min_tasks >= 1),
    failure_rate_above       numeric(5, 4) DEFAULT 0.5 CHECK (failure_rate_above BETWEEN 0 AND 1),
    pause_on_failure_rate    boolean NOT NULL DEFAULT true,
    api_error_share_above    numeric(5, 4) DEFAULT 0.3 CHECK (api_error_share_above BETWEEN 0 AND 1),
    pause_on_api_error_share boolean NOT NULL DEFAULT false,
    new_pattern              boolean NOT NULL DEFAULT true,
    pause_on_new_pattern     boolean NOT NULL DEFAULT false,
    -- NULL: the configured default webhook (Alerts:WebhookUrl), if any.
    webhook_url              text CHECK (webhook_url ~ '^https?://'),
    webhook_format           text NOT NULL DEFAULT 'generic' CHECK (webhook_format IN ('generic', 'slack')),
    updated_at               timestamptz NOT NULL DEFAULT now()
);

-- Each rule fires at most once per run (per pattern for new patterns): after a person resumes, the same condition
-- does not pause the run again. The row is the run's alert history, the banner's source and the webhook outbox.
CREATE TABLE run_alerts (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    run_id                  uuid NOT NULL REFERENCES generation_runs (id) ON DELETE CASCADE,
    created_by              uuid NOT NULL REFERENCES app_users (id) ON DELETE CASCADE,
    kind                    text NOT NULL CHECK (kind IN ('failure_rate', 'api_error_share', 'new_pattern')),
    pattern                 text,
    message                 text NOT NULL,
    paused_run              boolean NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    dismissed_at            timestamptz,
    webhook_status          text NOT NULL DEFAULT 'pending'
                            CHECK (webhook_status IN ('pending', 'delivered', 'failed', 'skipped')),
    webhook_attempts        integer NOT NULL DEFAULT 0,
    webhook_last_error      text,
    webhook_next_attempt_at timestamptz NOT NULL DEFAULT now(),
    webhook_delivered_at    timestamptz,
    CONSTRAINT ux_run_alerts_once UNIQUE NULLS NOT DISTINCT (run_id, kind, pattern)
);
CREATE INDEX ix_run_alerts_run ON run_alerts (run_id, created_at DESC);
CREATE INDEX ix_run_alerts_active ON run_alerts (created_by, created_at DESC) WHERE dismissed_at IS NULL;
CREATE INDEX ix_run_alerts_webhook_due ON run_alerts (webhook_next_attempt_at) WHERE webhook_status = 'pending';

-- "Never seen before" looks up the owner's earlier patterns in the rollup.
CREATE INDEX ix_failed_generation_counts_owner_pattern ON failed_generation_counts (created_by, truncation_pattern)
    WHERE truncation_pattern IS NOT NULL;

CREATE FUNCTION brun_run_alert_rules_create() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO run_alert_rules (run_id, created_by) VALUES (NEW.id, NEW.created_by) ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER tr_generation_runs_alert_rules AFTER INSERT ON generation_runs
    FOR EACH ROW EXECUTE FUNCTION brun_run_alert_rules_create();

-- Records an alert once; pauses the run when asked and it is running. Returns whether the alert is new.
-- The live event has the shape of RunEvent (kind run_alert), published with the writer's commit.
CREATE FUNCTION brun_run_alert_raise(p_run uuid, p_owner uuid, p_kind text, p_pattern text, p_message text, p_pause boolean)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    inserted boolean;
BEGIN
    INSERT INTO run_alerts (run_id, created_by, kind, pattern, message, paused_run)
    VALUES (p_run, p_owner, p_kind, p_pattern, p_message, p_pause)
    ON CONFLICT ON CONSTRAINT ux_run_alerts_once DO NOTHING;
    inserted := FOUND;
    IF inserted THEN
        PERFORM pg_notify('brun_events', json_build_object('kind', 'run_alert', 'run_id', p_run)::text);
    END IF;
    RETURN inserted;
END
$$;

-- Failure rate and api_error share, evaluated when a task of the run is counted as failed (only then can either
-- rise). BEFORE UPDATE, so a pause lands in the same row write as the counter.
CREATE FUNCTION brun_run_alerts_on_failure() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    rules run_alert_rules%ROWTYPE;
    done integer := NEW.succeeded + NEW.failed;
    api_errors bigint;
    pause boolean;
BEGIN
    SELECT * INTO rules FROM run_alert_rules WHERE run_id = NEW.id;
    IF NOT FOUND OR done < rules.min_tasks THEN
        RETURN NEW;
    END IF;

    IF rules.failure_rate_above IS NOT NULL AND NEW.failed::numeric / done > rules.failure_rate_above THEN
        pause := rules.pause_on_failure_rate AND NEW.status = 'running';
        IF brun_run_alert_raise(NEW.id, NEW.created_by, 'failure_rate', NULL,
               format('Failure rate %s%% (%s of %s tasks) is above %s%%', round(100.0 * NEW.failed / done, 1),
                      NEW.failed, done, round(100 * rules.failure_rate_above, 1)), pause) AND pause THEN
            NEW.status := 'paused';
            NEW.paused_reason := 'failure rate above ' || round(100 * rules.failure_rate_above, 1) || '%';
        END IF;
    END IF;

    IF rules.api_error_share_above IS NOT NULL THEN
        SELECT COALESCE(sum(n), 0) INTO api_errors
        FROM failed_generation_counts WHERE run_id = NEW.id AND failure_type = 'api_error';
        IF api_errors::numeric / done > rules.api_error_share_above THEN
            pause := rules.pause_on_api_error_share AND NEW.status = 'running';
            IF brun_run_alert_raise(NEW.id, NEW.created_by, 'api_error_share', NULL,
                   format('api_error share %s%% (%s of %s tasks) is above %s%%', round(100.0 * api_errors / done, 1),
                          api_errors, done, round(100 * rules.api_error_share_above, 1)), pause) AND pause THEN
                NEW.status := 'paused';
                NEW.paused_reason := 'api_error share above ' || round(100 * rules.api_error_share_above, 1) || '%';
            END IF;
        END IF;
    END IF;

    RETURN NEW;
END
$$;

CREATE TRIGGER tr_generation_runs_alerts BEFORE UPDATE OF failed ON generation_runs
    FOR EACH ROW WHEN (NEW.failed > OLD.failed) EXECUTE FUNCTION brun_run_alerts_on_failure();

-- A truncation pattern the owner has never had in another run. Named to run after the rollup trigger.
CREATE FUNCTION brun_run_alerts_new_pattern() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT DISTINCT f.run_id, f.created_by, f.truncation_pattern, r.pause_on_new_pattern
        FROM brun_fg_new_rows f
        JOIN run_alert_rules r ON r.run_id = f.run_id AND r.new_pattern
        WHERE f.truncation_pattern IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM failed_generation_counts k
                          WHERE k.created_by = f.created_by AND k.truncation_pattern = f.truncation_pattern
                            AND k.run_id IS DISTINCT FROM f.run_id AND k.n > 0)
        ORDER BY 1, 3
    LOOP
        IF brun_run_alert_raise(c.run_id, c.created_by, 'new_pattern', c.truncation_pattern,
               format('Truncation pattern %s seen for the first time', c.truncation_pattern), c.pause_on_new_pattern)
           AND c.pause_on_new_pattern THEN
            UPDATE generation_runs SET status = 'paused', paused_reason = 'new truncation pattern ' || c.truncation_pattern
            WHERE id = c.run_id AND status = 'running';
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER tr_failed_generations_new_pattern_alerts AFTER INSERT ON failed_generations
    REFERENCING NEW TABLE AS brun_fg_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brun_run_alerts_new_pattern();

INSERT INTO run_alert_rules (run_id, created_by) SELECT id, created_by FROM generation_runs;

ALTER TABLE run_alert_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE run_alert_rules FORCE ROW LEVEL SECURITY;
ALTER TABLE run_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE run_alerts FORCE ROW LEVEL SECURITY;

GRANT SELECT, INSERT, UPDATE ON run_alert_rules, run_alerts TO brun_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON run_alert_rules, run_alerts TO brun_system;

-- Members see and edit the rules and alerts of their own runs (the triggers also write them while a member's
-- statement runs); admins see and write all (an admin's quarantine may raise another member's alert). Workers act
-- as brun_system.
CREATE POLICY run_alert_rules_read ON run_alert_rules FOR SELECT TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY run_alert_rules_insert ON run_alert_rules FOR INSERT TO brun_app
    WITH CHECK (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY run_alert_rules_update_own ON run_alert_rules FOR UPDATE TO brun_app
    USING (created_by = brun_current_user_id() OR brun_is_admin());
CREATE POLICY run_alert_rules_system ON run_alert_rules TO brun_system USING (true) WITH CHECK (true);

CREATE POLICY run_alerts_read ON run_alerts FOR SELECT TO brun_app
    USING (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY run_alerts_insert ON run_alerts FOR INSERT TO brun_app
    WITH CHECK (created_by = (SELECT brun_current_user_id()) OR (SELECT brun_is_admin()));
CREATE POLICY run_alerts_update_own ON run_alerts FOR UPDATE TO brun_app
    USING (created_by = brun_current_user_id() OR brun_is_admin());
CREATE POLICY run_alerts_system ON run_alerts TO brun_system USING (true) WITH CHECK (true);
