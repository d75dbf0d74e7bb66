//! A JWKS document, as an identity provider's keys endpoint might serve it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenwatch_auth::Verifier;

fuzz_target!(|data: &[u8]| {
    let mut builder = Verifier::builder("tokenwatch-fuzz", "tokenwatch");
    if builder.jwks_json("fuzz", data).is_ok() {
        let _ = builder.build();
    }
});
