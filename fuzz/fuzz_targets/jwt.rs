//! Bearer tokens against a verifier holding every kind of key the server accepts: whatever
//! the token, an answer and no panic; a forged token is never accepted.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use tokenwatch_auth::Verifier;

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/auth/testdata/");

/// The development secret of the seed tokens (fuzz/seeds/jwt).
const SECRET: &[u8] = b"fuzzing-development-secret-0123456789abcdef";

static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    let read = |name: &str| std::fs::read(format!("{TESTDATA}{name}")).unwrap();
    let mut builder = Verifier::builder("tokenwatch-fuzz", "tokenwatch");
    builder
        .public_key_pem("rsa", &read("rsa_public.pem"), Some("rsa".to_owned()))
        .unwrap()
        .public_key_pem("ec", &read("ec_public.pem"), None)
        .unwrap()
        .jwks_json("jwks", &read("jwks.json"))
        .unwrap()
        .development_secret(SECRET)
        .unwrap();
    builder.build().unwrap()
});

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(claims) = VERIFIER.verify(token) {
        // Only a token signed with the secret can pass: the seeds carry subject "seed".
        assert_eq!(
            claims.subject, "seed",
            "a forged token was accepted: {token}"
        );
    }
});
