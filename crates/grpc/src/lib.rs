//! Everything about serving and calling gRPC that is the same for every service.
//!
//! # Layout
//!
//! - `server`: [`ServiceSet`] collects the services a process hosts; [`serve`] runs them on one
//!   listener with health (per service), reflection (v1 and v1alpha), connection ageing, and a
//!   graceful shutdown that reports NOT_SERVING before draining;
//! - `observe`: the tower layer that opens a span per RPC (with `rpc`, `tenant_id`, `subject`)
//!   and records request counts and latencies;
//! - `client`: [`connect`] and the [`BearerToken`] interceptor for client commands;
//! - [`configure_service!`]: message-size limits and compression, applied to every service.

mod client;
mod observe;
mod server;

pub use client::{AuthedChannel, BearerToken, ClientError, connect};
pub use observe::ObserveLayer;
pub use server::{Background, GrpcError, SHUTDOWN_GRACE, ServiceSet, serve};

/// Largest message a service accepts or sends: an ingest document may be a large export.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Applies the message-size limits and gzip compression every tokenwatch service uses to a
/// generated `XxxServiceServer`.
#[macro_export]
macro_rules! configure_service {
    ($server:expr) => {
        $server
            .max_decoding_message_size($crate::MAX_MESSAGE_BYTES)
            .max_encoding_message_size($crate::MAX_MESSAGE_BYTES)
            .accept_compressed(::tokenwatch_proto::tonic::codec::CompressionEncoding::Gzip)
            .send_compressed(::tokenwatch_proto::tonic::codec::CompressionEncoding::Gzip)
    };
}

/// Default page size of every `List*` RPC (AIP-158).
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Largest page size of every `List*` RPC; larger requests are capped, not refused.
pub const MAX_PAGE_SIZE: usize = 1000;

/// Reads a request's `page_size`: 0 means the default, above the maximum is capped, negative is
/// INVALID_ARGUMENT.
pub fn page_size(requested: i32) -> Result<usize, tokenwatch_proto::Status> {
    match usize::try_from(requested) {
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(size) => Ok(size.min(MAX_PAGE_SIZE)),
        Err(_) => Err(tokenwatch_error::invalid_argument(
            "page_size",
            "must not be negative",
        )),
    }
}
