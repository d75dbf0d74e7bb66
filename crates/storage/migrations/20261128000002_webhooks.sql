-- Notifications for webhooks: a transactional outbox. An event (a finding created or
-- escalated, an action's move) is written in the transaction that makes the change, so it
-- exists exactly when the change commits; deliveries to each target (a tenant's webhook, or
-- the MSP-wide one from configuration, target 'msp') are tracked beside it and retried.

CREATE TABLE webhooks (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    webhook_id uuid NOT NULL,
    url text NOT NULL CHECK (url ~ '^https?://'),
    format text NOT NULL CHECK (format IN ('generic', 'slack', 'teams')),
    -- Finding events below this severity are not sent.
    min_severity text NOT NULL DEFAULT 'low',
    -- The HMAC key, sealed like Graph credentials (AES-256-GCM, the tenant id as AAD).
    sealed_secret bytea NOT NULL,
    key_id text NOT NULL,
    created_by text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, webhook_id)
);

CREATE TABLE notifications (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    notification_id uuid NOT NULL,
    -- What happened to which object, once: `finding:<id>:created`, `action:<id>:succeeded`.
    event_key text NOT NULL,
    -- `finding.created`, `finding.escalated`, `action.proposed`, `action.succeeded`...
    event text NOT NULL,
    severity text NOT NULL DEFAULT '',
    payload jsonb NOT NULL,
    create_time timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, notification_id),
    UNIQUE (tenant_id, event_key)
);
CREATE INDEX notifications_recent ON notifications (tenant_id, create_time);

CREATE TABLE notification_deliveries (
    tenant_id uuid NOT NULL,
    notification_id uuid NOT NULL,
    -- A webhook id, or 'msp'.
    target text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    delivered_time timestamptz,
    next_attempt_time timestamptz NOT NULL DEFAULT now(),
    last_error text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, notification_id, target),
    FOREIGN KEY (tenant_id, notification_id) REFERENCES notifications ON DELETE CASCADE
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (tenant_id, next_attempt_time)
    WHERE delivered_time IS NULL;

DO $$
DECLARE
    table_name text;
BEGIN
    FOREACH table_name IN ARRAY ARRAY['webhooks', 'notifications', 'notification_deliveries']
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
