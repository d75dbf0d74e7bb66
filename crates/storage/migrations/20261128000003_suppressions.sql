-- Suppressions name what they match in the engine's terms, and list newest first.
ALTER TABLE suppressions ADD CONSTRAINT suppressions_kind CHECK (context_kind IN
    ('asn', 'prefix', 'country', 'browser', 'os', 'device', 'network_client'));
CREATE INDEX suppressions_recent ON suppressions (tenant_id, create_time DESC, suppression_id);
