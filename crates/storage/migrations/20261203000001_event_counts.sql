-- Each tenant's event tally: every event ever stored, and those since dropped by retention.
-- Ingest adds to `stored` in the transaction that stores the events, so the pipeline's sweep
-- learns whether it processed every stored event from one row and a count of the events after
-- its checkpoint, not from a count of the tenant's whole history (seconds on a large tenant).

CREATE TABLE event_counts (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    stored bigint NOT NULL DEFAULT 0,
    retired bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id)
);

INSERT INTO event_counts (tenant_id, stored)
SELECT tenant_id, count(*) FROM events GROUP BY tenant_id;

ALTER TABLE event_counts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON event_counts TO tokenwatch_app
    USING (tenant_id = tokenwatch_current_tenant())
    WITH CHECK (tenant_id = tokenwatch_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON event_counts TO tokenwatch_app;

-- Retention now tallies what it drops: the partition is locked first, so no insert commits
-- into it between the count and the drop.
CREATE OR REPLACE FUNCTION tokenwatch_drop_event_partitions(before timestamptz) RETURNS SETOF text
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
            EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', partition.name);
            EXECUTE format(
                'INSERT INTO event_counts (tenant_id, retired) '
                'SELECT tenant_id, count(*) FROM %I GROUP BY tenant_id '
                'ON CONFLICT (tenant_id) DO UPDATE SET retired = event_counts.retired + EXCLUDED.retired',
                partition.name);
            EXECUTE format('DROP TABLE %I', partition.name);
            RETURN NEXT partition.name;
        END IF;
    END LOOP;
END
$$;

-- The retention horizon (one row, written by the retention run): ingest refuses events before
-- it, and no partition is made for them again.
CREATE TABLE event_retention (
    only_row boolean NOT NULL DEFAULT true CHECK (only_row),
    events_from timestamptz NOT NULL,
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (only_row)
);
GRANT SELECT ON event_retention TO tokenwatch_app;

CREATE OR REPLACE FUNCTION tokenwatch_ensure_event_partition(at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    partition_name text := format('events_%s', to_char(month_start AT TIME ZONE 'UTC', 'YYYY_MM'));
    horizon timestamptz := (SELECT events_from FROM event_retention);
BEGIN
    IF horizon IS NOT NULL AND month_start < horizon THEN
        -- Nothing is made for what retention removed: an insert there fails instead.
        RETURN NULL;
    END IF;
    IF to_regclass(quote_ident(partition_name)) IS NULL THEN
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
            partition_name, month_start, month_start + interval '1 month');
    END IF;
    RETURN partition_name;
END
$$;
