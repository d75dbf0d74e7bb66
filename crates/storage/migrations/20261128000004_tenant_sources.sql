-- Which logs the connectors pull for a tenant (the connectors issue): the Office 365
-- Management Activity API feed and the Entra sign-in logs through Graph. No row: nothing pulled.
CREATE TABLE tenant_sources (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    activity_feed boolean NOT NULL DEFAULT false,
    signins boolean NOT NULL DEFAULT false,
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id)
);

ALTER TABLE tenant_sources ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_sources TO tokenwatch_app
    USING (tenant_id = tokenwatch_current_tenant())
    WITH CHECK (tenant_id = tokenwatch_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_sources TO tokenwatch_app;
