-- Each customer tenant's Microsoft Graph app registration. The secret (or certificate and key)
-- is sealed by the service (AES-256-GCM, the tenant id as associated data) before it reaches
-- this table; key_id names the key that sealed it.
CREATE TABLE graph_credentials (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    client_id text NOT NULL CHECK (client_id <> ''),
    kind text NOT NULL CHECK (kind IN ('client_secret', 'certificate')),
    sealed bytea NOT NULL,
    key_id text NOT NULL,
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id)
);

ALTER TABLE graph_credentials ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON graph_credentials TO tokenwatch_app
    USING (tenant_id = tokenwatch_current_tenant())
    WITH CHECK (tenant_id = tokenwatch_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON graph_credentials TO tokenwatch_app;
