-- The connectors (the connectors issue): who pulls each tenant now and when it is next due;
-- per tenant and source, the checkpoint and what the pulls did; the Management Activity API
-- content blobs already ingested, so a restart never fetches one twice.

-- One row per tenant a connector has looked at. The lease is the only thing that lets a
-- replica pull the tenant; every checkpoint write checks it is still held.
CREATE TABLE connector_tenants (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    lease_holder text,
    lease_until timestamptz,
    next_pull_time timestamptz NOT NULL DEFAULT now(),
    -- Rounds in a row that got nothing done.
    failures integer NOT NULL DEFAULT 0,
    healthy boolean NOT NULL DEFAULT true,
    last_error text,
    -- The replica that ended the last round.
    last_holder text,
    PRIMARY KEY (tenant_id)
);
CREATE INDEX connector_tenants_due ON connector_tenants (next_pull_time);

-- Source: a content type of the activity feed (Audit.Exchange...), or signins.interactive /
-- signins.noninteractive. The checkpoint: everything made available (activity) or created
-- (sign-ins) before it has been ingested.
CREATE TABLE connector_sources (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    source text NOT NULL,
    checkpoint timestamptz NOT NULL,
    last_attempt_time timestamptz,
    last_success_time timestamptz,
    records_pulled bigint NOT NULL DEFAULT 0,
    records_new bigint NOT NULL DEFAULT 0,
    records_rejected bigint NOT NULL DEFAULT 0,
    throttled bigint NOT NULL DEFAULT 0,
    last_error text,
    last_error_time timestamptz,
    PRIMARY KEY (tenant_id, source)
);

-- Content blobs ingested, kept a little longer than the API keeps content (7 days).
CREATE TABLE connector_contents (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    content_type text NOT NULL,
    content_id text NOT NULL,
    content_created timestamptz NOT NULL,
    records integer NOT NULL,
    ingest_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, content_type, content_id)
);
CREATE INDEX connector_contents_created ON connector_contents (tenant_id, content_created);

DO $$
DECLARE
    table_name text;
BEGIN
    FOREACH table_name IN ARRAY ARRAY['connector_tenants', 'connector_sources', 'connector_contents']
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

-- Status for several tenants at once (an MSP engineer's view of every tenant).
CREATE POLICY multi_tenant_read ON connector_tenants FOR SELECT TO tokenwatch_app
    USING (tenant_id = ANY (tokenwatch_readable_tenants()));
CREATE POLICY multi_tenant_read ON connector_sources FOR SELECT TO tokenwatch_app
    USING (tenant_id = ANY (tokenwatch_readable_tenants()));
CREATE POLICY multi_tenant_read ON tenant_sources FOR SELECT TO tokenwatch_app
    USING (tenant_id = ANY (tokenwatch_readable_tenants()));
