//! How tokens are verified (keys, JWKS files, issuer and audience) and, for development,
//! minted.

use std::path::PathBuf;

use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tokenwatch_auth::{Signer, Verifier};

use crate::{ConfigError, redacted_secret};

/// How tokens are verified and, for development, minted.
#[derive(Debug, Clone, Args, Serialize)]
pub struct AuthConfig {
    /// Expected `iss` of every token.
    #[arg(long, env = "TOKENWATCH_JWT_ISSUER", default_value = "tokenwatch")]
    pub jwt_issuer: String,

    /// Expected `aud` of every token.
    #[arg(long, env = "TOKENWATCH_JWT_AUDIENCE", default_value = "tokenwatch")]
    pub jwt_audience: String,

    /// RS256 or ES256 public keys (PEM files) that tokens may be signed with; comma-separated.
    #[arg(long, env = "TOKENWATCH_JWT_PUBLIC_KEYS", value_delimiter = ',')]
    pub jwt_public_keys: Vec<PathBuf>,

    /// A JWKS file (as an identity provider publishes it) with RS256/ES256 keys.
    #[arg(long, env = "TOKENWATCH_JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,

    /// Private key (PEM) that `token issue` signs with, if not the development secret.
    #[arg(long, env = "TOKENWATCH_JWT_PRIVATE_KEY")]
    pub jwt_private_key: Option<PathBuf>,

    /// Accept HS256 tokens signed with the development secret. Never in production.
    #[arg(long, env = "TOKENWATCH_DEV_AUTH", default_value_t = false)]
    pub dev_auth: bool,

    /// The shared HS256 secret for development tokens (at least 32 bytes).
    #[arg(long, env = "TOKENWATCH_DEV_JWT_SECRET", hide_env_values = true)]
    #[serde(serialize_with = "redacted_secret")]
    pub dev_jwt_secret: Option<SecretString>,

    /// The MSP's identity provider (OpenID Connect issuer), for signing in to the console, e.g.
    /// `https://login.microsoftonline.com/<MSP tenant id>/v2.0`.
    #[arg(long, env = "TOKENWATCH_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,

    /// The console's application (client) id at the identity provider.
    #[arg(long, env = "TOKENWATCH_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,

    /// The audience the provider's access tokens carry (default: the client id).
    #[arg(long, env = "TOKENWATCH_OIDC_AUDIENCE")]
    pub oidc_audience: Option<String>,

    /// Scopes the console asks for (default: `openid profile <client id>/.default`).
    #[arg(long, env = "TOKENWATCH_OIDC_SCOPES")]
    pub oidc_scopes: Option<String>,

    /// App roles or group ids granting tokenwatch roles: `Tokenwatch.Admin=msp_admin,...`.
    #[arg(long, env = "TOKENWATCH_OIDC_ROLES", default_value = "")]
    pub oidc_roles: String,

    /// App roles or group ids granting tenants: `<group id>=<tenant id>,Tokenwatch.Analyst=*`.
    #[arg(long, env = "TOKENWATCH_OIDC_TENANTS", default_value = "")]
    pub oidc_tenants: String,
}

/// The identity provider as configured (its keys are fetched at start).
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The issuer.
    pub issuer: String,
    /// The console's client id.
    pub client_id: String,
    /// The audience of its access tokens.
    pub audience: String,
    /// Scopes the console asks for.
    pub scopes: String,
    /// Roles and tenants granted by its claims.
    pub mapping: tokenwatch_auth::ClaimMapping,
}

impl AuthConfig {
    /// The identity provider, when one is configured; says what is missing or wrong.
    pub fn oidc(&self) -> Result<Option<OidcSettings>, ConfigError> {
        let Some(issuer) = self.oidc_issuer.clone().filter(|i| !i.trim().is_empty()) else {
            return Ok(None);
        };
        let mut problems = Vec::new();
        if !issuer.starts_with("https://") && !issuer.starts_with("http://") {
            problems.push(format!(
                "--oidc-issuer / TOKENWATCH_OIDC_ISSUER {issuer:?} is not a URL"
            ));
        }
        let client_id = self.oidc_client_id.clone().unwrap_or_default();
        if client_id.is_empty() {
            problems.push(
                "--oidc-issuer needs --oidc-client-id / TOKENWATCH_OIDC_CLIENT_ID (the console's application id)"
                    .to_owned(),
            );
        }
        let mapping = tokenwatch_auth::ClaimMapping::parse(&self.oidc_roles, &self.oidc_tenants)
            .map_err(|problem| {
                format!("--oidc-roles / TOKENWATCH_OIDC_ROLES, --oidc-tenants / TOKENWATCH_OIDC_TENANTS: {problem}")
            });
        let mapping = match mapping {
            Ok(mapping) => Some(mapping),
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        ConfigError::check(problems)?;
        Ok(Some(OidcSettings {
            audience: self
                .oidc_audience
                .clone()
                .unwrap_or_else(|| client_id.clone()),
            scopes: self
                .oidc_scopes
                .clone()
                .unwrap_or_else(|| format!("openid profile {client_id}/.default")),
            issuer,
            client_id,
            mapping: mapping.unwrap_or_default(),
        }))
    }

    fn development_secret(&self) -> Result<Option<&[u8]>, ConfigError> {
        if !self.dev_auth {
            return Ok(None);
        }
        match &self.dev_jwt_secret {
            Some(secret) => Ok(Some(secret.expose_secret().as_bytes())),
            None => Err(ConfigError {
                problems: vec![
                    "--dev-auth / TOKENWATCH_DEV_AUTH needs --dev-jwt-secret / TOKENWATCH_DEV_JWT_SECRET"
                        .to_owned(),
                ],
            }),
        }
    }

    /// Builds the verifier from every configured key; reads the key files now, so a missing or
    /// unreadable file stops the start.
    pub fn verifier(&self) -> Result<Verifier, ConfigError> {
        self.verifier_with(None)
    }

    /// [`AuthConfig::verifier`], also trusting the identity provider when given.
    pub fn verifier_with(
        &self,
        oidc: Option<tokenwatch_auth::OidcTrust>,
    ) -> Result<Verifier, ConfigError> {
        let mut problems = Vec::new();
        let mut builder = Verifier::builder(&self.jwt_issuer, &self.jwt_audience);
        if let Some(trust) = oidc {
            builder.oidc(trust);
        }
        for path in &self.jwt_public_keys {
            let added = read(path).and_then(|pem| {
                builder
                    .public_key_pem(&path.display().to_string(), &pem, None)
                    .map_err(|e| e.to_string())
            });
            problems.extend(added.err());
        }
        if let Some(path) = &self.jwks_file {
            let added = read(path).and_then(|json| {
                builder
                    .jwks_json(&path.display().to_string(), &json)
                    .map_err(|e| e.to_string())
            });
            problems.extend(added.err());
        }
        match self.development_secret() {
            Ok(Some(secret)) => {
                let added = builder.development_secret(secret);
                problems.extend(
                    added
                        .err()
                        .map(|e| format!("TOKENWATCH_DEV_JWT_SECRET: {e}")),
                );
            }
            Ok(None) => {}
            Err(error) => problems.extend(error.problems),
        }
        ConfigError::check(problems)?;
        builder.build().map_err(|_| ConfigError {
            problems: vec![
                "no token verification key: set TOKENWATCH_OIDC_ISSUER, TOKENWATCH_JWT_PUBLIC_KEYS or \
                 TOKENWATCH_JWKS_FILE (or TOKENWATCH_DEV_AUTH=true with TOKENWATCH_DEV_JWT_SECRET for development)"
                    .to_owned(),
            ],
        })
    }

    /// The signer `token issue` uses: the private key if configured, else the development
    /// secret when development auth is on.
    pub fn signer(&self) -> Result<Signer, ConfigError> {
        if let Some(path) = &self.jwt_private_key {
            let pem = read(path).map_err(|problem| ConfigError {
                problems: vec![problem],
            })?;
            return Signer::private_key_pem(
                &path.display().to_string(),
                &pem,
                None,
                &self.jwt_issuer,
                &self.jwt_audience,
            )
            .map_err(|error| ConfigError {
                problems: vec![error.to_string()],
            });
        }
        match self.development_secret()? {
            Some(secret) => Ok(Signer::development_secret(
                secret,
                &self.jwt_issuer,
                &self.jwt_audience,
            )),
            None => Err(ConfigError {
                problems: vec![
                    "nothing to sign with: set TOKENWATCH_JWT_PRIVATE_KEY, or TOKENWATCH_DEV_AUTH=true \
                     with TOKENWATCH_DEV_JWT_SECRET (`source .run/env` after `make up` sets both)"
                        .to_owned(),
                ],
            }),
        }
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}
