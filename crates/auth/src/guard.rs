use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use tokenwatch_error::resource_exhausted;
use tokenwatch_proto::Status;
use tokenwatch_proto::tonic::metadata::MetadataMap;
use tokenwatch_proto::tonic::service::Interceptor;
use tokenwatch_proto::tonic::{Request, Status as TonicStatus};
use tokenwatch_types::TenantId;

use crate::{AuthError, CallerLimits, Claims, Permission, TenantScope, Verifier};

/// Verifies the bearer token of every request and stores its [`Claims`] in the extensions;
/// enforces the [`CallerLimits`] on the way.
#[derive(Debug, Clone)]
pub struct AuthInterceptor {
    verifier: Arc<Verifier>,
    limits: Arc<CallerLimits>,
}

impl AuthInterceptor {
    /// An interceptor that accepts tokens the verifier accepts, without rate limits.
    pub fn new(verifier: Arc<Verifier>) -> Self {
        AuthInterceptor {
            verifier,
            limits: Arc::new(CallerLimits::unlimited()),
        }
    }

    /// The same, limiting each caller's request rate.
    pub fn with_limits(mut self, limits: Arc<CallerLimits>) -> Self {
        self.limits = limits;
        self
    }
}

impl Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, TonicStatus> {
        let now = Instant::now();
        let peer = request.remote_addr().map(|a| a.ip());
        if let Some(wait) = peer.and_then(|peer| self.limits.peer_is_blocked(peer, now)) {
            metrics::counter!("auth_rate_limited_total", "reason" => "refused_tokens").increment(1);
            return Err(resource_exhausted(
                "too many invalid tokens from this address; retry later",
                wait,
            ));
        }
        let verified = bearer_token(request.metadata()).and_then(|t| self.verifier.verify(t));
        match verified {
            Ok(claims) => {
                if let Err(wait) = self.limits.request(&claims.subject, now) {
                    metrics::counter!("auth_rate_limited_total", "reason" => "caller_rate")
                        .increment(1);
                    tracing::debug!(subject = %claims.subject, "caller over its request rate");
                    return Err(resource_exhausted(
                        "this caller is over its request rate; retry later",
                        wait,
                    ));
                }
                request.extensions_mut().insert(claims);
                Ok(request)
            }
            Err(error) => {
                if let Some(peer) = peer {
                    self.limits.refused(peer, now);
                }
                // The reason goes to the logs only: telling a caller why its forged token
                // failed helps it forge a better one.
                tracing::debug!(%error, "token refused");
                let message = match error {
                    AuthError::MissingToken => "missing bearer token",
                    _ => "invalid bearer token",
                };
                Err(Status::unauthenticated(message))
            }
        }
    }
}

fn bearer_token(metadata: &MetadataMap) -> Result<&str, AuthError> {
    let value = metadata
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or(AuthError::MissingToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::MissingToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::MissingToken);
    }
    Ok(token.trim())
}

fn verified_claims<T>(request: &Request<T>) -> Result<&Claims, Status> {
    // A service mounted without the interceptor has no claims: fail closed.
    request
        .extensions()
        .get::<Claims>()
        .ok_or_else(|| Status::unauthenticated("missing bearer token"))
}

fn check_permission(claims: &Claims, permission: Permission) -> Result<(), Status> {
    if claims.roles.iter().any(|role| permission.granted_to(*role)) {
        Ok(())
    } else {
        Err(Status::permission_denied(format!(
            "the caller's roles do not allow {permission:?}"
        )))
    }
}

/// Checks that the caller holds `permission` for the tenant named by `tenant_id`, before any
/// other work. Returns the parsed tenant and the caller's claims, and records both in the
/// request's span.
pub fn authorize<T>(
    request: &Request<T>,
    permission: Permission,
    tenant_id: &str,
) -> Result<(TenantId, Claims), Status> {
    let claims = verified_claims(request)?;
    check_permission(claims, permission)?;
    let tenant = TenantId::parse(tenant_id)
        .map_err(|e| tokenwatch_error::invalid_argument("tenant_id", e.to_string()))?;
    if !claims.tenants.contains(&tenant) {
        return Err(Status::permission_denied(format!(
            "the caller may not act for tenant {tenant}"
        )));
    }
    let span = tracing::Span::current();
    span.record("tenant_id", tracing::field::display(&tenant));
    span.record("subject", claims.subject.as_str());
    Ok((tenant, claims.clone()))
}

/// Like [`authorize`] for RPCs whose `tenant_id` may be empty to mean "every tenant the caller
/// may act for". Returns the scope to filter by.
pub fn authorize_scope<T>(
    request: &Request<T>,
    permission: Permission,
    tenant_id: &str,
) -> Result<(TenantScope, Claims), Status> {
    if tenant_id.trim().is_empty() {
        let claims = verified_claims(request)?;
        check_permission(claims, permission)?;
        tracing::Span::current().record("subject", claims.subject.as_str());
        return Ok((claims.tenants.clone(), claims.clone()));
    }
    let (tenant, claims) = authorize(request, permission, tenant_id)?;
    Ok((TenantScope::Some(BTreeSet::from([tenant])), claims))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokenwatch_proto::Code;

    use tokenwatch_proto::tonic::transport::server::TcpConnectInfo;
    use tonic_types::StatusExt;

    use super::*;
    use crate::{Role, Signer};

    const ISSUER: &str = "tokenwatch-test";
    const AUDIENCE: &str = "tokenwatch";
    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const TENANT_A: &str = "11111111-1111-1111-1111-111111111111";
    const TENANT_B: &str = "22222222-2222-2222-2222-222222222222";

    fn testdata(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn verifier() -> Verifier {
        let mut builder = Verifier::builder(ISSUER, AUDIENCE);
        builder
            .public_key_pem("rsa", &testdata("rsa_public.pem"), None)
            .unwrap()
            .public_key_pem("ec", &testdata("ec_public.pem"), None)
            .unwrap();
        builder.build().unwrap()
    }

    fn signer(name: &str) -> Signer {
        Signer::private_key_pem(name, &testdata(name), None, ISSUER, AUDIENCE).unwrap()
    }

    fn intercept(verifier: Verifier, token: Option<&str>) -> Result<Request<()>, TonicStatus> {
        let mut request = Request::new(());
        if let Some(token) = token {
            let value = format!("Bearer {token}").parse().unwrap();
            request.metadata_mut().insert("authorization", value);
        }
        AuthInterceptor::new(Arc::new(verifier)).call(request)
    }

    fn token(signer: &Signer, roles: &[Role], tenants: &[&str]) -> String {
        let tenants: Vec<String> = tenants.iter().map(|t| t.to_string()).collect();
        signer
            .issue("alice", roles, &tenants, Duration::from_secs(600))
            .unwrap()
    }

    #[test]
    fn rs256_and_es256_tokens_verify() {
        for key in ["rsa_private.pem", "ec_private.pem"] {
            let token = token(&signer(key), &[Role::Analyst], &[TENANT_A]);
            let request = intercept(verifier(), Some(&token)).unwrap();
            let claims = request.extensions().get::<Claims>().unwrap();
            assert_eq!(claims.subject, "alice");
            assert!(claims.roles.contains(&Role::Analyst));
        }
    }

    #[test]
    fn unsigned_forged_and_confused_tokens_are_refused() {
        let good = token(&signer("rsa_private.pem"), &[Role::MspAdmin], &[]);
        let (header, rest) = good.split_once('.').unwrap();
        let (payload, _signature) = rest.split_once('.').unwrap();

        // alg: none, with and without a signature part.
        let none_header = b64(br#"{"alg":"none","typ":"JWT"}"#);
        // HS256 signed with the RSA public key bytes as the secret: the classic confusion.
        let confused = Signer::development_secret(&testdata("rsa_public.pem"), ISSUER, AUDIENCE);
        let confused = token(&confused, &[Role::MspAdmin], &[]);
        // A valid signature from a key the server does not trust.
        let foreign = token(&signer("other_rsa_private.pem"), &[Role::MspAdmin], &[]);
        // The payload swapped for another, signature kept.
        let tampered_payload = b64(br#"{"iss":"tokenwatch-test","aud":"tokenwatch","sub":"mallory","exp":9999999999,"nbf":0,"iat":0,"roles":["msp_admin"],"tenants":["*"]}"#);

        for bad in [
            format!("{none_header}.{payload}."),
            format!("{none_header}.{payload}"),
            confused,
            foreign,
            format!(
                "{header}.{tampered_payload}.{}",
                good.rsplit('.').next().unwrap()
            ),
            "not-a-jwt".to_owned(),
        ] {
            let status = intercept(verifier(), Some(&bad)).unwrap_err();
            assert_eq!(status.code(), Code::Unauthenticated, "{bad}");
        }
        assert!(intercept(verifier(), Some(&good)).is_ok());
    }

    #[test]
    fn expiry_not_before_issuer_and_audience_are_checked() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let rsa = signer("rsa_private.pem");
        let expired = rsa
            .issue_at("alice", &[Role::Analyst], &[], now - 7200, now - 3600)
            .unwrap();
        let future = rsa
            .issue_at("alice", &[Role::Analyst], &[], now + 3600, now + 7200)
            .unwrap();
        let wrong_audience = Signer::private_key_pem(
            "rsa",
            &testdata("rsa_private.pem"),
            None,
            ISSUER,
            "someone-else",
        )
        .unwrap();
        let wrong_audience = token(&wrong_audience, &[Role::Analyst], &[]);
        let wrong_issuer =
            Signer::private_key_pem("rsa", &testdata("rsa_private.pem"), None, "evil", AUDIENCE)
                .unwrap();
        let wrong_issuer = token(&wrong_issuer, &[Role::Analyst], &[]);
        for bad in [expired, future, wrong_audience, wrong_issuer] {
            assert_eq!(
                intercept(verifier(), Some(&bad)).unwrap_err().code(),
                Code::Unauthenticated
            );
        }
        let status = intercept(verifier(), None).unwrap_err();
        assert_eq!(status.message(), "missing bearer token");
    }

    #[test]
    fn hs256_needs_a_configured_development_secret() {
        let dev = Signer::development_secret(SECRET, ISSUER, AUDIENCE);
        let dev_token = token(&dev, &[Role::Analyst], &[TENANT_A]);
        assert!(intercept(verifier(), Some(&dev_token)).is_err());
        let dev_verifier = Verifier::builder(ISSUER, AUDIENCE)
            .development_secret(SECRET)
            .unwrap()
            .build()
            .unwrap();
        assert!(intercept(dev_verifier, Some(&dev_token)).is_ok());
        assert!(
            Verifier::builder(ISSUER, AUDIENCE)
                .development_secret(b"short")
                .is_err()
        );
    }

    #[test]
    fn jwks_keys_verify_by_key_id() {
        let verifier = Verifier::builder(ISSUER, AUDIENCE)
            .jwks_json("jwks", &testdata("jwks.json"))
            .unwrap()
            .build()
            .unwrap();
        let with_kid = Signer::private_key_pem(
            "rsa",
            &testdata("rsa_private.pem"),
            Some("k1".to_owned()),
            ISSUER,
            AUDIENCE,
        )
        .unwrap();
        let token = token(&with_kid, &[Role::Service], &["*"]);
        let request = intercept(verifier, Some(&token)).unwrap();
        let claims = request.extensions().get::<Claims>().unwrap();
        assert_eq!(claims.tenants, TenantScope::All);
    }

    #[test]
    fn an_unknown_key_id_and_an_oversized_token_are_refused() {
        let jwks = || {
            Verifier::builder(ISSUER, AUDIENCE)
                .jwks_json("jwks", &testdata("jwks.json"))
                .unwrap()
                .build()
                .unwrap()
        };
        let with_kid = |kid: &str| {
            let signer = Signer::private_key_pem(
                "rsa",
                &testdata("rsa_private.pem"),
                Some(kid.to_owned()),
                ISSUER,
                AUDIENCE,
            )
            .unwrap();
            token(&signer, &[Role::Service], &["*"])
        };
        assert!(intercept(jwks(), Some(&with_kid("k1"))).is_ok());
        // The right key under a kid the JWKS does not publish: no key is tried.
        let unknown = intercept(jwks(), Some(&with_kid("rotated-away"))).unwrap_err();
        assert_eq!(unknown.code(), Code::Unauthenticated);

        // A token padded past the limit is refused before it is decoded, and says nothing.
        let good = token(&signer("rsa_private.pem"), &[Role::MspAdmin], &[]);
        let padded = format!("{good}{}", "A".repeat(crate::keys::MAX_TOKEN_BYTES));
        let status = intercept(verifier(), Some(&padded)).unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.message(), "invalid bearer token");
        assert!(matches!(
            verifier().verify(&padded),
            Err(crate::keys::AuthError::TooLarge(_))
        ));
    }

    #[test]
    fn tenant_and_permission_checks() {
        let rsa = signer("rsa_private.pem");
        let request_for = |roles: &[Role], tenants: &[&str]| {
            intercept(verifier(), Some(&token(&rsa, roles, tenants))).unwrap()
        };

        let analyst = request_for(&[Role::Analyst], &[TENANT_A]);
        let (tenant, _) = authorize(&analyst, Permission::FindingsRead, TENANT_A).unwrap();
        assert_eq!(tenant.to_string(), TENANT_A);
        // Upper-case spelling of the same tenant is the same tenant.
        assert!(authorize(&analyst, Permission::FindingsRead, &TENANT_A.to_uppercase()).is_ok());
        let denied = authorize(&analyst, Permission::FindingsRead, TENANT_B).unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        let denied = authorize(&analyst, Permission::WeightsManage, TENANT_A).unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        let invalid = authorize(&analyst, Permission::FindingsRead, "contoso").unwrap_err();
        assert_eq!(invalid.code(), Code::InvalidArgument);

        let admin = request_for(&[Role::MspAdmin], &[]);
        assert!(authorize(&admin, Permission::TenantsManage, TENANT_B).is_ok());
        let (scope, _) = authorize_scope(&admin, Permission::FindingsRead, "").unwrap();
        assert_eq!(scope, TenantScope::All);

        let viewer = request_for(&[Role::TenantViewer], &[TENANT_A, TENANT_B]);
        let (scope, _) = authorize_scope(&viewer, Permission::FindingsRead, "").unwrap();
        assert!(scope.contains(&TenantId::parse(TENANT_B).unwrap()));
        assert!(authorize_scope(&viewer, Permission::FindingsTriage, "").is_err());

        // No interceptor ran: fail closed.
        let bare = Request::new(());
        let status = authorize(&bare, Permission::FindingsRead, TENANT_A).unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
    }

    fn from_peer(token: &str, peer: &str) -> Request<()> {
        let mut request = Request::new(());
        let value = format!("Bearer {token}").parse().unwrap();
        request.metadata_mut().insert("authorization", value);
        request.extensions_mut().insert(TcpConnectInfo {
            local_addr: None,
            remote_addr: Some(peer.parse().unwrap()),
        });
        request
    }

    #[test]
    fn a_caller_over_its_rate_is_told_to_retry_and_others_are_not() {
        let signer = signer("ec_private.pem");
        let alice = token(&signer, &[Role::Analyst], &[TENANT_A]);
        let bob = signer
            .issue(
                "bob",
                &[Role::Analyst],
                &[TENANT_A.to_owned()],
                Duration::from_secs(600),
            )
            .unwrap();
        // One request a second: a burst of ten.
        let mut gate = AuthInterceptor::new(Arc::new(verifier()))
            .with_limits(Arc::new(CallerLimits::new(1.0)));
        for _ in 0..10 {
            gate.call(from_peer(&alice, "10.0.0.1:4000")).unwrap();
        }
        // A second token of the same subject shares its budget.
        let alice_again = signer
            .issue("alice", &[Role::Analyst], &[], Duration::from_secs(300))
            .unwrap();
        let status = gate
            .call(from_peer(&alice_again, "10.0.0.2:4000"))
            .unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        let retry = status.get_details_retry_info().expect("RetryInfo");
        assert!(retry.retry_delay.unwrap() <= Duration::from_secs(1));
        gate.call(from_peer(&bob, "10.0.0.1:4000"))
            .expect("another caller has its own budget");
    }

    #[test]
    fn an_address_presenting_bad_tokens_is_cut_off_before_verifying() {
        let good = token(&signer("ec_private.pem"), &[Role::Analyst], &[TENANT_A]);
        // Cheap to refuse, so the test does not wait on the bucket refilling.
        let forged = "not-a-jwt";
        let mut gate = AuthInterceptor::new(Arc::new(verifier()))
            .with_limits(Arc::new(CallerLimits::new(1000.0)));
        let mut codes = Vec::new();
        for _ in 0..60 {
            codes.push(
                gate.call(from_peer(forged, "192.0.2.7:1"))
                    .unwrap_err()
                    .code(),
            );
        }
        assert!(
            codes[..50].iter().all(|c| *c == Code::Unauthenticated),
            "{codes:?}"
        );
        // (A slow machine may refill a token or two meanwhile.)
        assert!(
            codes[53..].iter().all(|c| *c == Code::ResourceExhausted),
            "{codes:?}"
        );
        // Blocked addresses are blocked whatever they present; others are heard.
        let status = gate.call(from_peer(&good, "192.0.2.7:2")).unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted);
        gate.call(from_peer(&good, "192.0.2.8:1")).unwrap();
    }

    fn b64(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
                << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}
