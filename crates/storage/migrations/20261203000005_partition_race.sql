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
