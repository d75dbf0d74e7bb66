//! End-to-end tests against the Postgres and Redis that `make test` starts.
//!
//! - `auth_matrix`: every RPC of every service × every role × own/other tenant × bad tokens;
//! - `console`: the analyst console in headless Chromium, two analysts, the Graph fake;
//! - `connectors`: tenants' logs pulled from the Microsoft fake into findings, through
//!   crashes, throttling, broken tenants and two replicas;
//! - `credentials`: Graph credentials sealed at rest, never returned;
//! - `errors`: a failure inside any service reaches its caller as a correlation id only;
//! - `ingest`: records in, read back, re-sent, rejected, limited, announced, crash-safe;
//! - `pipeline`: online findings equal the offline scan, however the records arrive;
//! - `psa`: tickets in ConnectWise, Autotask and HaloPSA fakes, through a crash and an outage;
//! - `redis_cluster`: the pipeline against a three-node Redis Cluster;
//! - `reports`: a simulated month's report, made by the monthly job, rendered by poppler;
//! - `retention`: a month dropped, refused again, and the pipeline still complete;
//! - `storage`: migrations, primary keys, row-level security, partitions;
//! - `serving`: health per service, reflection v1 and v1alpha, graceful shutdown;
//! - `tenants`: the tenant registry over gRPC.

// The benchmarks' harness shares this package's dev-dependencies.
use criterion as _;
use futures as _;
use serde_json as _;
use tracing as _;
use tracing_subscriber as _;

mod auth_matrix;
mod backup;
mod connectors;
mod console;
mod credentials;
mod errors;
mod faults;
mod feedback;
mod ingest;
mod limits;
mod pipeline;
mod psa;
mod redis_cluster;
mod reports;
mod response;
mod retention;
mod serving;
mod storage;
mod tenants;

/// Two tenants for every test that needs a pair.
pub(crate) const TENANT_A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
pub(crate) const TENANT_B: &str = "bbbbbbbb-0000-4000-8000-000000000002";
