use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

use crate::claims::WireClaims;
use crate::{Claims, Role};

/// Clock skew tolerated on `exp` and `nbf`.
pub(crate) const LEEWAY_SECONDS: u64 = 30;

/// The longest token read at all. Entra access tokens with many group claims stay under a few
/// KB; anything far larger is refused before it is decoded (or cached).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a token or a key was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `authorization: Bearer ...` metadata.
    #[error("missing bearer token")]
    MissingToken,
    /// The token is longer than [`MAX_TOKEN_BYTES`].
    #[error("token of {0} bytes is too large")]
    TooLarge(usize),
    /// The token is not a JWT we can read (this includes `alg: none`).
    #[error("malformed token: {0}")]
    Malformed(jsonwebtoken::errors::Error),
    /// No configured key uses the token's algorithm (and key id): refuses algorithm confusion.
    #[error("no verification key for algorithm {0:?}")]
    NoKeyForAlgorithm(Algorithm),
    /// Signature, issuer, audience, expiry or not-before failed.
    #[error("invalid token: {0}")]
    Invalid(jsonwebtoken::errors::Error),
    /// A token of the identity provider names a key it does not (yet) publish.
    #[error("the identity provider's key {0:?} is unknown")]
    UnknownKey(String),
    /// The identity provider's token maps to no tokenwatch role.
    #[error("the identity provider's token carries no role or group mapped to a tokenwatch role")]
    NoMappedRole,
    /// A key or key file could not be used.
    #[error("unusable key {source_name}: {reason}")]
    Key {
        /// The file or setting the key came from.
        source_name: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A verification key bound to the single algorithm it may verify.
#[derive(Clone)]
pub(crate) struct BoundKey {
    pub(crate) algorithm: Algorithm,
    pub(crate) key_id: Option<String>,
    pub(crate) key: DecodingKey,
}

impl std::fmt::Debug for BoundKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundKey")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Collects verification keys and the expected issuer and audience.
#[derive(Debug)]
pub struct VerifierBuilder {
    issuer: String,
    audience: String,
    keys: Vec<BoundKey>,
    oidc: Option<crate::OidcTrust>,
}

/// The RS256 and ES256 keys of a JWKS document; other kinds are skipped, since providers
/// publish several side by side.
pub(crate) fn parse_jwks(source_name: &str, json: &[u8]) -> Result<Vec<BoundKey>, AuthError> {
    let key_error = |reason: String| AuthError::Key {
        source_name: source_name.to_owned(),
        reason,
    };
    let set: JwkSet = serde_json::from_slice(json).map_err(|e| key_error(e.to_string()))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
            (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
            (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
                if ec.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            _ => continue,
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| key_error(e.to_string()))?;
        keys.push(BoundKey {
            algorithm,
            key_id: jwk.common.key_id.clone(),
            key,
        });
    }
    Ok(keys)
}

impl VerifierBuilder {
    /// Adds an RSA (RS256) or EC P-256 (ES256) public key in PEM.
    pub fn public_key_pem(
        &mut self,
        source_name: &str,
        pem: &[u8],
        key_id: Option<String>,
    ) -> Result<&mut Self, AuthError> {
        let (algorithm, key) = if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            (Algorithm::RS256, key)
        } else if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            (Algorithm::ES256, key)
        } else {
            return Err(AuthError::Key {
                source_name: source_name.to_owned(),
                reason: "not an RSA or EC P-256 public key in PEM".to_owned(),
            });
        };
        self.keys.push(BoundKey {
            algorithm,
            key_id,
            key,
        });
        Ok(self)
    }

    /// Adds every RS256 and ES256 key of a JWKS document (as an identity provider publishes it).
    pub fn jwks_json(&mut self, source_name: &str, json: &[u8]) -> Result<&mut Self, AuthError> {
        self.keys.extend(parse_jwks(source_name, json)?);
        Ok(self)
    }

    /// Also trusts an OpenID Connect provider (the MSP's own identity provider).
    pub fn oidc(&mut self, trust: crate::OidcTrust) -> &mut Self {
        self.oidc = Some(trust);
        self
    }

    /// Adds a shared HS256 secret. Only for local development: anyone who can verify can mint.
    pub fn development_secret(&mut self, secret: &[u8]) -> Result<&mut Self, AuthError> {
        if secret.len() < 32 {
            return Err(AuthError::Key {
                source_name: "development secret".to_owned(),
                reason: "must be at least 32 bytes".to_owned(),
            });
        }
        self.keys.push(BoundKey {
            algorithm: Algorithm::HS256,
            key_id: None,
            key: DecodingKey::from_secret(secret),
        });
        Ok(self)
    }

    /// Finishes the verifier; refuses to build one that could accept nothing.
    pub fn build(&self) -> Result<Verifier, AuthError> {
        if self.keys.is_empty() && self.oidc.is_none() {
            return Err(AuthError::Key {
                source_name: "configuration".to_owned(),
                reason: "no verification key configured".to_owned(),
            });
        }
        Ok(Verifier {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            keys: self.keys.clone(),
            oidc: self.oidc.clone(),
            verified: VerifiedCache::default(),
        })
    }
}

/// Verifies bearer tokens against a fixed set of keys, issuer and audience.
#[derive(Debug)]
pub struct Verifier {
    issuer: String,
    audience: String,
    keys: Vec<BoundKey>,
    oidc: Option<crate::OidcTrust>,
    verified: VerifiedCache,
}

impl Verifier {
    /// Starts a verifier for tokens from `issuer` meant for `audience`.
    pub fn builder(issuer: impl Into<String>, audience: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder {
            issuer: issuer.into(),
            audience: audience.into(),
            keys: Vec::new(),
            oidc: None,
        }
    }

    /// Verifies a compact JWT and returns its claims.
    ///
    /// A token verified before is answered from a bounded cache until it expires: clients reuse a
    /// token for many calls, and a signature check costs 100-200 µs (BENCHMARKS.md). The cache
    /// key is the whole token, so any change to it is a miss and a full verification.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::TooLarge(token.len()));
        }
        let now = unix_now();
        if let Some(claims) = self.verified.get(token, now) {
            return Ok(claims);
        }
        let claims = self.verify_uncached(token)?;
        self.verified.insert(token, &claims, now);
        Ok(claims)
    }

    fn verify_uncached(&self, token: &str) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(AuthError::Malformed)?;
        // The provider's tokens go to the provider's keys only; the issuer read here merely
        // routes, and is verified with the signature.
        if let Some(oidc) = &self.oidc
            && oidc.issues(token)
        {
            return oidc.verify(token, &header);
        }
        // Only keys bound to the header's algorithm are tried, so an HS256 token can never be
        // checked against an RSA public key used as a secret.
        let candidates = self.keys.iter().filter(|key| {
            key.algorithm == header.alg
                && match (&header.kid, &key.key_id) {
                    (Some(wanted), Some(have)) => wanted == have,
                    _ => true,
                }
        });
        let mut last_error = AuthError::NoKeyForAlgorithm(header.alg);
        for key in candidates {
            let mut validation = Validation::new(key.algorithm);
            validation.set_issuer(&[&self.issuer]);
            validation.set_audience(&[&self.audience]);
            validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
            validation.validate_nbf = true;
            validation.leeway = LEEWAY_SECONDS;
            match jsonwebtoken::decode::<WireClaims>(token, &key.key, &validation) {
                Ok(data) => return Ok(Claims::from_wire(data.claims)),
                Err(error) => last_error = AuthError::Invalid(error),
            }
        }
        Err(last_error)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Tokens already verified, with their claims, bounded in size.
#[derive(Debug, Default)]
struct VerifiedCache {
    entries: Mutex<HashMap<Box<str>, Claims>>,
}

impl VerifiedCache {
    /// Most tokens kept; far more than the distinct tokens live at once in a deployment.
    const CAPACITY: usize = 4096;

    fn get(&self, token: &str, now: u64) -> Option<Claims> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // Expiry is rechecked without leeway: a cached token never outlives its `exp`.
        entries
            .get(token)
            .filter(|claims| claims.expires_at > now)
            .cloned()
    }

    fn insert(&self, token: &str, claims: &Claims, now: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::CAPACITY {
            entries.retain(|_, claims| claims.expires_at > now);
            if entries.len() >= Self::CAPACITY {
                entries.clear();
            }
        }
        entries.insert(token.into(), claims.clone());
    }
}

/// Mints tokens: development tokens from the local secret, or tokens signed with a private key.
pub struct Signer {
    algorithm: Algorithm,
    key_id: Option<String>,
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Signs with a shared HS256 secret (development only).
    pub fn development_secret(
        secret: &[u8],
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Self {
        Signer {
            algorithm: Algorithm::HS256,
            key_id: None,
            key: EncodingKey::from_secret(secret),
            issuer: issuer.into(),
            audience: audience.into(),
        }
    }

    /// Signs with an RSA (RS256) or EC P-256 (ES256) private key in PEM.
    pub fn private_key_pem(
        source_name: &str,
        pem: &[u8],
        key_id: Option<String>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, AuthError> {
        let (algorithm, key) = if let Ok(key) = EncodingKey::from_rsa_pem(pem) {
            (Algorithm::RS256, key)
        } else if let Ok(key) = EncodingKey::from_ec_pem(pem) {
            (Algorithm::ES256, key)
        } else {
            return Err(AuthError::Key {
                source_name: source_name.to_owned(),
                reason: "not an RSA or EC P-256 private key in PEM (PKCS#8)".to_owned(),
            });
        };
        Ok(Signer {
            algorithm,
            key_id,
            key,
            issuer: issuer.into(),
            audience: audience.into(),
        })
    }

    /// Mints a token valid from now for `ttl`.
    pub fn issue(
        &self,
        subject: &str,
        roles: &[Role],
        tenants: &[String],
        ttl: Duration,
    ) -> Result<String, AuthError> {
        let now = unix_now();
        self.issue_at(subject, roles, tenants, now, now + ttl.as_secs())
    }

    /// Mints a token with explicit times, for tests of expiry and not-before.
    pub fn issue_at(
        &self,
        subject: &str,
        roles: &[Role],
        tenants: &[String],
        not_before: u64,
        expires_at: u64,
    ) -> Result<String, AuthError> {
        let claims = WireClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.to_owned(),
            exp: expires_at,
            nbf: not_before,
            iat: not_before,
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
            tenants: tenants.to_vec(),
        };
        let mut header = Header::new(self.algorithm);
        header.kid = self.key_id.clone();
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(AuthError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::TenantScope;

    fn claims(expires_at: u64) -> Claims {
        Claims {
            subject: "alice".to_owned(),
            roles: BTreeSet::from([Role::Analyst]),
            tenants: TenantScope::All,
            expires_at,
        }
    }

    #[test]
    fn cached_tokens_expire_and_the_cache_stays_bounded() {
        let cache = VerifiedCache::default();
        cache.insert("a", &claims(100), 50);
        assert!(cache.get("a", 99).is_some());
        assert!(cache.get("a", 100).is_none(), "expired at exp, no leeway");
        assert!(cache.get("b", 50).is_none());
        for i in 0..VerifiedCache::CAPACITY + 10 {
            cache.insert(&i.to_string(), &claims(1_000), 50);
        }
        assert!(cache.entries.lock().unwrap().len() <= VerifiedCache::CAPACITY);
    }
}
