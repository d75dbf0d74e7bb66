//! The MSP's own identity provider (OpenID Connect; Entra ID first): its tokens are verified
//! with the keys it publishes, kept in [`OidcKeys`] by whoever fetches them, and its app roles
//! and groups become tokenwatch roles and tenant scopes through a [`ClaimMapping`] from
//! configuration.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, RwLock};

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::Deserialize;
use tokenwatch_types::TenantId;

use crate::keys::{AuthError, BoundKey, LEEWAY_SECONDS, parse_jwks};
use crate::{Claims, Role, TenantScope};

/// The provider's current signing keys, shared between the verifier and the task that fetches
/// them. A token naming a key not in the set is refused and noted, so the fetcher looks again
/// at once rather than at its next period (a provider rolling its keys).
#[derive(Debug, Clone, Default)]
pub struct OidcKeys {
    keys: Arc<RwLock<Vec<BoundKey>>>,
    missed: Arc<Mutex<Option<String>>>,
}

impl OidcKeys {
    /// Replaces the set with the keys of a JWKS document; the number of keys kept.
    pub fn replace_jwks(&self, source_name: &str, json: &[u8]) -> Result<usize, AuthError> {
        let keys = parse_jwks(source_name, json)?;
        if keys.is_empty() {
            return Err(AuthError::Key {
                source_name: source_name.to_owned(),
                reason: "no RS256 or ES256 key".to_owned(),
            });
        }
        let count = keys.len();
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
        Ok(count)
    }

    /// The key id a token named that the set lacked, since the last call.
    pub fn take_missed(&self) -> Option<String> {
        self.missed.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether the set is empty (nothing fetched yet).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which of the provider's role and group values grant which tokenwatch role, and which
/// tenants; e.g. roles `Tokenwatch.Admin=msp_admin,Tokenwatch.Analyst=analyst` and tenants
/// `Tokenwatch.Analyst=*,<group id>=<customer tenant id>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimMapping {
    roles: Vec<(String, Role)>,
    tenants: Vec<(String, Grant)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Grant {
    All,
    One(TenantId),
}

impl ClaimMapping {
    /// Reads `value=role,...` and `value=tenant-id|*,...`; says which entry is wrong.
    pub fn parse(roles: &str, tenants: &str) -> Result<Self, String> {
        let pairs = |text: &str, what: &str| -> Result<Vec<(String, String)>, String> {
            text.split(',')
                .map(str::trim)
                .filter(|entry| !entry.is_empty())
                .map(|entry| match entry.rsplit_once('=') {
                    Some((value, target)) if !value.trim().is_empty() => {
                        Ok((value.trim().to_owned(), target.trim().to_owned()))
                    }
                    _ => Err(format!("{what} entry {entry:?} is not value=target")),
                })
                .collect()
        };
        let roles = pairs(roles, "role")?
            .into_iter()
            .map(|(value, role)| Ok((value, role.parse::<Role>()?)))
            .collect::<Result<Vec<_>, String>>()?;
        let tenants = pairs(tenants, "tenant")?
            .into_iter()
            .map(|(value, tenant)| {
                let grant = if tenant == "*" {
                    Grant::All
                } else {
                    Grant::One(
                        TenantId::parse(&tenant)
                            .map_err(|_| format!("tenant {tenant:?} is not a tenant id or *"))?,
                    )
                };
                Ok((value, grant))
            })
            .collect::<Result<Vec<_>, String>>()?;
        if roles.is_empty() {
            return Err("no role mapping: nobody could sign in".to_owned());
        }
        Ok(ClaimMapping { roles, tenants })
    }

    fn map(&self, values: &BTreeSet<&str>) -> (BTreeSet<Role>, TenantScope) {
        let roles: BTreeSet<Role> = self
            .roles
            .iter()
            .filter(|(value, _)| values.contains(value.as_str()))
            .map(|(_, role)| *role)
            .collect();
        let grants = self
            .tenants
            .iter()
            .filter(|(value, _)| values.contains(value.as_str()))
            .map(|(_, grant)| grant);
        let mut tenants = BTreeSet::new();
        let mut all = roles.contains(&Role::MspAdmin);
        for grant in grants {
            match grant {
                Grant::All => all = true,
                Grant::One(tenant) => {
                    tenants.insert(*tenant);
                }
            }
        }
        let scope = if all {
            TenantScope::All
        } else {
            TenantScope::Some(tenants)
        };
        (roles, scope)
    }
}

/// An identity provider tokenwatch trusts: its issuer, the audience its tokens must name (the
/// console's or the API's application id), its keys, and the mapping.
#[derive(Debug, Clone)]
pub struct OidcTrust {
    issuer: String,
    audience: String,
    keys: OidcKeys,
    mapping: ClaimMapping,
}

/// The claims read from the provider's tokens (Entra ID v2 names).
#[derive(Debug, Deserialize)]
struct ProviderClaims {
    sub: String,
    exp: u64,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    upn: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct IssuerOnly {
    #[serde(default)]
    iss: String,
}

impl OidcTrust {
    /// Trusts `issuer`'s tokens for `audience`, with `keys` (kept fresh elsewhere).
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        keys: OidcKeys,
        mapping: ClaimMapping,
    ) -> Self {
        OidcTrust {
            issuer: issuer.into(),
            audience: audience.into(),
            keys,
            mapping,
        }
    }

    /// Whether the token says it comes from this provider (checked again with the signature).
    pub(crate) fn issues(&self, token: &str) -> bool {
        jsonwebtoken::dangerous::insecure_decode_claims::<IssuerOnly>(token)
            .is_ok_and(|claims| claims.iss == self.issuer)
    }

    pub(crate) fn verify(&self, token: &str, header: &Header) -> Result<Claims, AuthError> {
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(AuthError::NoKeyForAlgorithm(header.alg));
        }
        let candidates: Vec<BoundKey> = {
            let keys = self.keys.keys.read().unwrap_or_else(|e| e.into_inner());
            keys.iter()
                .filter(|key| {
                    key.algorithm == header.alg
                        && match (&header.kid, &key.key_id) {
                            (Some(wanted), Some(have)) => wanted == have,
                            _ => true,
                        }
                })
                .cloned()
                .collect()
        };
        if candidates.is_empty() {
            let kid = header.kid.clone().unwrap_or_default();
            *self.keys.missed.lock().unwrap_or_else(|e| e.into_inner()) = Some(kid.clone());
            return Err(AuthError::UnknownKey(kid));
        }
        let mut last_error = AuthError::NoKeyForAlgorithm(header.alg);
        for key in candidates {
            let mut validation = Validation::new(key.algorithm);
            validation.set_issuer(&[&self.issuer]);
            validation.set_audience(&[&self.audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            validation.validate_nbf = true;
            validation.leeway = LEEWAY_SECONDS;
            match jsonwebtoken::decode::<ProviderClaims>(token, &key.key, &validation) {
                Ok(data) => return self.claims(data.claims),
                Err(error) => last_error = AuthError::Invalid(error),
            }
        }
        Err(last_error)
    }

    fn claims(&self, provider: ProviderClaims) -> Result<Claims, AuthError> {
        let values: BTreeSet<&str> = provider
            .roles
            .iter()
            .chain(&provider.groups)
            .map(String::as_str)
            .collect();
        let (roles, tenants) = self.mapping.map(&values);
        if roles.is_empty() {
            return Err(AuthError::NoMappedRole);
        }
        // Audit trails name a person, not an opaque id, where the provider says who it is.
        let subject = provider
            .preferred_username
            .or(provider.upn)
            .or(provider.email)
            .unwrap_or(provider.sub);
        Ok(Claims {
            subject,
            roles,
            tenants,
            expires_at: provider.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::jwk::{Jwk, JwkSet};
    use jsonwebtoken::{EncodingKey, encode};

    use super::*;
    use crate::Verifier;

    const ISSUER: &str = "https://login.example.com/11111111-1111-4111-8111-111111111111/v2.0";
    const AUDIENCE: &str = "2f0a9c1e-0000-4000-8000-00000000c0de";
    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn private(name: &str) -> EncodingKey {
        let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
        EncodingKey::from_rsa_pem(&std::fs::read(path).unwrap()).unwrap()
    }

    fn jwks(keys: &[(&str, &str)]) -> Vec<u8> {
        let keys = keys
            .iter()
            .map(|(file, kid)| {
                let mut jwk = Jwk::from_encoding_key(&private(file), Algorithm::RS256).unwrap();
                jwk.common.key_id = Some((*kid).to_owned());
                jwk
            })
            .collect();
        serde_json::to_vec(&JwkSet { keys }).unwrap()
    }

    fn token(file: &str, kid: &str, claims: serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        encode(&header, &claims, &private(file)).unwrap()
    }

    fn person(roles: &[&str], groups: &[&str]) -> serde_json::Value {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        serde_json::json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": "opaque-subject", "oid": "0000",
            "preferred_username": "dana@msp.example", "exp": now + 600, "nbf": now - 5,
            "iat": now, "roles": roles, "groups": groups,
        })
    }

    fn verifier() -> (Verifier, OidcKeys) {
        let keys = OidcKeys::default();
        keys.replace_jwks("test", &jwks(&[("rsa_private.pem", "k1")]))
            .unwrap();
        let mapping = ClaimMapping::parse(
            "Tokenwatch.Admin=msp_admin, Tokenwatch.Analyst=analyst",
            &format!("a1b2c3d4-0000-4000-8000-000000000001={TENANT}"),
        )
        .unwrap();
        let trust = OidcTrust::new(ISSUER, AUDIENCE, keys.clone(), mapping);
        let verifier = Verifier::builder("tokenwatch", "tokenwatch")
            .oidc(trust)
            .build()
            .unwrap();
        (verifier, keys)
    }

    #[test]
    fn app_roles_and_groups_become_roles_and_tenants() {
        let (verifier, _) = verifier();
        let analyst = token(
            "rsa_private.pem",
            "k1",
            person(
                &["Tokenwatch.Analyst"],
                &["a1b2c3d4-0000-4000-8000-000000000001"],
            ),
        );
        let claims = verifier.verify(&analyst).unwrap();
        assert_eq!(claims.subject, "dana@msp.example");
        assert_eq!(claims.roles, BTreeSet::from([Role::Analyst]));
        assert_eq!(
            claims.tenants,
            TenantScope::Some(BTreeSet::from([TenantId::parse(TENANT).unwrap()]))
        );
        let admin = token("rsa_private.pem", "k1", person(&["Tokenwatch.Admin"], &[]));
        assert_eq!(verifier.verify(&admin).unwrap().tenants, TenantScope::All);
    }

    #[test]
    fn a_token_mapping_to_no_role_or_for_another_audience_is_refused() {
        let (verifier, _) = verifier();
        let nobody = token("rsa_private.pem", "k1", person(&["Some.Other.App"], &[]));
        assert!(matches!(
            verifier.verify(&nobody),
            Err(AuthError::NoMappedRole)
        ));
        let mut claims = person(&["Tokenwatch.Analyst"], &[]);
        claims["aud"] = "another-app".into();
        let elsewhere = token("rsa_private.pem", "k1", claims);
        assert!(matches!(
            verifier.verify(&elsewhere),
            Err(AuthError::Invalid(_))
        ));
        // Signed by a key the provider does not publish under a known id: a forgery.
        let forged = token(
            "other_rsa_private.pem",
            "k1",
            person(&["Tokenwatch.Admin"], &[]),
        );
        assert!(matches!(
            verifier.verify(&forged),
            Err(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn a_rolled_key_is_noted_and_accepted_once_fetched() {
        let (verifier, keys) = verifier();
        let rolled = token(
            "other_rsa_private.pem",
            "k2",
            person(&["Tokenwatch.Analyst"], &[]),
        );
        assert!(matches!(verifier.verify(&rolled), Err(AuthError::UnknownKey(kid)) if kid == "k2"));
        assert_eq!(keys.take_missed().as_deref(), Some("k2"));
        assert_eq!(keys.take_missed(), None);
        keys.replace_jwks(
            "test",
            &jwks(&[("rsa_private.pem", "k1"), ("other_rsa_private.pem", "k2")]),
        )
        .unwrap();
        assert!(verifier.verify(&rolled).is_ok());
    }

    #[test]
    fn the_providers_issuer_never_reaches_a_shared_secret() {
        let (_, keys) = verifier();
        let mapping = ClaimMapping::parse("Tokenwatch.Admin=msp_admin", "").unwrap();
        // Development auth on beside the provider: an HS256 token signed with the development
        // secret but naming the provider's issuer still goes to the provider's keys only.
        let verifier = Verifier::builder(ISSUER, AUDIENCE)
            .development_secret(b"0123456789abcdef0123456789abcdef")
            .unwrap()
            .oidc(OidcTrust::new(ISSUER, AUDIENCE, keys, mapping))
            .build()
            .unwrap();
        let claims = person(&["Tokenwatch.Admin"], &[]);
        let hs256 = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        assert!(matches!(
            verifier.verify(&hs256),
            Err(AuthError::NoKeyForAlgorithm(Algorithm::HS256))
        ));
    }

    #[test]
    fn mappings_say_which_entry_is_wrong() {
        assert!(
            ClaimMapping::parse("X=superuser", "")
                .unwrap_err()
                .contains("superuser")
        );
        assert!(
            ClaimMapping::parse("X", "")
                .unwrap_err()
                .contains("value=target")
        );
        assert!(
            ClaimMapping::parse("X=analyst", "G=contoso")
                .unwrap_err()
                .contains("contoso")
        );
        assert!(ClaimMapping::parse("", "").unwrap_err().contains("nobody"));
    }
}
