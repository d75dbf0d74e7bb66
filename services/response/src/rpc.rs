//! The response service's RPCs, one module per concern; `lib.rs` dispatches to them.

pub(crate) mod actions;
pub(crate) mod psa;
pub(crate) mod settings;
