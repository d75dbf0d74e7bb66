//! The schema: migrations, tenant-first primary keys, row-level security, event partitions.

use sqlx::AssertSqlSafe;
use tokenwatch_storage::{Database, MIGRATOR};
use tokenwatch_test_utils::{empty_database_url, test_database};
use tokenwatch_types::TenantId;

use crate::{TENANT_A, TENANT_B};

fn tenant(id: &str) -> TenantId {
    TenantId::parse(id).unwrap()
}

async fn register(database: &Database, id: &str) {
    tokenwatch_storage::create_tenant(database, tenant(id), id, "test")
        .await
        .unwrap();
}

/// Inserts a quarantined record as the owner, outside row-level security.
async fn quarantine_as_owner(database: &Database, id: &str, reason: &str) {
    sqlx::query(
        "INSERT INTO quarantine (tenant_id, quarantine_id, content_hash, source_format, reason, content) \
         VALUES ($1, gen_random_uuid(), gen_random_uuid()::text, 'test', $2, 'x')",
    )
    .bind(tenant(id).as_uuid())
    .bind(reason)
    .execute(database.pool())
    .await
    .unwrap();
}

/// Stores one event the way ingest does (`insert_records.sql`): its raw record, the event, then
/// the tenant's month tally, on `connection` (the owner's, outside row-level security).
async fn store_event(
    connection: &mut sqlx::PgConnection,
    id: &str,
    time: chrono::DateTime<chrono::Utc>,
    record: &str,
) {
    store_raw_and_event(connection, id, time, record).await;
    tally_event(connection, id, time).await;
}

async fn store_raw_and_event(
    connection: &mut sqlx::PgConnection,
    id: &str,
    time: chrono::DateTime<chrono::Utc>,
    record: &str,
) {
    sqlx::query(
        "WITH raw AS ( \
             INSERT INTO raw_records (tenant_id, event_time, record_id, source_format, content) \
             VALUES ($1, $2, $3, 'test', '{}') \
         ) \
         INSERT INTO events (tenant_id, event_time, record_id, source_format, user_id, operation) \
         VALUES ($1, $2, $3, 'test', 'alice@contoso.com', 'UserLoggedIn')",
    )
    .bind(tenant(id).as_uuid())
    .bind(time)
    .bind(record)
    .execute(connection)
    .await
    .unwrap();
}

async fn tally_event(
    connection: &mut sqlx::PgConnection,
    id: &str,
    time: chrono::DateTime<chrono::Utc>,
) {
    sqlx::query(
        "INSERT INTO event_month_counts AS c (tenant_id, month, stored) \
         VALUES ($1, date_trunc('month', $2 AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 1) \
         ON CONFLICT (tenant_id, month) DO UPDATE SET stored = c.stored + 1",
    )
    .bind(tenant(id).as_uuid())
    .bind(time)
    .execute(connection)
    .await
    .unwrap();
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_again() {
    let database = Database::connect(&empty_database_url().await, 2)
        .await
        .unwrap();
    database.migrate().await.unwrap();
    database.migrate().await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(database.pool())
        .await
        .unwrap();
    assert_eq!(applied as usize, MIGRATOR.iter().count());
    let mut tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
           AND c.relname <> '_sqlx_migrations' ORDER BY 1",
    )
    .fetch_all(database.pool())
    .await
    .unwrap();
    tables.sort();
    assert_eq!(
        tables,
        [
            "actions",
            "audit_log",
            "connector_contents",
            "connector_sources",
            "connector_tenants",
            "engine_generations",
            "engine_user_states",
            "event_counts",
            "event_month_counts",
            "event_retention",
            "events",
            "findings",
            "graph_credentials",
            "incidents",
            "notification_deliveries",
            "notifications",
            "psa_companies",
            "psa_connection",
            "psa_cursors",
            "psa_tickets",
            "quarantine",
            "raw_records",
            "reports",
            "response_policies",
            "suppressions",
            "tenant_sources",
            "tenants",
            "verdicts",
            "webhooks",
            "weight_sets",
        ]
    );
}

#[tokio::test]
async fn every_table_leads_its_primary_key_with_tenant_id_and_enforces_rls() {
    let database = test_database().await;
    let rows: Vec<(String, Option<String>, bool, bool)> = sqlx::query_as(
        "SELECT c.relname::text, \
                (SELECT a.attname::text FROM pg_index i \
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
                  WHERE i.indrelid = c.oid AND i.indisprimary), \
                c.relrowsecurity, \
                EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
           AND c.relname NOT IN ('_sqlx_migrations', 'event_retention', 'psa_connection')",
    )
    .fetch_all(database.pool())
    .await
    .unwrap();
    // `event_retention` is the one row every tenant shares (the retention horizon), which the
    // tenant role may only read; `psa_connection` the MSP's one PSA, which it may not read at
    // all (below).
    assert!(rows.len() >= 14);
    for (table, first_key, rls, policy) in rows {
        assert_eq!(first_key.as_deref(), Some("tenant_id"), "{table}");
        assert!(rls && policy, "{table} lacks row-level security");
    }
}

#[tokio::test]
async fn the_psa_connection_is_out_of_every_tenants_reach() {
    let database = test_database().await;
    register(&database, TENANT_A).await;
    let mut tx = database.tenant_tx(tenant(TENANT_A)).await.unwrap();
    let error = sqlx::query("SELECT * FROM psa_connection")
        .fetch_all(&mut *tx)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("permission denied"), "{error}");
}

#[tokio::test]
async fn rls_confines_sql_that_forgets_its_where_clause() {
    let database = test_database().await;
    register(&database, TENANT_A).await;
    register(&database, TENANT_B).await;
    for reason in ["a1", "a2"] {
        quarantine_as_owner(&database, TENANT_A, reason).await;
    }
    quarantine_as_owner(&database, TENANT_B, "b1").await;

    let mut tx = database.tenant_tx(tenant(TENANT_A)).await.unwrap();
    let mut seen: Vec<String> = sqlx::query_scalar("SELECT reason FROM quarantine")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    seen.sort();
    assert_eq!(seen, ["a1", "a2"]);
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(tenants, 1);
    let updated = sqlx::query("UPDATE quarantine SET reason = 'changed'")
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(updated, 2);
    let deleted = sqlx::query("DELETE FROM audit_log")
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(deleted, 1, "only tenant A's creation entry");
    tx.commit().await.unwrap();

    // Writing a row for another tenant fails the policy's WITH CHECK.
    let mut tx = database.tenant_tx(tenant(TENANT_A)).await.unwrap();
    let error = sqlx::query(
        "INSERT INTO quarantine (tenant_id, quarantine_id, content_hash, source_format, reason, content) \
         VALUES ($1, gen_random_uuid(), 'h', 'test', 'sneaky', 'x')",
    )
    .bind(tenant(TENANT_B).as_uuid())
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(error.to_string().contains("row-level security"), "{error}");
    tx.rollback().await.unwrap();

    // Tenant B's rows are untouched.
    let b: Vec<String> = sqlx::query_scalar("SELECT reason FROM quarantine WHERE tenant_id = $1")
        .bind(tenant(TENANT_B).as_uuid())
        .fetch_all(database.pool())
        .await
        .unwrap();
    assert_eq!(b, ["b1"]);
    let b_audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE tenant_id = $1")
        .bind(tenant(TENANT_B).as_uuid())
        .fetch_one(database.pool())
        .await
        .unwrap();
    assert_eq!(b_audit, 1);
}

#[tokio::test]
async fn the_tenant_role_without_a_tenant_sees_nothing() {
    let database = test_database().await;
    register(&database, TENANT_A).await;
    quarantine_as_owner(&database, TENANT_A, "a1").await;
    let mut tx = database.owner_tx().await.unwrap();
    sqlx::query("SET LOCAL ROLE tokenwatch_app")
        .execute(&mut *tx)
        .await
        .unwrap();
    let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM quarantine")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(visible, 0);
}

#[tokio::test]
async fn events_are_partitioned_by_month_and_confined_by_tenant() {
    let database = test_database().await;
    register(&database, TENANT_A).await;
    register(&database, TENANT_B).await;
    let from = "2019-01-15T00:00:00Z".parse().unwrap();
    let to = "2019-03-02T00:00:00Z".parse().unwrap();
    let created = tokenwatch_storage::ensure_event_partitions(&database, from, to)
        .await
        .unwrap();
    assert_eq!(
        created,
        ["events_2019_01", "events_2019_02", "events_2019_03"]
    );

    let mut connection = database.pool().acquire().await.unwrap();
    for (id, time, record) in [
        (TENANT_A, "2019-01-20T10:00:00Z", "r1"),
        (TENANT_A, "2019-02-20T10:00:00Z", "r2"),
        (TENANT_B, "2019-03-01T10:00:00Z", "r3"),
    ] {
        store_event(&mut connection, id, time.parse().unwrap(), record).await;
    }
    drop(connection);
    let mut tx = database.tenant_tx(tenant(TENANT_B)).await.unwrap();
    let records: Vec<String> = sqlx::query_scalar("SELECT record_id FROM events")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(records, ["r3"]);
    let raw: Vec<String> = sqlx::query_scalar("SELECT record_id FROM raw_records")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(raw, ["r3"]);
    tx.commit().await.unwrap();

    // Retention: partition drops, not deletes.
    let before = "2019-03-01T00:00:00Z".parse().unwrap();
    let dropped = tokenwatch_storage::drop_event_partitions_before(&database, before)
        .await
        .unwrap();
    let dropped: Vec<(&str, u64)> = dropped
        .iter()
        .map(|month| (month.partition.as_str(), month.events))
        .collect();
    assert_eq!(dropped, [("events_2019_01", 1), ("events_2019_02", 1)]);
    for table in ["events", "raw_records"] {
        let left: Vec<String> =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT record_id FROM {table}")))
                .fetch_all(database.pool())
                .await
                .unwrap();
        assert_eq!(left, ["r3"], "{table}");
    }
    let partitions: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c \
         WHERE c.relispartition AND c.relkind = 'r' AND c.relname ~ '_2019_' ORDER BY 1",
    )
    .fetch_all(database.pool())
    .await
    .unwrap();
    assert_eq!(partitions, ["events_2019_03", "raw_records_2019_03"]);
    // What was dropped moved from the month tallies to the tenant's retired count, for the
    // pipeline's completeness check.
    let retired: Vec<(uuid::Uuid, i64)> =
        sqlx::query_as("SELECT tenant_id, retired FROM event_counts ORDER BY tenant_id")
            .fetch_all(database.pool())
            .await
            .unwrap();
    assert_eq!(retired, [(tenant(TENANT_A).as_uuid(), 2)]);
    let months: Vec<(uuid::Uuid, i64)> =
        sqlx::query_as("SELECT tenant_id, stored FROM event_month_counts ORDER BY tenant_id")
            .fetch_all(database.pool())
            .await
            .unwrap();
    assert_eq!(months, [(tenant(TENANT_B).as_uuid(), 1)]);
}

#[tokio::test]
async fn removing_a_tenant_removes_its_rows() {
    let database = test_database().await;
    register(&database, TENANT_A).await;
    register(&database, TENANT_B).await;
    quarantine_as_owner(&database, TENANT_A, "a1").await;
    quarantine_as_owner(&database, TENANT_B, "b1").await;
    tokenwatch_storage::delete_tenant(&database, tenant(TENANT_A))
        .await
        .unwrap();
    let left: Vec<String> = sqlx::query_scalar("SELECT reason FROM quarantine")
        .fetch_all(database.pool())
        .await
        .unwrap();
    assert_eq!(left, ["b1"]);
}

/// The schema stays ready to be distributed by tenant (Citus, docs/scaling.md): every primary
/// key, unique constraint or index, and foreign key (both sides) includes `tenant_id`, so each
/// holds within one tenant's shard. The one exception is the retention horizon, a single row
/// every tenant shares (a reference table there).
#[tokio::test]
async fn every_key_includes_the_tenant() {
    let database = test_database().await;
    let keys: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, c.conname::text, c.contype::text \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND c.contype IN ('p', 'u', 'f') AND NOT t.relispartition \
           AND t.relname NOT IN ('_sqlx_migrations', 'event_retention', 'psa_connection') \
           AND NOT EXISTS ( \
             SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.conrelid \
               AND a.attnum = ANY (c.conkey) AND a.attname = 'tenant_id') \
         UNION ALL \
         SELECT c.conrelid::regclass::text, c.conname::text, 'f (referenced)' \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND c.contype = 'f' AND NOT t.relispartition \
           AND NOT EXISTS ( \
             SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.confrelid \
               AND a.attnum = ANY (c.confkey) AND a.attname = 'tenant_id') \
         UNION ALL \
         SELECT i.indrelid::regclass::text, x.relname::text, 'unique index' \
         FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid \
         JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND i.indisunique AND NOT t.relispartition \
           AND t.relname NOT IN ('_sqlx_migrations', 'event_retention', 'psa_connection') \
           AND NOT EXISTS ( \
             SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid \
               AND a.attnum = ANY (i.indkey::int2[]) AND a.attname = 'tenant_id') \
         ORDER BY 1, 2",
    )
    .fetch_all(database.pool())
    .await
    .unwrap();
    assert!(keys.is_empty(), "keys without tenant_id: {keys:#?}");
    // The check looked at the schema's keys, not at nothing.
    let checked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND c.contype IN ('p', 'u', 'f') AND NOT t.relispartition",
    )
    .fetch_one(database.pool())
    .await
    .unwrap();
    assert!(checked > 40, "only {checked} keys found");
}

#[tokio::test]
async fn ingests_racing_to_a_new_month_make_its_partition_once_without_an_error() {
    // Each ingest process makes the months its batch needs; several batches of a new month
    // arrive together (the soak's twelve senders at start found this).
    let database = test_database().await;
    for month in 1..=6 {
        let at: chrono::DateTime<chrono::Utc> =
            format!("2017-{month:02}-10T00:00:00Z").parse().unwrap();
        let racers = (0..8).map(|_| {
            let database = database.clone();
            tokio::spawn(async move {
                tokenwatch_storage::ensure_event_partitions(&database, at, at).await
            })
        });
        for racer in futures::future::join_all(racers).await {
            let made = racer.unwrap().expect("no racer fails");
            assert_eq!(made, [format!("events_2017_{month:02}")]);
        }
    }
}

#[tokio::test]
async fn retention_dropping_a_month_waits_for_an_ingest_instead_of_deadlocking_with_it() {
    // An ingest stores raw records and events, then adds them to its tenant's month tally
    // (`insert_records.sql`); retention once tallied a month before it took `events` to itself
    // for the drop, and the two deadlocked (the hour soak's retention did). It now takes the
    // tables in ingest's order before the tallies, and waits (retrying past its lock timeout).
    let database = test_database().await;
    register(&database, TENANT_A).await;
    let january = "2018-01-10T00:00:00Z".parse().unwrap();
    let march = "2018-03-10T00:00:00Z".parse().unwrap();
    tokenwatch_storage::ensure_event_partitions(&database, january, march)
        .await
        .unwrap();
    let mut connection = database.pool().acquire().await.unwrap();
    store_event(&mut connection, TENANT_A, january, "old").await;
    drop(connection);

    // The ingest has stored its raw record and event...
    let mut ingest = database.pool().begin().await.unwrap();
    store_raw_and_event(&mut ingest, TENANT_A, march, "new").await;
    // ...when retention starts on January...
    let retention = tokio::spawn({
        let database = database.clone();
        let february = "2018-02-01T00:00:00Z".parse().unwrap();
        async move { tokenwatch_storage::drop_event_partitions_before(&database, february).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // ...and the ingest goes on to its tally.
    tally_event(&mut ingest, TENANT_A, march).await;
    ingest.commit().await.unwrap();
    let dropped = retention
        .await
        .unwrap()
        .expect("retention is not chosen as a deadlock's victim");
    assert_eq!(
        dropped,
        [tokenwatch_storage::DroppedMonth {
            partition: "events_2018_01".to_owned(),
            events: 1,
        }]
    );
    let retired: i64 = sqlx::query_scalar("SELECT retired FROM event_counts WHERE tenant_id = $1")
        .bind(tenant(TENANT_A).as_uuid())
        .fetch_one(database.pool())
        .await
        .unwrap();
    assert_eq!(retired, 1, "January's one event is tallied as retired");
    let left: Vec<String> = sqlx::query_scalar("SELECT record_id FROM events")
        .fetch_all(database.pool())
        .await
        .unwrap();
    assert_eq!(left, ["new"]);
}

#[tokio::test]
async fn making_a_month_waits_for_an_ingest_instead_of_deadlocking_with_it() {
    // An ingest's statement takes `raw_records`, then `events`; making a month's partitions
    // locks each parent exclusively. Made events-first, the two deadlocked (the hour soak's
    // ingests, whose event time crosses a month every few minutes, did).
    let database = test_database().await;
    register(&database, TENANT_A).await;
    let may = "2016-05-10T00:00:00Z".parse().unwrap();
    let june: chrono::DateTime<chrono::Utc> = "2016-06-10T00:00:00Z".parse().unwrap();
    tokenwatch_storage::ensure_event_partitions(&database, may, may)
        .await
        .unwrap();

    // The ingest has taken `raw_records`...
    let mut ingest = database.pool().begin().await.unwrap();
    sqlx::query(
        "INSERT INTO raw_records (tenant_id, event_time, record_id, source_format, content) \
         VALUES ($1, $2, 'r1', 'test', '{}')",
    )
    .bind(tenant(TENANT_A).as_uuid())
    .bind(may)
    .execute(&mut *ingest)
    .await
    .unwrap();
    // ...when another process starts making June...
    let maker = tokio::spawn({
        let database = database.clone();
        async move { tokenwatch_storage::ensure_event_partitions(&database, june, june).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // ...and the ingest goes on to `events`.
    sqlx::query(
        "INSERT INTO events (tenant_id, event_time, record_id, source_format, user_id, operation) \
         VALUES ($1, $2, 'r1', 'test', 'alice@contoso.com', 'UserLoggedIn')",
    )
    .bind(tenant(TENANT_A).as_uuid())
    .bind(may)
    .execute(&mut *ingest)
    .await
    .expect("the ingest is not chosen as a deadlock's victim");
    ingest.commit().await.unwrap();
    let made = maker
        .await
        .unwrap()
        .expect("the maker is not chosen as a deadlock's victim");
    assert_eq!(made, ["events_2016_06"]);
    let raw_june: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('raw_records_2016_06')::text")
            .fetch_one(database.pool())
            .await
            .unwrap();
    assert_eq!(raw_june.as_deref(), Some("raw_records_2016_06"));
}
