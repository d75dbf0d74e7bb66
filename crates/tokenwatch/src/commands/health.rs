//! `tokenwatch health`: does a server answer health for every service it hosts?

use std::time::{Duration, Instant};

use clap::Args;
use tokenwatch_config::ClientConfig;
use tokenwatch_grpc::AuthedChannel;
use tokenwatch_server::ServiceName;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::output;

#[derive(Debug, Args)]
pub(crate) struct HealthArgs {
    /// Services to check; every tokenwatch service when omitted.
    #[arg(long, value_delimiter = ',')]
    pub(crate) services: Vec<ServiceName>,

    /// Keep trying until healthy or this long has passed (e.g. 30s); once when omitted.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub(crate) wait: Option<Duration>,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

/// Checks health once; returns each service's status, or why the server could not be asked.
async fn check(url: &str, names: &[&str]) -> anyhow::Result<Vec<(String, String)>> {
    // Health needs no token; the channel type is shared with the other commands.
    let channel: AuthedChannel = tokenwatch_grpc::connect(url, None).await?;
    let mut client = HealthClient::new(channel);
    let mut statuses = Vec::new();
    for name in names {
        let status = match client
            .check(HealthCheckRequest {
                service: (*name).to_owned(),
            })
            .await
        {
            Ok(answer) => answer.into_inner().status().as_str_name().to_owned(),
            Err(status) if status.code() == tokenwatch_proto::Code::NotFound => {
                "NOT_HOSTED".to_owned()
            }
            Err(status) => return Err(status.into()),
        };
        statuses.push((name.to_string(), status));
    }
    Ok(statuses)
}

/// Prints each service's health; fails unless all asked for are serving.
pub(crate) async fn run(args: HealthArgs) -> anyhow::Result<()> {
    let mut names = vec!["tokenwatch.tenant.v1.TenantService"];
    if args.services.is_empty() {
        names.extend(ServiceName::ALL.map(ServiceName::grpc_name));
    } else {
        names.extend(args.services.iter().map(|s| s.grpc_name()));
    }
    let deadline = Instant::now() + args.wait.unwrap_or_default();
    let serving = ServingStatus::Serving.as_str_name();
    loop {
        let result = check(&args.client.server, &names).await;
        let healthy = matches!(&result, Ok(statuses) if statuses.iter().all(|(_, s)| s == serving));
        if healthy || Instant::now() >= deadline {
            let statuses = result?;
            let rows: Vec<Vec<String>> = statuses
                .iter()
                .map(|(name, status)| vec![name.clone(), status.clone()])
                .collect();
            output::table(&["SERVICE", "STATUS"], &rows)?;
            anyhow::ensure!(healthy, "not every service is serving");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
