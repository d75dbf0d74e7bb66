// Benchmarks link every dependency of the package; only some are used here.
#![allow(unused_crate_dependencies)]

//! Cost of the auth gate every RPC passes: token verification per algorithm, and the role and
//! tenant check. `cargo bench -p tokenwatch-auth`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tokenwatch_auth::{
    AuthInterceptor, CallerLimits, Permission, Role, Signer, Verifier, authorize,
};
use tokenwatch_proto::tonic::Request;
use tokenwatch_proto::tonic::service::Interceptor;

const ISSUER: &str = "bench";
const AUDIENCE: &str = "tokenwatch";
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn testdata(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn verifier() -> Verifier {
    let mut builder = Verifier::builder(ISSUER, AUDIENCE);
    builder
        .public_key_pem("rsa", &testdata("rsa_public.pem"), None)
        .unwrap()
        .public_key_pem("ec", &testdata("ec_public.pem"), None)
        .unwrap()
        .development_secret(SECRET)
        .unwrap();
    builder.build().unwrap()
}

fn token(signer: &Signer) -> String {
    // An analyst token scoped to 50 tenants, a realistic MSP analyst.
    let mut tenants: Vec<String> = (0..49)
        .map(|i| format!("{i:08x}-0000-4000-8000-000000000000"))
        .collect();
    tenants.push(TENANT.to_owned());
    signer
        .issue(
            "bench",
            &[Role::Analyst],
            &tenants,
            Duration::from_secs(3600),
        )
        .unwrap()
}

fn bench_verify(c: &mut Criterion) {
    let signers = [
        (
            "rs256",
            Signer::private_key_pem("rsa", &testdata("rsa_private.pem"), None, ISSUER, AUDIENCE)
                .unwrap(),
        ),
        (
            "es256",
            Signer::private_key_pem("ec", &testdata("ec_private.pem"), None, ISSUER, AUDIENCE)
                .unwrap(),
        ),
        (
            "hs256",
            Signer::development_secret(SECRET, ISSUER, AUDIENCE),
        ),
    ];
    let mut group = c.benchmark_group("verify");
    for (name, signer) in &signers {
        let token = token(signer);
        // A token the verifier has not seen: the signature is checked.
        group.bench_function(format!("{name}/first"), |b| {
            b.iter_batched(
                verifier,
                |fresh| fresh.verify(black_box(&token)).unwrap(),
                BatchSize::SmallInput,
            )
        });
        // The same token again, as a client reusing it: answered from the cache.
        let warm = verifier();
        warm.verify(&token).unwrap();
        group.bench_function(format!("{name}/repeat"), |b| {
            b.iter(|| warm.verify(black_box(&token)).unwrap())
        });
    }
    group.finish();
}

fn bench_gate(c: &mut Criterion) {
    let signer =
        Signer::private_key_pem("ec", &testdata("ec_private.pem"), None, ISSUER, AUDIENCE).unwrap();
    let header: tokenwatch_proto::tonic::metadata::MetadataValue<_> =
        format!("Bearer {}", token(&signer)).parse().unwrap();
    let mut interceptor = AuthInterceptor::new(Arc::new(verifier()));
    c.bench_function("gate/es256_repeat_intercept_and_authorize", |b| {
        b.iter(|| {
            let mut request = Request::new(());
            request
                .metadata_mut()
                .insert("authorization", header.clone());
            let request = interceptor.call(request).unwrap();
            authorize(&request, Permission::FindingsRead, black_box(TENANT)).unwrap()
        })
    });
    // The same with the per-caller rate limit counting (never reached here).
    let mut limited =
        AuthInterceptor::new(Arc::new(verifier())).with_limits(Arc::new(CallerLimits::new(1e12)));
    c.bench_function("gate/es256_repeat_with_caller_limits", |b| {
        b.iter(|| {
            let mut request = Request::new(());
            request
                .metadata_mut()
                .insert("authorization", header.clone());
            let request = limited.call(request).unwrap();
            authorize(&request, Permission::FindingsRead, black_box(TENANT)).unwrap()
        })
    });
}

criterion_group!(benches, bench_verify, bench_gate);
criterion_main!(benches);
