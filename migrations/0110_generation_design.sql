-- Generation design: prompt templates and scaffolding (personas, emotional arcs, training topics) that members own,
-- admins share, and anyone may archive; immutable template versions; and per-run snapshots of exactly what a run used.
--
-- Ownership rule: owner_id NULL marks a built-in item (the seed rows of 0011). Built-in and shared items are visible
-- to everyone; only admins change them. A member sees and edits their own private items; an admin sees all.

ALTER TABLE personas ADD COLUMN owner_id uuid REFERENCES app_users (id);
ALTER TABLE personas ADD COLUMN shared boolean NOT NULL DEFAULT false;
ALTER TABLE personas ADD COLUMN archived_at timestamptz;
ALTER TABLE personas ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE personas ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

ALTER TABLE emotional_arcs ADD COLUMN owner_id uuid REFERENCES app_users (id);
ALTER TABLE emotional_arcs ADD COLUMN shared boolean NOT NULL DEFAULT false;
ALTER TABLE emotional_arcs ADD COLUMN archived_at timestamptz;
ALTER TABLE emotional_arcs ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE emotional_arcs ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

ALTER TABLE training_topics ADD COLUMN owner_id uuid REFERENCES app_users (id);
ALTER TABLE training_topics ADD COLUMN shared boolean NOT NULL DEFAULT false;
ALTER TABLE training_topics ADD COLUMN archived_at timestamptz;
ALTER TABLE training_topics ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE training_topics ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

ALTER TABLE prompt_templates ADD COLUMN owner_id uuid REFERENCES app_users (id);
ALTER TABLE prompt_templates ADD COLUMN shared boolean NOT NULL DEFAULT false;
ALTER TABLE prompt_templates ADD COLUMN archived_at timestamptz;
ALTER TABLE prompt_templates ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE prompt_templates ADD COLUMN current_version integer NOT NULL DEFAULT 0;

-- Names were global; now two members may each have a persona called "saver". A name is unique per owner, and among
-- the items everyone sees (built-in or shared), so a name a member types resolves to at most one item of each rank.
ALTER TABLE personas DROP CONSTRAINT personas_key_key;
ALTER TABLE emotional_arcs DROP CONSTRAINT emotional_arcs_key_key;
ALTER TABLE training_topics DROP CONSTRAINT training_topics_key_key;
ALTER TABLE prompt_templates DROP CONSTRAINT prompt_templates_name_key;
CREATE UNIQUE INDEX ux_personas_owner_key ON personas (owner_id, key) WHERE owner_id IS NOT NULL;
CREATE UNIQUE INDEX ux_personas_public_key ON personas (key) WHERE owner_id IS NULL OR shared;
CREATE UNIQUE INDEX ux_emotional_arcs_owner_key ON emotional_arcs (owner_id, key) WHERE owner_id IS NOT NULL;
CREATE UNIQUE INDEX ux_emotional_arcs_public_key ON emotional_arcs (key) WHERE owner_id IS NULL OR shared;
CREATE UNIQUE INDEX ux_training_topics_owner_key ON training_topics (owner_id, key) WHERE owner_id IS NOT NULL;
CREATE UNIQUE INDEX ux_training_topics_public_key ON training_topics (key) WHERE owner_id IS NULL OR shared;
CREATE UNIQUE INDEX ux_prompt_templates_owner_name ON prompt_templates (owner_id, name) WHERE owner_id IS NOT NULL;
CREATE UNIQUE INDEX ux_prompt_templates_public_name ON prompt_templates (name) WHERE owner_id IS NULL OR shared;

-- Every save of a template body is a new immutable version. Versions are written only by the trigger below, so no
-- code path (the API, the CLI, a hand-written INSERT) can change a body without leaving the old one behind.
CREATE TABLE prompt_template_versions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    template_id uuid NOT NULL REFERENCES prompt_templates (id),
    version     integer NOT NULL CHECK (version > 0),
    body        text NOT NULL,
    created_by  uuid REFERENCES app_users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (template_id, version)
);

CREATE FUNCTION brun_template_version_number() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.body IS DISTINCT FROM OLD.body THEN
        NEW.current_version := COALESCE(OLD.current_version, 0) + 1;
    ELSE
        NEW.current_version := OLD.current_version;
    END IF;
    RETURN NEW;
END
$$;

-- SECURITY DEFINER: members may not insert versions themselves (no grant), only through a body change.
CREATE FUNCTION brun_template_version_record() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
    AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.current_version <> OLD.current_version THEN
        INSERT INTO public.prompt_template_versions (template_id, version, body, created_by)
        VALUES (NEW.id, NEW.current_version, NEW.body, public.brun_current_user_id());
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION brun_template_version_immutable() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'prompt_template_versions rows are immutable';
END
$$;

-- Existing templates become version 1 before the triggers exist, so the backfill is not counted twice.
UPDATE prompt_templates SET current_version = 1;
INSERT INTO prompt_template_versions (template_id, version, body, created_at)
SELECT id, 1, body, created_at FROM prompt_templates;

CREATE TRIGGER prompt_templates_version_number BEFORE INSERT OR UPDATE ON prompt_templates
    FOR EACH ROW EXECUTE FUNCTION brun_template_version_number();
CREATE TRIGGER prompt_templates_version_record AFTER INSERT OR UPDATE ON prompt_templates
    FOR EACH ROW EXECUTE FUNCTION brun_template_version_record();
CREATE TRIGGER prompt_template_versions_immutable BEFORE UPDATE OR DELETE ON prompt_template_versions
    FOR EACH ROW EXECUTE FUNCTION brun_template_version_immutable();

-- What a run used, frozen when it was created: the exact template version, and the persona, arc and topic texts
-- (editing or archiving an item later changes nothing here). Tasks keep their combination as ids into this snapshot.
ALTER TABLE generation_runs ADD COLUMN template_version_id uuid REFERENCES prompt_template_versions (id);
ALTER TABLE generation_runs ADD COLUMN matrix jsonb;
ALTER TABLE generation_tasks ADD COLUMN template_version_id uuid REFERENCES prompt_template_versions (id);

UPDATE generation_runs r SET template_version_id = v.id
FROM prompt_template_versions v WHERE v.template_id = r.template_id AND v.version = 1;
UPDATE generation_tasks t SET template_version_id = v.id
FROM prompt_template_versions v WHERE v.template_id = t.template_id AND v.version = 1;

CREATE TABLE run_scaffolding (
    run_id      uuid NOT NULL REFERENCES generation_runs (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('persona', 'emotional_arc', 'training_topic')),
    item_id     uuid NOT NULL,
    key         text NOT NULL,
    name        text NOT NULL,
    description text NOT NULL,
    weight      numeric(12, 4) NOT NULL DEFAULT 1 CHECK (weight >= 0),
    PRIMARY KEY (run_id, kind, item_id)
);

-- Runs created before this migration: snapshot the items their tasks used, as they are now (the best we know).
INSERT INTO run_scaffolding (run_id, kind, item_id, key, name, description)
SELECT DISTINCT t.run_id, 'persona', p.id, p.key, p.name, p.description
FROM generation_tasks t JOIN personas p ON p.id = t.persona_id;
INSERT INTO run_scaffolding (run_id, kind, item_id, key, name, description)
SELECT DISTINCT t.run_id, 'emotional_arc', a.id, a.key, a.name, a.description
FROM generation_tasks t JOIN emotional_arcs a ON a.id = t.emotional_arc_id;
INSERT INTO run_scaffolding (run_id, kind, item_id, key, name, description)
SELECT DISTINCT t.run_id, 'training_topic', s.id, s.key, s.name, s.description
FROM generation_tasks t JOIN training_topics s ON s.id = t.training_topic_id;

CREATE INDEX ix_generation_tasks_run_combination ON generation_tasks (run_id, persona_id, emotional_arc_id, training_topic_id);

-- Row-level security for the design tables (they had none: everyone read everything).
ALTER TABLE personas ENABLE ROW LEVEL SECURITY;
ALTER TABLE personas FORCE ROW LEVEL SECURITY;
ALTER TABLE emotional_arcs ENABLE ROW LEVEL SECURITY;
ALTER TABLE emotional_arcs FORCE ROW LEVEL SECURITY;
ALTER TABLE training_topics ENABLE ROW LEVEL SECURITY;
ALTER TABLE training_topics FORCE ROW LEVEL SECURITY;
ALTER TABLE prompt_templates ENABLE ROW LEVEL SECURITY;
ALTER TABLE prompt_templates FORCE ROW LEVEL SECURITY;
ALTER TABLE prompt_template_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE prompt_template_versions FORCE ROW LEVEL SECURITY;
ALTER TABLE run_scaffolding ENABLE ROW LEVEL SECURITY;
ALTER TABLE run_scaffolding FORCE ROW LEVEL SECURITY;

GRANT SELECT, INSERT, UPDATE ON personas, emotional_arcs, training_topics, prompt_templates TO brun_app;
GRANT SELECT, INSERT, UPDATE ON personas, emotional_arcs, training_topics, prompt_templates TO brun_system;
GRANT SELECT ON prompt_template_versions TO brun_app, brun_system;
GRANT SELECT, INSERT ON run_scaffolding TO brun_app;
GRANT SELECT, INSERT, DELETE ON run_scaffolding TO brun_system;

-- Members read built-in, shared and their own items; admins read all. Members create private items and change their
-- own private ones; only admins create or change shared and built-in items (that is how sharing is decided).
CREATE POLICY personas_read ON personas FOR SELECT TO brun_app
    USING (owner_id IS NULL OR shared OR owner_id = brun_current_user_id() OR brun_is_admin());
CREATE POLICY personas_insert ON personas FOR INSERT TO brun_app
    WITH CHECK (owner_id = brun_current_user_id() AND (NOT shared OR brun_is_admin()));
CREATE POLICY personas_update ON personas FOR UPDATE TO brun_app
    USING ((owner_id = brun_current_user_id() AND NOT shared) OR brun_is_admin())
    WITH CHECK ((owner_id = brun_current_user_id() AND NOT shared) OR brun_is_admin());
CREATE POLICY personas_system ON personas TO brun_system USING (true) WITH CHECK (true);

CREATE POLICY emotional_arcs_read ON emotional_arcs FOR SELECT TO brun_app
    USING (owner_id IS NULL OR shared OR owner_id = brun_current_user_id() OR brun_is_admin());
CREATE POLICY emotional_arcs_insert ON emotional_arcs FOR INSERT TO brun_app
    WITH CHECK (owner_id = brun_current_user_id() AND (NOT shared OR brun_is_admin()));
CREATE POLICY emotional_arcs_update ON emotional_arcs FOR UPDATE TO brun_app
    USING ((owner_id = brun_current_user_id() AND NOT shared) OR brun_is_admin())
    WITH CHECK ((owner_id = brun_current_user_id() AND NOT shared) OR brun_is_admin());
CREATE POLICY emotional_arcs_system ON emotional_arcs TO brun_system USING (true) WITH CHECK (true);

CREATE POLICY training_topics_read ON training_topics FOR SELECT TO brun_app
    USING (owner_id IS NULL OR shared OR owner_id = brun_current_user_id() OR brun_is_admin());
CREATE POLICY training_topics_insert ON training_topics FOR INSERT TO brun_app
    WITH CHECK (owner_id = brun_current_user_id() AND (NOT shared OR brun_is_admin()));
CREATE POLICY training_topics_update ON training_topics FOR UPDATE TO brun_app
    USING ((owner_id = brun_current_user_id() AND NOT shared) OR brun_is_admin())
    WITH CHECK ((owner_id = brun_current_user_id() AND NOT shared) OR brun_is_admin());
CREATE POLICY training_topics_system ON training_topics TO brun_system USING (true) WITH CHECK (true);

CREATE POLICY prompt_templates_read ON prompt_templates FOR SELECT TO brun_app
    USING (owner_id IS NULL OR shared OR owner_id = brun_current_user_id() OR brun_is_admin());
CREATE POLICY prompt_templates_insert ON prompt_templates FOR INSERT TO brun_app
    WITH CHECK (owner_id = brun_current_user_id() AND (NOT shared OR brun_is_admin()));
CREATE POLICY prompt_templates_update ON prompt_templates FOR UPDATE TO brun_app
    USING ((owner_id = brun_current_user_id() AND NOT shared) OR brun_is_admin())
    WITH CHECK ((owner_id = brun_current_user_id() AND NOT shared) OR brun_is_admin());
CREATE POLICY prompt_templates_system ON prompt_templates TO brun_system USING (true) WITH CHECK (true);

-- A version is visible when its template is, or when a run the reader may see used it (an admin un-shared the
-- template later: the run still shows what produced it).
CREATE POLICY prompt_template_versions_read ON prompt_template_versions FOR SELECT TO brun_app
    USING (EXISTS (SELECT 1 FROM prompt_templates p WHERE p.id = prompt_template_versions.template_id)
           OR EXISTS (SELECT 1 FROM generation_runs r WHERE r.template_version_id = prompt_template_versions.id));
CREATE POLICY prompt_template_versions_system ON prompt_template_versions FOR SELECT TO brun_system USING (true);
-- The recording trigger runs as the migration's role; with FORCE ROW LEVEL SECURITY it needs its own INSERT policy.
CREATE POLICY prompt_template_versions_record ON prompt_template_versions FOR INSERT TO PUBLIC WITH CHECK (true);

CREATE POLICY run_scaffolding_via_run ON run_scaffolding TO brun_app
    USING (EXISTS (SELECT 1 FROM generation_runs r WHERE r.id = run_id))
    WITH CHECK (EXISTS (SELECT 1 FROM generation_runs r WHERE r.id = run_id
                        AND (r.created_by = brun_current_user_id() OR brun_is_admin())));
CREATE POLICY run_scaffolding_system ON run_scaffolding TO brun_system USING (true) WITH CHECK (true);
