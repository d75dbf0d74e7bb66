-- Monthly customer reports, made on the first of each month for the month before and kept
-- for the console and for anyone who asks again (the same PDF every time).
CREATE TABLE reports (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    -- YYYY-MM.
    month text NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
    facts jsonb NOT NULL,
    html text NOT NULL,
    pdf bytea NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, month)
);

ALTER TABLE reports ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON reports TO tokenwatch_app
    USING (tenant_id = tokenwatch_current_tenant())
    WITH CHECK (tenant_id = tokenwatch_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON reports TO tokenwatch_app;
