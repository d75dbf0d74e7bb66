-- Response actions: their life (a CHECK names every state), dry runs, the severity the policy
-- decided on, and Graph's answer. Actions already isolate tenants (row-level security since the
-- first migration).
ALTER TABLE actions
    ADD COLUMN dry_run boolean NOT NULL DEFAULT false,
    ADD COLUMN severity text NOT NULL DEFAULT '',
    ADD COLUMN outcome jsonb,
    ADD CONSTRAINT actions_state CHECK (state IN
        ('proposed', 'approved', 'rejected', 'executing', 'succeeded', 'failed', 'cancelled')),
    ADD CONSTRAINT actions_kind CHECK (kind IN
        ('revoke_sessions', 'disable_user', 'enable_user', 'confirm_compromised'));

-- The executor's sweep: approved actions never run, executions a crash interrupted.
CREATE INDEX actions_unfinished ON actions (tenant_id, update_time)
    WHERE state IN ('approved', 'executing');
CREATE INDEX actions_recent ON actions (tenant_id, create_time DESC, action_id);

-- An object's history (a finding's status changes, an action's life) in one index scan.
CREATE INDEX audit_log_object ON audit_log (tenant_id, object_kind, object_id, audit_id);
