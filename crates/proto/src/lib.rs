//! The gRPC contracts of tokenwatch, generated from `proto/` at build time, and the stack they
//! are built on (`tonic`, `prost`), re-exported so every crate uses the same versions.
//!
//! # Layout
//!
//! - one module per proto package, mirroring `proto/tokenwatch/<package>/v1/`:
//!   [`common`], [`tenant`], [`ingest`], [`baseline`], [`detection`], [`response`], [`feedback`];
//! - [`FILE_DESCRIPTOR_SET`]: the encoded descriptors of every package (and the well-known types
//!   they import), for server reflection and for tests that enumerate every RPC;
//! - [`SERVICE_NAMES`]: the fully qualified name of every service, for health reporting;
//! - `convert`: hand-written conversions between domain types and messages.

mod convert;

pub use convert::{
    action_state_from_proto, action_state_to_proto, finding_status_from_proto,
    finding_status_to_proto, from_timestamp, severity_from_proto, severity_to_proto, to_timestamp,
};

pub use prost;
pub use prost_types;
pub use tonic;
pub use tonic::{Code, Status};

/// Encoded `FileDescriptorSet` of every tokenwatch proto file and its imports.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/tokenwatch_descriptor.bin"));

/// Shared types: severities, statuses, contexts, weight sets.
pub mod common {
    /// Version 1.
    #[allow(clippy::all, clippy::clone_on_ref_ptr, missing_debug_implementations)]
    pub mod v1 {
        tonic::include_proto!("tokenwatch.common.v1");
    }
}

/// The registry of customer tenants.
pub mod tenant {
    /// Version 1.
    #[allow(clippy::all, clippy::clone_on_ref_ptr, missing_debug_implementations)]
    pub mod v1 {
        tonic::include_proto!("tokenwatch.tenant.v1");
    }
}

/// Record ingestion.
pub mod ingest {
    /// Version 1.
    #[allow(clippy::all, clippy::clone_on_ref_ptr, missing_debug_implementations)]
    pub mod v1 {
        tonic::include_proto!("tokenwatch.ingest.v1");
    }
}

/// User baselines.
pub mod baseline {
    /// Version 1.
    #[allow(clippy::all, clippy::clone_on_ref_ptr, missing_debug_implementations)]
    pub mod v1 {
        tonic::include_proto!("tokenwatch.baseline.v1");
    }
}

/// Findings and scoring.
pub mod detection {
    /// Version 1.
    #[allow(clippy::all, clippy::clone_on_ref_ptr, missing_debug_implementations)]
    pub mod v1 {
        tonic::include_proto!("tokenwatch.detection.v1");
    }
}

/// Response actions through Microsoft Graph.
pub mod response {
    /// Version 1.
    #[allow(clippy::all, clippy::clone_on_ref_ptr, missing_debug_implementations)]
    pub mod v1 {
        tonic::include_proto!("tokenwatch.response.v1");
    }
}

/// Verdicts, weight history and suppressions.
pub mod feedback {
    /// Version 1.
    #[allow(clippy::all, clippy::clone_on_ref_ptr, missing_debug_implementations)]
    pub mod v1 {
        tonic::include_proto!("tokenwatch.feedback.v1");
    }
}

/// Fully qualified names of every tokenwatch gRPC service, as health and reflection report them.
pub const SERVICE_NAMES: &[&str] = &[
    "tokenwatch.tenant.v1.TenantService",
    "tokenwatch.ingest.v1.IngestService",
    "tokenwatch.baseline.v1.BaselineService",
    "tokenwatch.detection.v1.DetectionService",
    "tokenwatch.response.v1.ResponseService",
    "tokenwatch.feedback.v1.FeedbackService",
];

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn descriptor_set_holds_every_service() {
        let set = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).unwrap();
        let mut names: Vec<String> = set
            .file
            .iter()
            .flat_map(|file| {
                let package = file.package().to_owned();
                file.service
                    .iter()
                    .map(move |service| format!("{package}.{}", service.name()))
            })
            .collect();
        names.sort();
        let mut expected: Vec<String> = SERVICE_NAMES.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(names, expected);
    }

    #[test]
    fn every_tenant_scoped_request_carries_tenant_id_first() {
        // Auth checks, and the auth matrix test, rely on this convention.
        let set = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).unwrap();
        for file in set
            .file
            .iter()
            .filter(|f| f.package().starts_with("tokenwatch."))
        {
            for service in &file.service {
                for method in &service.method {
                    let input = method.input_type().rsplit('.').next().unwrap();
                    if matches!(
                        input,
                        // Lists what the caller may see, names no tenant.
                        "ListTenantsRequest"
                        // The MSP's one PSA connection, not any tenant's (msp_admin only).
                        | "SetPsaConnectionRequest"
                        | "GetPsaConnectionRequest"
                        | "TestPsaConnectionRequest"
                        | "ListPsaCompaniesRequest"
                    ) {
                        continue;
                    }
                    let message = file
                        .message_type
                        .iter()
                        .find(|m| m.name() == input)
                        .unwrap_or_else(|| panic!("{input} is not in {}", file.name()));
                    let first = &message.field[0];
                    assert_eq!(
                        (first.name(), first.number()),
                        ("tenant_id", 1),
                        "{input} must carry tenant_id as field 1"
                    );
                }
            }
        }
    }
}
