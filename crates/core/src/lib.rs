//! The tokenwatch engine: pure library code with no I/O, shared by the services and the offline
//! scanner so both produce the same answers for the same input.
//!
//! # Layout
//!
//! - [`parse`]: documents in every supported Microsoft 365 / Entra export format, split into
//!   records, each normalized into an [`event::NormalizedEvent`] or rejected with a
//!   [`parse::RejectReason`];
//! - [`event`]: the one internal event type every format becomes;
//! - [`ip`]: IP address clean-up (ports, brackets, IPv4-mapped IPv6) and prefixes;
//! - [`time`]: the timestamp spellings the exports use;
//! - [`useragent`]: user agent → browser, OS and client kind;
//! - [`enrich`]: IP → ASN, AS organisation, country, hosting flag;
//! - [`detect`]: sessions, baselines, features, scoring, findings.

pub mod detect;
pub mod enrich;
pub mod event;
pub mod ip;
pub mod parse;
pub mod time;
pub mod useragent;

// The benchmarks' harness, linked into the unit tests too.
#[cfg(test)]
use criterion as _;
#[cfg(test)]
use tokenwatch_simulate as _;
