-- The online pipeline's state.
--
-- The detection engine's per-tenant state is hot in Redis; Postgres keeps generations of it: a
-- generation is the tenant-wide part at a checkpoint (the last event processed, in (event time,
-- record id) order) plus every user state that changed since the previous generation. A user's
-- state at generation G is its newest row at or below G. Late records roll a tenant back to the
-- newest generation before them; a lost Redis restores the newest generation; both then replay
-- the events since from `events`.

-- Superseded by the generations below (never written by any release).
DROP TABLE sessions;
DROP TABLE user_baselines;

CREATE TABLE engine_generations (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    generation bigint NOT NULL CHECK (generation > 0),
    checkpoint_time timestamptz NOT NULL,
    checkpoint_record text NOT NULL,
    events bigint NOT NULL,
    -- The engine's tenant-wide part, encoded by the pipeline (format versioned inside).
    shared bytea NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, generation)
);

CREATE TABLE engine_user_states (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    user_id text NOT NULL,
    generation bigint NOT NULL,
    state bytea NOT NULL,
    PRIMARY KEY (tenant_id, user_id, generation),
    FOREIGN KEY (tenant_id, generation) REFERENCES engine_generations ON DELETE CASCADE
);

CREATE INDEX findings_detected ON findings (tenant_id, detected_at);

DO $$
DECLARE
    table_name text;
BEGIN
    FOREACH table_name IN ARRAY ARRAY['engine_generations', 'engine_user_states']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', table_name);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I TO tokenwatch_app '
            'USING (tenant_id = tokenwatch_current_tenant()) '
            'WITH CHECK (tenant_id = tokenwatch_current_tenant())',
            table_name);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO tokenwatch_app', table_name);
    END LOOP;
END
$$;

-- Reads across several tenants (an analyst listing the findings of every tenant they may act
-- for): the transaction names the tenants in app.tenant_ids, and these SELECT-only policies let
-- it see exactly those. Writes still need the single app.tenant_id.
CREATE FUNCTION tokenwatch_readable_tenants() RETURNS uuid[]
LANGUAGE sql STABLE AS $$
    SELECT string_to_array(NULLIF(current_setting('app.tenant_ids', true), ''), ',')::uuid[]
$$;

CREATE POLICY multi_tenant_read ON findings FOR SELECT TO tokenwatch_app
    USING (tenant_id = ANY (tokenwatch_readable_tenants()));
CREATE POLICY multi_tenant_read ON incidents FOR SELECT TO tokenwatch_app
    USING (tenant_id = ANY (tokenwatch_readable_tenants()));
