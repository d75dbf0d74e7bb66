-- tokenwatch schema, version 1.
--
-- Every table has tenant_id first in its primary key, so the schema can be distributed by
-- tenant (Citus) unchanged. Row-level security on tenant_id applies to the tokenwatch_app role,
-- which every tenant-scoped transaction assumes with SET LOCAL ROLE after setting
-- app.tenant_id; the owner role (migrations, tenant registry) is not subject to it.

DO $$
BEGIN
    CREATE ROLE tokenwatch_app NOLOGIN NOBYPASSRLS;
EXCEPTION
    -- Roles are cluster-wide: another database of the cluster may have created it already,
    -- possibly at the same moment.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'tokenwatch_app', 'MEMBER') THEN
        EXECUTE format('GRANT tokenwatch_app TO %I', current_user);
    END IF;
EXCEPTION
    -- A superuser needs no membership to SET ROLE; a non-superuser owner must be granted it.
    WHEN insufficient_privilege OR invalid_grant_operation THEN NULL;
END
$$;

-- The tenant a transaction acts for, or NULL outside a tenant transaction.
CREATE FUNCTION tokenwatch_current_tenant() RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid
$$;

CREATE TABLE tenants (
    tenant_id uuid PRIMARY KEY,
    display_name text NOT NULL CHECK (display_name <> ''),
    create_time timestamptz NOT NULL DEFAULT now()
);

-- Every record as received, for re-processing and evidence; (tenant_id, record_id) is the
-- ingest dedupe key.
CREATE TABLE raw_records (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    record_id text NOT NULL,
    source_format text NOT NULL,
    source_name text NOT NULL DEFAULT '',
    content bytea NOT NULL,
    receive_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, record_id)
);

-- Normalized events, partitioned by month of event time: retention is a partition drop.
CREATE TABLE events (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    event_time timestamptz NOT NULL,
    record_id text NOT NULL,
    source_format text NOT NULL,
    user_id text NOT NULL,
    user_object_id text,
    session_id text,
    session_id_source text,
    ip_address inet,
    asn bigint,
    as_org text,
    country text,
    hosting boolean NOT NULL DEFAULT false,
    token_id text,
    interactive boolean,
    user_agent text,
    client_kind text,
    browser text,
    browser_major integer,
    os text,
    device_id text,
    operation text NOT NULL,
    workload text,
    result_status text,
    app_id text,
    PRIMARY KEY (tenant_id, event_time, record_id)
) PARTITION BY RANGE (event_time);

CREATE INDEX events_session ON events (tenant_id, user_id, session_id, event_time);

-- Open-session aggregates, kept so a restart resumes where it stopped.
CREATE TABLE sessions (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    user_id text NOT NULL,
    session_id text NOT NULL,
    first_seen_time timestamptz NOT NULL,
    last_seen_time timestamptz NOT NULL,
    aggregate jsonb NOT NULL,
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, session_id)
);

-- Snapshots of the hot baselines Redis holds.
CREATE TABLE user_baselines (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    user_id text NOT NULL,
    baseline jsonb NOT NULL,
    events_seen bigint NOT NULL DEFAULT 0,
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);

-- Versioned weight sets; the highest version of a tenant is in force.
CREATE TABLE weight_sets (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    version bigint NOT NULL CHECK (version > 0),
    weights jsonb NOT NULL,
    threshold double precision NOT NULL,
    reason text NOT NULL DEFAULT '',
    created_by text NOT NULL,
    pinned boolean NOT NULL DEFAULT false,
    parent_version bigint NOT NULL DEFAULT 0,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, version)
);

CREATE TABLE incidents (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    incident_id uuid NOT NULL,
    user_id text NOT NULL,
    severity text NOT NULL,
    first_seen_time timestamptz NOT NULL,
    last_seen_time timestamptz NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, incident_id)
);

-- One finding per session (upserted as the session is re-scored).
CREATE TABLE findings (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    finding_id uuid NOT NULL,
    incident_id uuid NOT NULL,
    user_id text NOT NULL,
    session_id text NOT NULL,
    score double precision NOT NULL,
    threshold double precision NOT NULL,
    severity text NOT NULL,
    status text NOT NULL DEFAULT 'open',
    first_seen_time timestamptz NOT NULL,
    last_seen_time timestamptz NOT NULL,
    detected_at timestamptz NOT NULL,
    weight_version bigint NOT NULL,
    explanation jsonb NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, finding_id),
    UNIQUE (tenant_id, user_id, session_id),
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents ON DELETE CASCADE
);

CREATE INDEX findings_recent ON findings (tenant_id, last_seen_time DESC);

CREATE TABLE verdicts (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    verdict_id uuid NOT NULL,
    finding_id uuid NOT NULL,
    kind text NOT NULL,
    comment text NOT NULL DEFAULT '',
    analyst text NOT NULL,
    weight_version bigint NOT NULL DEFAULT 0,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, verdict_id),
    FOREIGN KEY (tenant_id, finding_id) REFERENCES findings ON DELETE CASCADE
);

CREATE TABLE suppressions (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    suppression_id uuid NOT NULL,
    user_id text NOT NULL DEFAULT '',
    context_kind text NOT NULL,
    context_value text NOT NULL,
    reason text NOT NULL DEFAULT '',
    created_by text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    expire_time timestamptz,
    PRIMARY KEY (tenant_id, suppression_id)
);

CREATE TABLE response_policies (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    policy jsonb NOT NULL,
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id)
);

CREATE TABLE actions (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    action_id uuid NOT NULL,
    kind text NOT NULL,
    state text NOT NULL,
    user_id text NOT NULL,
    finding_id uuid,
    reason text NOT NULL DEFAULT '',
    request_id text,
    proposed_by text NOT NULL,
    approved_by text,
    result text NOT NULL DEFAULT '',
    attempts integer NOT NULL DEFAULT 0,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, action_id),
    UNIQUE (tenant_id, request_id)
);

-- Every change an actor makes, per tenant, append-only.
CREATE TABLE audit_log (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    audit_id bigint GENERATED ALWAYS AS IDENTITY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    action text NOT NULL,
    object_kind text NOT NULL,
    object_id text NOT NULL,
    details jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, audit_id)
);

-- Records that could not be parsed, kept whole with the reason.
CREATE TABLE quarantine (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    quarantine_id uuid NOT NULL,
    -- sha256 of the content: re-sending a bad record does not quarantine it twice.
    content_hash text NOT NULL,
    source_format text NOT NULL,
    source_name text NOT NULL DEFAULT '',
    reason text NOT NULL,
    message text NOT NULL DEFAULT '',
    content bytea NOT NULL,
    receive_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, quarantine_id),
    UNIQUE (tenant_id, content_hash)
);

CREATE INDEX quarantine_recent ON quarantine (tenant_id, receive_time DESC);

-- Row-level security: the same policy on every tenant table.
DO $$
DECLARE
    table_name text;
BEGIN
    FOREACH table_name IN ARRAY ARRAY[
        'tenants', 'raw_records', 'events', 'sessions', 'user_baselines', 'weight_sets',
        'incidents', 'findings', 'verdicts', 'suppressions', 'response_policies', 'actions',
        'audit_log', 'quarantine'
    ]
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

-- Creates the month partition of events holding `at`, if missing; returns its name.
CREATE FUNCTION tokenwatch_ensure_event_partition(at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    partition_name text := format('events_%s', to_char(month_start AT TIME ZONE 'UTC', 'YYYY_MM'));
BEGIN
    IF to_regclass(quote_ident(partition_name)) IS NULL THEN
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
            partition_name, month_start, month_start + interval '1 month');
    END IF;
    RETURN partition_name;
END
$$;

-- Drops every events partition that ends at or before `before`; returns the names dropped.
CREATE FUNCTION tokenwatch_drop_event_partitions(before timestamptz) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    partition record;
BEGIN
    FOR partition IN
        SELECT child.relname AS name,
               pg_get_expr(child.relpartbound, child.oid) AS bound
        FROM pg_inherits
        JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
        JOIN pg_class child ON child.oid = pg_inherits.inhrelid
        WHERE parent.relname = 'events'
          AND child.relnamespace = parent.relnamespace
    LOOP
        IF substring(partition.bound FROM 'TO \(''([^'']+)''\)')::timestamptz <= before THEN
            EXECUTE format('DROP TABLE %I', partition.name);
            RETURN NEXT partition.name;
        END IF;
    END LOOP;
END
$$;
