//! Monthly reports: made on request, and once per tenant on the first of each month for the
//! month before — kept, so the customer's copy never changes, and announced to webhooks
//! (`report.monthly`).

use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use tokenwatch_report::MonthlyReport;
use tokenwatch_storage::reports::{self, StoredReport, month_bounds};
use tokenwatch_storage::{Database, StorageError, notifications};
use tokenwatch_types::TenantId;

/// How often the monthly job looks for reports to make.
const EVERY: Duration = Duration::from_secs(3600);

/// The month before `now`'s, as `YYYY-MM`.
pub(crate) fn previous_month(now: DateTime<Utc>) -> String {
    let (year, month) = if now.month() == 1 {
        (now.year() - 1, 12)
    } else {
        (now.year(), now.month() - 1)
    };
    format!("{year:04}-{month:02}")
}

/// The month's report: kept if the month is over and it was made, else made now (and kept,
/// when the month is over).
pub(crate) async fn report(
    database: &Database,
    tenant: TenantId,
    month: &str,
    now: DateTime<Utc>,
) -> Result<(StoredReport, bool), StorageError> {
    let bounds = month_bounds(month).expect("a month checked by the caller");
    let mut tx = database.tenant_tx(tenant).await?;
    if let Some(kept) = reports::kept(&mut tx, month).await? {
        return Ok((kept, true));
    }
    let name = tokenwatch_storage::get_tenant(database, tenant)
        .await?
        .display_name;
    let facts = reports::gather(&mut tx, &name, (month, bounds), now).await?;
    let made = stored(&facts);
    let over = bounds.1 <= now;
    if over && reports::keep(&mut tx, &made).await? {
        announce(&mut tx, &facts).await?;
    }
    tx.commit().await?;
    Ok((made, over))
}

fn stored(facts: &MonthlyReport) -> StoredReport {
    StoredReport {
        month: facts.month.clone(),
        facts: serde_json::to_value(facts).unwrap_or_default(),
        html: facts.to_html(),
        pdf: facts.to_pdf(),
        create_time: facts.generated_at,
    }
}

/// Tells webhooks a month's report is ready.
async fn announce(
    tx: &mut tokenwatch_storage::TenantTx,
    facts: &MonthlyReport,
) -> Result<(), StorageError> {
    let findings: i64 = facts.findings_by_severity.values().sum();
    notifications::enqueue(
        tx,
        &format!("report:{}", facts.month),
        "report.monthly",
        "",
        &serde_json::json!({
            "month": facts.month,
            "tenant_name": facts.tenant_name,
            "sessions_watched": facts.sessions_watched,
            "findings": findings,
            "findings_by_severity": facts.findings_by_severity,
            "confirmed": facts.outcomes.get("true_positive").copied().unwrap_or(0),
            "fetch": format!(
                "tokenwatch report --tenant {} --month {} --format pdf --out report.pdf",
                facts.tenant_id, facts.month
            ),
        }),
    )
    .await
}

/// Makes last month's report for every tenant that lacks it, hourly, until `stop`.
pub(crate) async fn monthly(database: Database, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = async { stop.wait_for(|stop| *stop).await.map(|_| ()) } => return,
            _ = tick.tick() => {
                if let Err(error) = make_due(&database, Utc::now()).await {
                    tracing::warn!(%error, "monthly reports: a round failed; trying next hour");
                }
            }
        }
    }
}

/// One round: last month's report for each tenant without it.
pub(crate) async fn make_due(
    database: &Database,
    now: DateTime<Utc>,
) -> Result<usize, StorageError> {
    let month = previous_month(now);
    let mut made = 0;
    for tenant in tokenwatch_storage::tenant_ids(database).await? {
        let mut tx = database.tenant_tx(tenant).await?;
        let done = reports::kept(&mut tx, &month).await?.is_some();
        tx.commit().await?;
        if !done {
            report(database, tenant, &month, now).await?;
            tracing::info!(%tenant, %month, "monthly report made");
            made += 1;
        }
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_month_wraps_at_the_year() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(previous_month(at("2026-12-01T00:00:00Z")), "2026-11");
        assert_eq!(previous_month(at("2027-01-15T10:00:00Z")), "2026-12");
    }
}
