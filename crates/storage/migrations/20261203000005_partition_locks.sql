-- Two ingests making the same new month at once: `CREATE TABLE IF NOT EXISTS` checks the name
-- before it takes any lock, so the slower one failed with "relation already exists" (42P07)
-- and its batch with it. A lock per partition name makes them take turns; the second finds the
-- partition made.
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
        -- Held to the end of the caller's transaction; only makers of this month wait.
        PERFORM pg_advisory_xact_lock(hashtext('tokenwatch_ensure_event_partition'),
                                      hashtext(partition_name));
        IF to_regclass(quote_ident(partition_name)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE IF NOT EXISTS %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                partition_name, month_start, month_start + interval '1 month');
        END IF;
    END IF;
    RETURN partition_name;
END
$$;

-- Retention added a dropped month to the tallies, then dropped it, which takes `events` itself;
-- an ingest takes `events` (its insert), then its tenant's tally row. Each waited for the
-- other: a deadlock, and Postgres aborted one of them. Retention now takes `events` first,
-- waiting for the ingests under way; those after it wait for the drops (a count and a drop
-- per month, well under a second each).
CREATE OR REPLACE FUNCTION tokenwatch_drop_event_partitions(before timestamptz) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    partition record;
    locked boolean := false;
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
            IF NOT locked THEN
                -- ONLY: the parent; the partitions to drop are locked one at a time below.
                LOCK TABLE ONLY events IN ACCESS EXCLUSIVE MODE;
                locked := true;
            END IF;
            -- No insert commits into the partition between its count and its drop.
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
