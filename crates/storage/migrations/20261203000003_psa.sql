-- Tickets in the MSP's PSA (ConnectWise Manage, Autotask, HaloPSA): one MSP-wide connection,
-- each tenant mapped to one of the PSA's companies, one ticket per incident, and a cursor per
-- tenant through the notifications outbox so every event reaches the PSA once and in order.

-- The MSP's PSA: one row (the MSP has one PSA). Written by msp_admin through the owner
-- transaction, like the tenant registry.
CREATE TABLE psa_connection (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    kind text NOT NULL CHECK (kind IN ('connectwise', 'autotask', 'halopsa')),
    -- The API's base URL, and the kind's own identifiers (company id and public key for
    -- ConnectWise, username and integration code for Autotask, client id for ConnectWise and
    -- HaloPSA, the token URL for HaloPSA).
    url text NOT NULL CHECK (url ~ '^https?://'),
    settings jsonb NOT NULL,
    -- The private key, secret or client secret, sealed (AES-256-GCM, 'psa' as AAD).
    sealed_secret bytea NOT NULL,
    key_id text NOT NULL,
    updated_by text NOT NULL,
    update_time timestamptz NOT NULL DEFAULT now()
);

-- Which PSA company a tenant is.
CREATE TABLE psa_companies (
    tenant_id uuid PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
    company_id text NOT NULL CHECK (company_id <> ''),
    company_name text NOT NULL DEFAULT '',
    mapped_by text NOT NULL,
    -- Events from this moment on become tickets; earlier ones were before the mapping.
    map_time timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The ticket of each incident.
CREATE TABLE psa_tickets (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    incident_id uuid NOT NULL,
    ticket_id text NOT NULL,
    -- What technicians see (ConnectWise and HaloPSA show the id; Autotask a T2026... number).
    ticket_number text NOT NULL DEFAULT '',
    company_id text NOT NULL,
    -- open; resolved (closed by tokenwatch when every finding had its verdict); closed_in_psa
    -- (a technician closed it: reopened only when the incident escalates).
    state text NOT NULL CHECK (state IN ('open', 'resolved', 'closed_in_psa')),
    -- The most severe finding the ticket has been told of.
    severity text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, incident_id)
);

-- How far each tenant's events have gone to the PSA. Events go in order (a note after its
-- ticket, a closing after its notes): `position` is the last one done, `in_flight` the one
-- being sent. An event in flight when its process stopped may have reached the PSA: the next
-- try looks for it there (by the reference each ticket and note carries) before sending.
CREATE TABLE psa_cursors (
    tenant_id uuid PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
    position_time timestamptz NOT NULL,
    position_id uuid NOT NULL,
    in_flight uuid,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_time timestamptz NOT NULL DEFAULT now(),
    last_error text NOT NULL DEFAULT '',
    update_time timestamptz NOT NULL DEFAULT now()
);

DO $$
DECLARE
    table_name text;
BEGIN
    FOREACH table_name IN ARRAY ARRAY['psa_companies', 'psa_tickets', 'psa_cursors']
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
