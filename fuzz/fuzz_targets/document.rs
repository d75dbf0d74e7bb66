//! A document of no declared format: each record's format is recognized from its fields.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tokenwatch_fuzz::check_document(data, None);
});
