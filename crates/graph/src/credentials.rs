//! A customer tenant's app registration: a client secret or a certificate (whose signed
//! assertion the token endpoint takes instead), sealed at rest and unsealed only to call
//! Microsoft.

use std::sync::Arc;

use secrecy::SecretString;

/// A customer tenant's app registration.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The Entra tenant id the app is registered in.
    pub tenant_id: String,
    /// Application (client) id.
    pub client_id: String,
    /// How the app proves itself.
    pub secret: AppSecret,
}

impl Credentials {
    /// Credentials from what a tenant stored: `kind` `client_secret` (the secret) or
    /// `certificate` (PEM with the certificate and its RSA key); the error says what is wrong.
    pub fn from_stored(
        tenant_id: &str,
        client_id: &str,
        kind: &str,
        secret: Vec<u8>,
    ) -> Result<Credentials, String> {
        let secret =
            String::from_utf8(secret).map_err(|_| "the stored credentials are not text")?;
        let secret = match kind {
            "client_secret" => AppSecret::ClientSecret(SecretString::from(secret)),
            "certificate" => AppSecret::Certificate(Arc::new(
                Certificate::from_pem(&secret).map_err(|e| format!("the certificate: {e}"))?,
            )),
            other => return Err(format!("unknown kind of credentials {other:?}")),
        };
        Ok(Credentials {
            tenant_id: tenant_id.to_owned(),
            client_id: client_id.to_owned(),
            secret,
        })
    }
}

/// A tenant's credentials as stored: sealed (see `tokenwatch-seal`) under a key.
#[derive(Debug, Clone, Copy)]
pub struct Sealed<'s> {
    /// Application (client) id.
    pub client_id: &'s str,
    /// `client_secret` or `certificate`.
    pub kind: &'s str,
    /// The key that sealed them.
    pub key_id: &'s str,
    /// The sealed bytes.
    pub sealed: &'s [u8],
}

impl Credentials {
    /// Opens the tenant's stored credentials with this server's key; the error says what an
    /// operator must fix (no key configured, another key, a damaged or unusable secret).
    pub fn unseal(
        sealer: Option<&tokenwatch_seal::Sealer>,
        tenant_id: &str,
        stored: Sealed<'_>,
    ) -> Result<Credentials, String> {
        let sealer = sealer.ok_or(
            "this server has no credentials key (TOKENWATCH_CREDENTIALS_KEY) to open the tenant's Graph credentials",
        )?;
        let secret = sealer
            .open(tenant_id, stored.key_id, stored.sealed)
            .map_err(|error| format!("cannot open the tenant's Graph credentials: {error}"))?;
        Credentials::from_stored(tenant_id, stored.client_id, stored.kind, secret)
    }
}

/// A client secret, or a certificate whose key signs client assertions.
#[derive(Clone)]
pub enum AppSecret {
    /// A client secret.
    ClientSecret(SecretString),
    /// A certificate registered on the app, and its private key.
    Certificate(Arc<Certificate>),
}

impl std::fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppSecret::ClientSecret(_) => f.write_str("ClientSecret(***)"),
            AppSecret::Certificate(c) => write!(f, "Certificate({})", c.thumbprint_s256),
        }
    }
}

/// An app certificate with its private key, for the identity platform's certificate
/// credentials: a JWT client assertion, PS256, naming the certificate by its SHA-256
/// thumbprint (`x5t#S256`).
pub struct Certificate {
    /// Base64url SHA-256 of the certificate's DER encoding.
    pub thumbprint_s256: String,
    key: jsonwebtoken::EncodingKey,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("thumbprint_s256", &self.thumbprint_s256)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// From PEM text holding the certificate (`BEGIN CERTIFICATE`) and its RSA private key
    /// (`BEGIN PRIVATE KEY` or `BEGIN RSA PRIVATE KEY`), in either order.
    pub fn from_pem(pem: &str) -> Result<Certificate, String> {
        use base64::Engine as _;
        use sha2::Digest as _;
        let block = |label: &str| -> Option<String> {
            let begin = format!("-----BEGIN {label}-----");
            let end = format!("-----END {label}-----");
            let start = pem.find(&begin)?;
            let stop = pem[start..].find(&end)? + start + end.len();
            Some(pem[start..stop].to_owned())
        };
        let certificate = block("CERTIFICATE").ok_or("no certificate (BEGIN CERTIFICATE)")?;
        let body: String = certificate
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map_err(|_| "the certificate is not valid base64")?;
        let key = block("PRIVATE KEY")
            .or_else(|| block("RSA PRIVATE KEY"))
            .ok_or("no RSA private key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)")?;
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(key.as_bytes())
            .map_err(|e| format!("the private key is not an RSA key: {e}"))?;
        Ok(Certificate {
            thumbprint_s256: base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(&der)),
            key,
        })
    }

    /// A client assertion for `audience` (the token endpoint), valid for ten minutes.
    pub(crate) fn assertion(&self, client_id: &str, audience: &str) -> Result<String, String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::PS256);
        header.typ = Some("JWT".to_owned());
        header.x5t_s256 = Some(self.thumbprint_s256.clone());
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + 600,
        });
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| e.to_string())
    }
}
