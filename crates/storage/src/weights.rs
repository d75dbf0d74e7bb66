//! Versioned weight sets per tenant: the highest version is in force.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use tokenwatch_core::detect::Feature;
use tokenwatch_types::TenantId;

use crate::{StorageError, StorageResult, TenantTx};

/// One version of a tenant's weights.
#[derive(Debug, Clone)]
pub struct WeightVersion {
    /// Version, from 1.
    pub version: i64,
    /// Weight per feature.
    pub weights: BTreeMap<Feature, f64>,
    /// Score threshold.
    pub threshold: f64,
    /// Why this version exists.
    pub reason: String,
    /// Who made it.
    pub created_by: String,
    /// Verdict-driven updates leave a pinned version alone.
    pub pinned: bool,
    /// The version it was derived from (0 for the first).
    pub parent_version: i64,
    /// When.
    pub create_time: DateTime<Utc>,
}

impl WeightVersion {
    /// The global defaults, as the version a tenant without its own is on (version 1, never
    /// stored).
    pub fn defaults() -> Self {
        let defaults = tokenwatch_core::detect::WeightSet::default();
        WeightVersion {
            version: defaults.version,
            weights: defaults.weights,
            threshold: defaults.threshold,
            reason: "defaults".to_owned(),
            created_by: "tokenwatch".to_owned(),
            pinned: false,
            parent_version: 0,
            create_time: DateTime::UNIX_EPOCH,
        }
    }

    /// On the wire, as both the detection and the feedback service answer with it.
    pub fn to_proto(&self, tenant: TenantId) -> tokenwatch_proto::common::v1::WeightSet {
        tokenwatch_proto::common::v1::WeightSet {
            tenant_id: tenant.to_string(),
            version: self.version,
            weights: self
                .weights
                .iter()
                .map(|(feature, weight)| (feature.to_string(), *weight))
                .collect(),
            threshold: self.threshold,
            reason: self.reason.clone(),
            create_time: Some(tokenwatch_proto::to_timestamp(self.create_time)),
            created_by: self.created_by.clone(),
            pinned: self.pinned,
            parent_version: self.parent_version,
        }
    }

    /// As the engine's weight set.
    pub fn weight_set(&self) -> tokenwatch_core::detect::WeightSet {
        tokenwatch_core::detect::WeightSet {
            version: self.version,
            weights: self.weights.clone(),
            threshold: self.threshold,
        }
    }
}

/// The version in force: the newest stored, else the defaults.
pub async fn current_or_defaults(tx: &mut TenantTx) -> StorageResult<WeightVersion> {
    Ok(current_weights(tx)
        .await?
        .unwrap_or_else(WeightVersion::defaults))
}

type Row = (
    i64,
    sqlx::types::Json<BTreeMap<Feature, f64>>,
    f64,
    String,
    String,
    bool,
    i64,
    DateTime<Utc>,
);

fn of_row(row: Row) -> WeightVersion {
    let (version, weights, threshold, reason, created_by, pinned, parent_version, create_time) =
        row;
    WeightVersion {
        version,
        weights: weights.0,
        threshold,
        reason,
        created_by,
        pinned,
        parent_version,
        create_time,
    }
}

const COLUMNS: &str =
    "version, weights, threshold, reason, created_by, pinned, parent_version, create_time";

/// The version in force, or `None` while the tenant uses the defaults.
pub async fn current_weights(tx: &mut TenantTx) -> StorageResult<Option<WeightVersion>> {
    let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM weight_sets WHERE tenant_id = tokenwatch_current_tenant() \
         ORDER BY version DESC LIMIT 1"
    )))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(of_row))
}

/// Versions, newest first: a page after `before` (exclusive; from the newest when `None`).
pub async fn list_versions(
    tx: &mut TenantTx,
    before: Option<i64>,
    page_size: usize,
) -> StorageResult<(Vec<WeightVersion>, Option<i64>)> {
    let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM weight_sets WHERE tenant_id = tokenwatch_current_tenant() \
           AND ($1::bigint IS NULL OR version < $1) \
         ORDER BY version DESC LIMIT $2"
    )))
    .bind(before)
    .bind(page_size as i64 + 1)
    .fetch_all(&mut **tx)
    .await?;
    let mut versions: Vec<WeightVersion> = rows.into_iter().map(of_row).collect();
    let next = if versions.len() > page_size {
        versions.truncate(page_size);
        versions.last().map(|v| v.version)
    } else {
        None
    };
    Ok((versions, next))
}

/// One version.
pub async fn weights_version(tx: &mut TenantTx, version: i64) -> StorageResult<WeightVersion> {
    let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM weight_sets \
         WHERE tenant_id = tokenwatch_current_tenant() AND version = $1"
    )))
    .bind(version)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(of_row).ok_or_else(|| StorageError::NotFound {
        kind: "weight set version",
        id: version.to_string(),
    })
}

/// Stores a new version (its number must be the next one: a concurrent writer fails with
/// ALREADY_EXISTS rather than overwrite), audited.
pub async fn insert_weights(tx: &mut TenantTx, weights: &WeightVersion) -> StorageResult<()> {
    let inserted = sqlx::query(
        "INSERT INTO weight_sets (tenant_id, version, weights, threshold, reason, created_by, \
                                  pinned, parent_version) \
         VALUES (tokenwatch_current_tenant(), $1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (tenant_id, version) DO NOTHING",
    )
    .bind(weights.version)
    .bind(sqlx::types::Json(&weights.weights))
    .bind(weights.threshold)
    .bind(&weights.reason)
    .bind(&weights.created_by)
    .bind(weights.pinned)
    .bind(weights.parent_version)
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(StorageError::AlreadyExists {
            kind: "weight set version",
            id: weights.version.to_string(),
        });
    }
    sqlx::query(
        "INSERT INTO audit_log (tenant_id, actor, action, object_kind, object_id, details) \
         VALUES (tokenwatch_current_tenant(), $1, 'weights.set', 'weight_set', $2, $3)",
    )
    .bind(&weights.created_by)
    .bind(weights.version.to_string())
    .bind(serde_json::json!({
        "weights": weights.weights,
        "threshold": weights.threshold,
        "reason": weights.reason,
        "pinned": weights.pinned,
        "parent_version": weights.parent_version,
    }))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
