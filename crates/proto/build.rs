//! Compiles every proto package with protox (no system protoc) and generates the tonic code
//! into `OUT_DIR`, together with one encoded descriptor set for reflection.

use std::path::PathBuf;

use prost::Message;

const PROTO_ROOT: &str = "../../proto";
const PACKAGES: &[&str] = &[
    "common",
    "tenant",
    "ingest",
    "baseline",
    "detection",
    "response",
    "feedback",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files: Vec<PathBuf> = PACKAGES
        .iter()
        .map(|package| {
            PathBuf::from(format!(
                "{PROTO_ROOT}/tokenwatch/{package}/v1/{package}.proto"
            ))
        })
        .collect();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let descriptors = protox::compile(&files, [PROTO_ROOT])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("tokenwatch_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
