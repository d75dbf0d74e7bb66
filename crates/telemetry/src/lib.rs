//! Telemetry set-up in one place: [`init_logging`] installs the `tracing` subscriber (JSON or
//! pretty, filtered), [`serve_metrics`] starts the Prometheus endpoint on its own HTTP port.
//! What is measured is declared where it is measured (the gRPC layer, the services).
//!
//! Logs go to stderr, so client commands keep stdout for their output.

use std::io::IsTerminal;
use std::net::SocketAddr;

use metrics_exporter_prometheus::PrometheusBuilder;
use tokenwatch_config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter does not parse.
    #[error("invalid log filter {filter:?}: {reason}")]
    Filter {
        /// The filter given.
        filter: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The metrics endpoint could not start (port in use...).
    #[error("cannot serve metrics on {address}: {reason}")]
    Metrics {
        /// The address asked for.
        address: SocketAddr,
        /// Why it failed.
        reason: String,
    },
}

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init_logging(config: &LogConfig) -> Result<(), TelemetryError> {
    let filter = EnvFilter::try_new(&config.log).map_err(|e| TelemetryError::Filter {
        filter: config.log.clone(),
        reason: e.to_string(),
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // try_init: a second call (tests) keeps the first subscriber instead of panicking.
    let _ = match config.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
    Ok(())
}

/// Installs the global metrics recorder and serves it at `http://address/metrics`.
/// Must run inside a tokio runtime.
pub fn serve_metrics(address: SocketAddr) -> Result<(), TelemetryError> {
    PrometheusBuilder::new()
        .with_http_listener(address)
        .install()
        .map_err(|e| TelemetryError::Metrics {
            address,
            reason: e.to_string(),
        })?;
    tracing::info!(%address, "serving metrics");
    Ok(())
}
