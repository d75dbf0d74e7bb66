//! A document declared as `SourceFormat::AzureMonitor`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenwatch_core::event::SourceFormat;

fuzz_target!(|data: &[u8]| {
    tokenwatch_fuzz::check_document(data, Some(SourceFormat::AzureMonitor));
});
