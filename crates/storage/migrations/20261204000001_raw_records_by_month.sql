-- Retention without row deletes and without a count under its lock.
--
-- Raw records were one table keyed (tenant_id, record_id), so retention deleted a month's worth
-- row by row (the hour soak at 10,000 records/s: ~8,500 deletes a second, which doubled
-- Postgres's writes and grew the table faster than autovacuum reclaimed it), and it counted each
-- dropped month per tenant while holding `events` exclusively (1.3-2.2 s with ingest waiting).
--
-- Now raw records are partitioned by the month of their event's time, like `events`, and a
-- month's two partitions are dropped together. Ingest tallies its events per tenant and month
-- (`event_month_counts`) in the statement that stores them, so retention moves a month's tally
-- to `event_counts.retired` instead of counting it. The dedupe key becomes (tenant_id,
-- event_time, record_id), the events' key: a record sent again carries the same time.

ALTER TABLE raw_records RENAME TO raw_records_unpartitioned;
ALTER TABLE raw_records_unpartitioned RENAME CONSTRAINT raw_records_pkey
    TO raw_records_unpartitioned_pkey;
ALTER TABLE raw_records_unpartitioned RENAME CONSTRAINT raw_records_tenant_id_fkey
    TO raw_records_unpartitioned_tenant_id_fkey;

CREATE TABLE raw_records (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    event_time timestamptz NOT NULL,
    record_id text NOT NULL,
    source_format text NOT NULL,
    source_name text NOT NULL DEFAULT '',
    content bytea NOT NULL,
    receive_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, event_time, record_id)
) PARTITION BY RANGE (event_time);

ALTER TABLE raw_records ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON raw_records TO tokenwatch_app
    USING (tenant_id = tokenwatch_current_tenant())
    WITH CHECK (tenant_id = tokenwatch_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON raw_records TO tokenwatch_app;

-- A raw records partition beside each events partition, with the same bounds.
DO $$
DECLARE
    partition record;
BEGIN
    FOR partition IN
        SELECT child.relname AS name, pg_get_expr(child.relpartbound, child.oid) AS bound
        FROM pg_inherits
        JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
        JOIN pg_class child ON child.oid = pg_inherits.inhrelid
        WHERE parent.relname = 'events' AND child.relnamespace = parent.relnamespace
    LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF raw_records %s',
                       'raw_records_' || substring(partition.name FROM 8), partition.bound);
    END LOOP;
END
$$;

-- Every raw record has its event (ingest writes both in one statement); one whose event is gone
-- was past retention already and is not carried over.
INSERT INTO raw_records (tenant_id, event_time, record_id, source_format, source_name, content,
                         receive_time)
SELECT r.tenant_id, e.event_time, r.record_id, r.source_format, r.source_name, r.content,
       r.receive_time
FROM raw_records_unpartitioned r
JOIN events e ON e.tenant_id = r.tenant_id AND e.record_id = r.record_id;

DROP TABLE raw_records_unpartitioned;

-- Each tenant's events per month of event time, as stored by ingest. `event_counts` keeps what
-- retention retired; events stored ever = retired + the months still here.
CREATE TABLE event_month_counts (
    tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    month timestamptz NOT NULL,
    stored bigint NOT NULL CHECK (stored >= 0),
    PRIMARY KEY (tenant_id, month)
);

INSERT INTO event_month_counts (tenant_id, month, stored)
SELECT tenant_id, date_trunc('month', event_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', count(*)
FROM events GROUP BY 1, 2;

ALTER TABLE event_month_counts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON event_month_counts TO tokenwatch_app
    USING (tenant_id = tokenwatch_current_tenant())
    WITH CHECK (tenant_id = tokenwatch_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON event_month_counts TO tokenwatch_app;

-- `stored` is now the sum above: one truth, written by ingest alone.
ALTER TABLE event_counts DROP COLUMN stored;

-- Makes a month's events and raw records partitions (see 20261203000005 for the lock).
CREATE OR REPLACE FUNCTION tokenwatch_ensure_event_partition(at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    month_name text := to_char(month_start AT TIME ZONE 'UTC', 'YYYY_MM');
    partition_name text := 'events_' || month_name;
    raw_name text := 'raw_records_' || month_name;
    horizon timestamptz := (SELECT events_from FROM event_retention);
BEGIN
    IF horizon IS NOT NULL AND month_start < horizon THEN
        -- Nothing is made for what retention removed: an insert there fails instead.
        RETURN NULL;
    END IF;
    IF to_regclass(quote_ident(partition_name)) IS NULL
       OR to_regclass(quote_ident(raw_name)) IS NULL THEN
        -- Held to the end of the caller's transaction; only makers of this month wait.
        PERFORM pg_advisory_xact_lock(hashtext('tokenwatch_ensure_event_partition'),
                                      hashtext(partition_name));
        -- Making a partition locks its parent exclusively: raw records first, then events, the
        -- order an ingest's statement takes them in (the other order deadlocked with ingest).
        -- IF NOT EXISTS still: the lookups above may not yet see a maker's commit.
        IF to_regclass(quote_ident(raw_name)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE IF NOT EXISTS %I PARTITION OF raw_records FOR VALUES FROM (%L) TO (%L)',
                raw_name, month_start, month_start + interval '1 month');
        END IF;
        IF to_regclass(quote_ident(partition_name)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE IF NOT EXISTS %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                partition_name, month_start, month_start + interval '1 month');
        END IF;
    END IF;
    RETURN partition_name;
END
$$;

-- Drops each month ending at or before `before`: its events and raw records partitions, its
-- tallies moved to `event_counts.retired`. Returns each events partition dropped with the events
-- it held. The locks follow ingest's order (raw records, events, then the tally rows), so the two
-- wait for each other instead of deadlocking; under them there is no count, only catalog work.
-- The caller bounds the wait for the locks (lock_timeout): ingest queues behind a waiting drop.
DROP FUNCTION tokenwatch_drop_event_partitions(timestamptz);
CREATE FUNCTION tokenwatch_drop_event_partitions(before timestamptz)
RETURNS TABLE (partition_name text, event_count bigint)
LANGUAGE plpgsql AS $$
DECLARE
    partition record;
    locked boolean := false;
BEGIN
    FOR partition IN
        SELECT child.relname::text AS name,
               substring(pg_get_expr(child.relpartbound, child.oid)
                         FROM 'FROM \(''([^'']+)''\)')::timestamptz AS month_start,
               substring(pg_get_expr(child.relpartbound, child.oid)
                         FROM 'TO \(''([^'']+)''\)')::timestamptz AS month_end
        FROM pg_inherits
        JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
        JOIN pg_class child ON child.oid = pg_inherits.inhrelid
        WHERE parent.relname = 'events'
          AND child.relnamespace = parent.relnamespace
        ORDER BY 2
    LOOP
        CONTINUE WHEN partition.month_end > before;
        IF NOT locked THEN
            -- ONLY: the parents; each partition is locked by its own drop.
            LOCK TABLE ONLY raw_records IN ACCESS EXCLUSIVE MODE;
            LOCK TABLE ONLY events IN ACCESS EXCLUSIVE MODE;
            locked := true;
        END IF;
        WITH retired AS (
            DELETE FROM event_month_counts m
            WHERE m.month >= partition.month_start AND m.month < partition.month_end
            RETURNING m.tenant_id, m.stored
        ), per_tenant AS (
            SELECT r.tenant_id, sum(r.stored)::bigint AS stored FROM retired r GROUP BY 1
        ), added AS (
            INSERT INTO event_counts AS c (tenant_id, retired)
            SELECT p.tenant_id, p.stored FROM per_tenant p
            ON CONFLICT (tenant_id) DO UPDATE SET retired = c.retired + EXCLUDED.retired
        )
        SELECT coalesce(sum(p.stored), 0)::bigint INTO event_count FROM per_tenant p;
        EXECUTE format('DROP TABLE IF EXISTS %I',
                       'raw_records_' || substring(partition.name FROM 8));
        EXECUTE format('DROP TABLE %I', partition.name);
        partition_name := partition.name;
        RETURN NEXT;
    END LOOP;
END
$$;
