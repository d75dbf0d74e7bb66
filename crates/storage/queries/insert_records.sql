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
    INSERT INTO raw_records (tenant_id, event_time, record_id, source_format, source_name, content)
    SELECT $1, event_time, record_id, source_format, $2, content FROM input
    ON CONFLICT (tenant_id, event_time, record_id) DO NOTHING
    RETURNING event_time, record_id
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
    WHERE (event_time, record_id) IN (SELECT event_time, record_id FROM new_raw)
    RETURNING event_time
),
-- The tenant's tally per month, in the same transaction as its events (event_month_counts).
-- In month order: two ingests of one tenant lock its month rows in the same order.
tallied AS (
    INSERT INTO event_month_counts AS c (tenant_id, month, stored)
    SELECT $1, month, count(*)
    FROM (SELECT date_trunc('month', event_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month
          FROM new_events) AS months
    GROUP BY month
    ORDER BY month
    ON CONFLICT (tenant_id, month) DO UPDATE SET stored = c.stored + EXCLUDED.stored
)
SELECT record_id, event_time FROM new_raw
