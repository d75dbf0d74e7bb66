//! One round of one tenant, under its lease: open its credentials, then pull each source it has
//! switched on from its checkpoint, window by window, feeding every blob or page to ingest
//! before moving the checkpoint (in a transaction fenced on the lease).

use std::time::Instant;

use chrono::{DateTime, Utc};
use tokenwatch_core::event::SourceFormat;
use tokenwatch_graph::{CONTENT_TYPES, Content, Credentials, GraphError, MAX_WINDOW, RETENTION};
use tokenwatch_ingestor::IngestError;
use tokenwatch_storage::connectors::{self as state, Pulled};
use tokenwatch_storage::{StorageError, TenantTx, credentials};
use tokenwatch_types::TenantId;

use crate::Shared;
use crate::plan::{self, SIGN_IN_SOURCES, SIGN_IN_WINDOW};

/// Why a round stopped early.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The lease is no longer ours: stop, write nothing more.
    LeaseLost,
    /// The tenant's credentials or sign-in fail: every source would.
    Tenant(String),
    /// Microsoft throttled the tenant past what the client waits out.
    Throttled(Option<std::time::Duration>, String),
    /// This source failed (a missing permission or licence, an error answer); others go on.
    Source(String),
    /// Our side failed (database, ingest): retry later.
    Internal(String),
}

impl From<StorageError> for Failure {
    fn from(error: StorageError) -> Self {
        Failure::Internal(format!("storage: {error}"))
    }
}

impl Failure {
    fn from_graph(error: GraphError, permission: &str) -> Failure {
        match error {
            GraphError::SignIn { .. } => {
                Failure::Tenant(tokenwatch_graph::explain(&error, permission))
            }
            GraphError::Throttled { retry_after, .. } => {
                Failure::Throttled(retry_after, error.to_string())
            }
            other => Failure::Source(tokenwatch_graph::explain(&other, permission)),
        }
    }

    /// Stops the whole round (not only this source).
    fn ends_round(&self) -> bool {
        !matches!(self, Failure::Source(_))
    }
}

const ACTIVITY_PERMISSION: &str = "ActivityFeed.Read (Office 365 Management APIs)";
const SIGN_IN_PERMISSION: &str = "AuditLog.Read.All (Microsoft Graph)";

/// What a round did.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Sources whose pull reached now (or the budget) without an error.
    pub(crate) succeeded: usize,
    /// The round used its time budget with work left.
    pub(crate) more: bool,
    /// What stopped the round, or the last source's error.
    pub(crate) failure: Option<Failure>,
}

/// Where a source's pull got to.
enum Progress {
    /// Caught up with now.
    Done,
    /// The round's time is up; the rest next round.
    OutOfTime,
}

pub(crate) struct Round<'s> {
    shared: &'s Shared,
    tenant: TenantId,
    deadline: Instant,
}

impl<'s> Round<'s> {
    pub(crate) fn new(shared: &'s Shared, tenant: TenantId) -> Self {
        Round {
            shared,
            tenant,
            deadline: Instant::now() + shared.config.round_budget,
        }
    }

    pub(crate) async fn run(&self) -> Report {
        let mut report = Report::default();
        let (sources, credentials) = match self.open().await {
            Ok(opened) => opened,
            Err(failure) => {
                report.failure = Some(failure);
                return report;
            }
        };
        let mut pulls: Vec<Source> = Vec::new();
        if sources.activity_feed {
            pulls.extend(CONTENT_TYPES.iter().map(|c| Source::Activity(c)));
        }
        if sources.signins {
            pulls.extend(
                SIGN_IN_SOURCES
                    .iter()
                    .map(|(name, kind)| Source::SignIns(name, *kind)),
            );
        }
        if sources.activity_feed
            && let Err(failure) = self.start_subscriptions(&credentials).await
        {
            // Without subscriptions no content type can be listed: each says why.
            for content_type in CONTENT_TYPES {
                self.note_error(content_type, &failure).await;
            }
            let ends = failure.ends_round();
            report.failure = Some(failure);
            if ends {
                return report;
            }
            pulls.retain(|p| !matches!(p, Source::Activity(_)));
        }
        for source in pulls {
            let outcome = match source {
                Source::Activity(content_type) => {
                    self.pull_activity(&credentials, content_type).await
                }
                Source::SignIns(name, kind) => self.pull_sign_ins(&credentials, name, kind).await,
            };
            match outcome {
                Ok(Progress::Done) => report.succeeded += 1,
                Ok(Progress::OutOfTime) => {
                    report.succeeded += 1;
                    report.more = true;
                }
                Err(failure) => {
                    self.note_error(source.name(), &failure).await;
                    let ends = failure.ends_round();
                    report.failure = Some(failure);
                    if ends {
                        return report;
                    }
                }
            }
            if Instant::now() >= self.deadline {
                report.more = true;
                return report;
            }
        }
        report
    }

    /// The tenant's switched-on sources and its credentials, opened.
    async fn open(&self) -> Result<(tokenwatch_storage::Sources, Credentials), Failure> {
        let tenant = tokenwatch_storage::get_tenant(&self.shared.database, self.tenant).await?;
        let mut tx = self.shared.database.tenant_tx(self.tenant).await?;
        let sealed = credentials::get_credentials(&mut tx).await?;
        tx.commit().await.map_err(StorageError::from)?;
        let sealed = sealed.ok_or_else(|| {
            Failure::Tenant(format!(
                "no Microsoft credentials: tokenwatch tenant credentials set --tenant {} ...",
                self.tenant
            ))
        })?;
        let credentials = Credentials::unseal(
            self.shared.sealer.as_deref(),
            &self.tenant.to_string(),
            tokenwatch_graph::Sealed {
                client_id: &sealed.client_id,
                kind: &sealed.kind,
                key_id: &sealed.key_id,
                sealed: &sealed.sealed,
            },
        )
        .map_err(Failure::Tenant)?;
        Ok((tenant.sources, credentials))
    }

    /// Starts the activity feed's subscriptions, once per process and tenant (starting an
    /// enabled one again is harmless, AF20024).
    async fn start_subscriptions(&self, credentials: &Credentials) -> Result<(), Failure> {
        if self.shared.subscribed(self.tenant) {
            return Ok(());
        }
        for content_type in CONTENT_TYPES {
            self.shared.limits.wait(self.tenant).await;
            self.shared
                .client
                .start_subscription(credentials, content_type)
                .await
                .map_err(|e| Failure::from_graph(e, ACTIVITY_PERMISSION))?;
        }
        self.shared.set_subscribed(self.tenant, true);
        Ok(())
    }

    /// One content type of the activity feed: list each window's blobs, fetch and ingest the
    /// ones not ingested before, then move the checkpoint to the window's end.
    async fn pull_activity(
        &self,
        credentials: &Credentials,
        content_type: &str,
    ) -> Result<Progress, Failure> {
        let now = Utc::now();
        let checkpoint = self.checkpoint(content_type).await?;
        let start = plan::start(
            checkpoint,
            now,
            self.shared.config.overlap,
            self.shared.config.backfill,
            Some(RETENTION),
        );
        if let Some((from, to)) = start.gap {
            let gap = Failure::Source(format!(
                "content made available from {from} to {to} expired before it was pulled (the activity API keeps 7 days)"
            ));
            self.note_error(content_type, &gap).await;
        }
        for (from, to) in plan::windows(start.from, now, MAX_WINDOW) {
            self.shared.limits.wait(self.tenant).await;
            let listed = self
                .shared
                .client
                .list_content(credentials, content_type, from, to)
                .await;
            let mut contents = match listed {
                Ok(contents) => contents,
                Err(GraphError::Graph { code, .. }) if code == "AF20022" => {
                    // The subscription was stopped behind our back: start it again next round.
                    self.shared.set_subscribed(self.tenant, false);
                    return Err(Failure::Source(format!(
                        "no subscription to {content_type} (AF20022); it is started again next round"
                    )));
                }
                Err(error) => return Err(Failure::from_graph(error, ACTIVITY_PERMISSION)),
            };
            contents.sort_by(|a, b| a.content_created.cmp(&b.content_created));
            let ids: Vec<String> = contents.iter().map(|c| c.content_id.clone()).collect();
            let done = {
                let mut tx = self.shared.database.tenant_tx(self.tenant).await?;
                let done = state::ingested_contents(&mut tx, content_type, &ids).await?;
                tx.commit().await.map_err(StorageError::from)?;
                done
            };
            for content in contents.iter().filter(|c| !done.contains(&c.content_id)) {
                self.pull_content(credentials, content, start.from).await?;
            }
            let mut tx = self.fenced().await?;
            state::advance(&mut tx, content_type, to).await?;
            tx.commit().await.map_err(StorageError::from)?;
            self.shared.note_checkpoint(self.tenant, content_type, to);
            if Instant::now() >= self.deadline {
                return Ok(Progress::OutOfTime);
            }
        }
        Ok(Progress::Done)
    }

    /// One content blob: fetched, ingested, noted as ingested.
    async fn pull_content(
        &self,
        credentials: &Credentials,
        content: &Content,
        first_checkpoint: DateTime<Utc>,
    ) -> Result<(), Failure> {
        self.shared.limits.wait(self.tenant).await;
        let records = match self
            .shared
            .client
            .fetch_content(credentials, &content.content_uri)
            .await
        {
            Ok(records) => records,
            // Expired between listing and fetching (AF20051): nothing left to get.
            Err(error) if error.is_not_found() => {
                tracing::warn!(tenant = %self.tenant, content = %content.content_id, "content blob expired before it was fetched");
                Vec::new()
            }
            Err(error) => return Err(Failure::from_graph(error, ACTIVITY_PERMISSION)),
        };
        let pulled = self
            .ingest(
                SourceFormat::ManagementActivity,
                &content.content_type,
                &format!("{}:{}", content.content_type, content.content_id),
                records,
            )
            .await?;
        let created = DateTime::parse_from_rfc3339(&content.content_created)
            .map(|t| t.with_timezone(&Utc))
            .or_else(|_| {
                chrono::NaiveDateTime::parse_from_str(
                    &content.content_created,
                    "%Y-%m-%dT%H:%M:%S%.f",
                )
                .map(|t| t.and_utc())
            })
            .unwrap_or_else(|_| Utc::now());
        let mut tx = self.fenced().await?;
        state::content_ingested(
            &mut tx,
            &content.content_type,
            &content.content_id,
            created,
            first_checkpoint,
            pulled,
        )
        .await?;
        tx.commit().await.map_err(StorageError::from)?;
        Ok(())
    }

    /// One kind of sign-ins: each window a page at a time, every page ingested before the
    /// next is asked for; the checkpoint moves at the window's end.
    async fn pull_sign_ins(
        &self,
        credentials: &Credentials,
        source: &str,
        kind: tokenwatch_graph::SignInKind,
    ) -> Result<Progress, Failure> {
        let now = Utc::now();
        let checkpoint = self.checkpoint(source).await?;
        let start = plan::start(
            checkpoint,
            now,
            self.shared.config.overlap,
            self.shared.config.signin_backfill,
            None,
        );
        for (from, to) in plan::windows(start.from, now, SIGN_IN_WINDOW) {
            let mut pages = self
                .shared
                .client
                .sign_in_pages(credentials, kind, from, to)
                .map_err(|e| Failure::from_graph(e, SIGN_IN_PERMISSION))?;
            loop {
                self.shared.limits.wait(self.tenant).await;
                let page = pages
                    .next_page()
                    .await
                    .map_err(|e| Failure::from_graph(e, SIGN_IN_PERMISSION))?;
                let Some(page) = page else { break };
                if page.is_empty() {
                    continue;
                }
                let pulled = self
                    .ingest(SourceFormat::GraphSignIns, source, source, page)
                    .await?;
                let mut tx = self.fenced().await?;
                state::add_pulled(&mut tx, source, start.from, pulled).await?;
                tx.commit().await.map_err(StorageError::from)?;
            }
            let mut tx = self.fenced().await?;
            state::advance(&mut tx, source, to).await?;
            tx.commit().await.map_err(StorageError::from)?;
            self.shared.note_checkpoint(self.tenant, source, to);
            if Instant::now() >= self.deadline {
                return Ok(Progress::OutOfTime);
            }
        }
        Ok(Progress::Done)
    }

    /// Feeds records to ingest as one document (waiting out the tenant's ingest rate).
    async fn ingest(
        &self,
        format: SourceFormat,
        source: &str,
        source_name: &str,
        records: Vec<serde_json::Value>,
    ) -> Result<Pulled, Failure> {
        if records.is_empty() {
            return Ok(Pulled::default());
        }
        let count = records.len() as i64;
        let document = match format {
            SourceFormat::GraphSignIns => serde_json::json!({ "value": records }),
            _ => serde_json::Value::Array(records),
        };
        let content = serde_json::to_vec(&document)
            .map_err(|e| Failure::Internal(format!("cannot encode the records: {e}")))?;
        let tally = loop {
            match self
                .shared
                .ingestor
                .ingest(self.tenant, format, source_name, content.clone())
                .await
            {
                Ok(tally) => break tally,
                Err(IngestError::OverRate { .. }) if Instant::now() < self.deadline => {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                Err(error) => return Err(Failure::Internal(error.to_string())),
            }
        };
        self.shared.note_records(self.tenant, source, tally);
        Ok(Pulled {
            records: count,
            new: i64::try_from(tally.accepted).unwrap_or(i64::MAX),
            rejected: i64::try_from(tally.rejected).unwrap_or(i64::MAX),
        })
    }

    async fn checkpoint(&self, source: &str) -> Result<Option<DateTime<Utc>>, Failure> {
        let mut tx = self.shared.database.tenant_tx(self.tenant).await?;
        let checkpoint = state::checkpoint(&mut tx, source).await?;
        tx.commit().await.map_err(StorageError::from)?;
        Ok(checkpoint)
    }

    /// A transaction that holds only while our lease does.
    async fn fenced(&self) -> Result<TenantTx, Failure> {
        state::fenced(
            &self.shared.database,
            self.tenant,
            &self.shared.holder,
            self.shared.config.lease,
        )
        .await?
        .ok_or(Failure::LeaseLost)
    }

    /// Records a source's error in its status (not when the lease is gone: not ours to say).
    async fn note_error(&self, source: &str, failure: &Failure) {
        let (message, throttled) = match failure {
            Failure::LeaseLost => return,
            Failure::Tenant(m) | Failure::Source(m) | Failure::Internal(m) => (m.as_str(), false),
            Failure::Throttled(_, m) => (m.as_str(), true),
        };
        tracing::warn!(tenant = %self.tenant, source, error = message, "connector pull failed");
        metrics::counter!(
            "connector_pull_errors_total",
            "tenant" => self.tenant.to_string(),
            "source" => source.to_owned(),
            "throttled" => if throttled { "true" } else { "false" }
        )
        .increment(1);
        let written: Result<(), Failure> = async {
            let mut tx = self.fenced().await?;
            let checkpoint = state::checkpoint(&mut tx, source)
                .await?
                .unwrap_or_else(|| Utc::now() - self.shared.config.backfill);
            state::record_error(&mut tx, source, checkpoint, message, throttled).await?;
            tx.commit().await.map_err(StorageError::from)?;
            Ok(())
        }
        .await;
        if let Err(error) = written {
            tracing::warn!(tenant = %self.tenant, source, ?error, "cannot record the connector's error");
        }
    }
}

/// A source of a tenant.
#[derive(Debug, Clone, Copy)]
enum Source {
    Activity(&'static str),
    SignIns(&'static str, tokenwatch_graph::SignInKind),
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Activity(name) | Source::SignIns(name, _) => name,
        }
    }
}
