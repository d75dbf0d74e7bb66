-- Raw records and their events in one statement. $1 tenant, $2 source name, $3.. columns.
WITH input AS (
    SELECT *
    FROM unnest(
        $3::text[], $4::text[], $5::bytea[], $6::timestamptz[], $7::text[], $8::text[],
        $9::text[], $10::text[], $11::text[], $12::boolean[], $13::text[], $14::bigint[],
        $15::text[], $16::text[], $17::boolean[], $18::text[], $19::text[], $20::text[],
        $21::integer[], $22::text[], $23::text[], $24::text[], $25::text[], $26::text[],
        $27::text[]
    ) AS r(record_id, source_format, content, event_time, user_id, user_object_id,
           session_id, session_id_source, token_id, interactive, ip_address, asn,
           as_org, country, hosting, user_agent, client_kind, browser,
           browser_major, os, device_id, operation, workload, result_status,
           app_id)
),
new_raw AS (
    INSERT INTO raw_records (tenant_id, record_id, source_format, source_name, content)
    SELECT $1, record_id, source_format, $2, content FROM input
    ON CONFLICT (tenant_id, record_id) DO NOTHING
    RETURNING record_id
),
new_events AS (
    INSERT INTO events (tenant_id, event_time, record_id, source_format, user_id, user_object_id,
                        session_id, session_id_source, token_id, interactive, ip_address, asn,
                        as_org, country, hosting, user_agent, client_kind, browser,
                        browser_major, os, device_id, operation, workload, result_status, app_id)
    SELECT $1, event_time, record_id, source_format, user_id, user_object_id,
           session_id, session_id_source, token_id, interactive, ip_address::inet, asn,
           as_org, country, hosting, user_agent, client_kind, browser,
           browser_major, os, device_id, operation, workload, result_status, app_id
    FROM input
    WHERE record_id IN (SELECT record_id FROM new_raw)
    RETURNING record_id
),
-- The tenant's tally, in the same transaction as its events (see event_counts).
tallied AS (
    INSERT INTO event_counts (tenant_id, stored)
    SELECT $1, n FROM (SELECT count(*) AS n FROM new_events) AS counted WHERE n > 0
    ON CONFLICT (tenant_id) DO UPDATE SET stored = event_counts.stored + EXCLUDED.stored
)
SELECT record_id FROM new_raw
