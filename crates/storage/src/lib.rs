//! Postgres, the system of record.
//!
//! Two kinds of transaction exist. A tenant transaction ([`Database::tenant_tx`]) first assumes
//! the `tokenwatch_app` role and sets `app.tenant_id`, so row-level security confines every
//! statement to that tenant even if the SQL forgets its `WHERE tenant_id = ...`. An owner
//! transaction ([`Database::owner_tx`]) is for the few operations that span tenants by nature:
//! the tenant registry and partition maintenance.
//!
//! # Layout
//!
//! - `database`: [`Database`] (pool, creation, migrations, transactions);
//! - `tenants`: the tenant registry ([`Tenant`], [`TenantPage`]);
//! - `partitions`: monthly partitions of `events`;
//! - `retention`: deleting what is older than the operator keeps;
//! - `ingest`: raw records, events and quarantine, written together;
//! - `events`: stored events read back in the engine's order;
//! - `engine_state`: generations of the detection engine's state;
//! - `findings`: findings, their status workflow and history;
//! - `incidents`: one per tenant and user, grouping the user's findings;
//! - `page`: keyset page tokens;
//! - `feed`: finding changes as they commit ([`Feed`]);
//! - `weights`: versioned weight sets;
//! - `verdicts`: analysts' verdicts;
//! - `suppressions`: contexts marked as expected;
//! - `connectors`: the connectors' leases, checkpoints and status;
//! - `credentials`: customer tenants' Graph credentials, sealed;
//! - `actions`: response actions and each tenant's response policy;
//! - `audit`: the append-only audit log;
//! - `notifications`: the webhook outbox, webhooks and deliveries;
//! - `psa`: the MSP's PSA connection, tenants' companies, incidents' tickets, delivery cursors;
//! - `reports`: a tenant's month gathered for its report, and the reports kept;
//! - `error`: [`StorageError`], [`StorageResult`].

pub mod actions;
pub mod audit;
pub mod connectors;
pub mod credentials;
mod database;
pub mod engine_state;
mod error;
pub mod events;
mod feed;
pub mod findings;
pub mod incidents;
pub mod ingest;
pub mod notifications;
mod page;
mod partitions;
pub mod psa;
pub mod reports;
pub mod retention;
pub mod suppressions;
mod tenants;
pub mod verdicts;
pub mod weights;

pub use database::{Database, OwnerTx, TenantTx};
pub use error::{StorageError, StorageResult};
pub use feed::{Announcement, Feed};
pub use partitions::{DroppedMonth, drop_event_partitions_before, ensure_event_partitions};
pub use tenants::{
    Sources, Tenant, TenantPage, create_tenant, delete_tenant, get_tenant, list_tenants,
    set_sources, tenant_ids,
};

/// The embedded migrations, applied by `tokenwatch migrate` and at `serve` start.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
