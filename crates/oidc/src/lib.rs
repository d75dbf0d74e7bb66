//! The MSP's identity provider, as the server reaches it: [`discover`] reads its OpenID
//! Connect discovery document (the endpoints the console signs in with, and where its keys
//! are), and [`keep_keys_fresh`] keeps the [`OidcKeys`] the verifier checks tokens with
//! current: every period, and at once (at most every [`MIN_REFETCH`]) when a token names a key
//! the set lacks, as when the provider rolls its keys.

use std::future::Future;
use std::time::Duration;

use serde::Deserialize;
pub use tokenwatch_auth::OidcKeys;

/// Fewest seconds between two fetches prompted by unknown keys: a stream of forged key ids must
/// not turn the server into a client hammering the provider.
pub const MIN_REFETCH: Duration = Duration::from_secs(30);

/// How long one call to the provider may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why the provider could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The call failed or the answer was not the expected JSON.
    #[error("{url}: {source}")]
    Http {
        /// What was called.
        url: String,
        /// Why it failed.
        source: reqwest::Error,
    },
    /// The discovery document names another issuer (OpenID Connect Discovery 1.0, §4.3).
    #[error("the discovery document at {url} is for issuer {found:?}, not {expected:?}")]
    WrongIssuer {
        /// The document's address.
        url: String,
        /// The issuer configured.
        expected: String,
        /// The issuer the document names.
        found: String,
    },
    /// The key set was unusable.
    #[error("{0}")]
    Keys(#[from] tokenwatch_auth::AuthError),
}

/// What the discovery document says (the fields tokenwatch uses).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Provider {
    /// The issuer, exactly as tokens name it.
    pub issuer: String,
    /// Where the console sends people to sign in.
    pub authorization_endpoint: String,
    /// Where the console exchanges its code (with PKCE) for tokens.
    pub token_endpoint: String,
    /// Where the signing keys are published.
    pub jwks_uri: String,
}

/// An HTTP client for the provider, with a timeout on every call.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .unwrap_or_default()
}

/// Reads `issuer`'s discovery document (`<issuer>/.well-known/openid-configuration`).
pub async fn discover(client: &reqwest::Client, issuer: &str) -> Result<Provider, OidcError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let provider: Provider =
        get(client, &url)
            .await?
            .json()
            .await
            .map_err(|source| OidcError::Http {
                url: url.clone(),
                source,
            })?;
    if provider.issuer != issuer {
        return Err(OidcError::WrongIssuer {
            url,
            expected: issuer.to_owned(),
            found: provider.issuer,
        });
    }
    Ok(provider)
}

/// Fetches the provider's keys into `keys`; how many it holds now.
pub async fn fetch_keys(
    client: &reqwest::Client,
    provider: &Provider,
    keys: &OidcKeys,
) -> Result<usize, OidcError> {
    let url = &provider.jwks_uri;
    let body = get(client, url)
        .await?
        .bytes()
        .await
        .map_err(|source| OidcError::Http {
            url: url.clone(),
            source,
        })?;
    Ok(keys.replace_jwks(url, &body)?)
}

async fn get(client: &reqwest::Client, url: &str) -> Result<reqwest::Response, OidcError> {
    client
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|source| OidcError::Http {
            url: url.to_owned(),
            source,
        })
}

/// Refetches the keys every `period`, and soon after a token names an unknown key, until
/// `stop` completes. A failed fetch keeps the keys held and is logged; the next try follows.
pub async fn keep_keys_fresh(
    client: reqwest::Client,
    provider: Provider,
    keys: OidcKeys,
    period: Duration,
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    // The caller fetched the keys just before; an unknown key may prompt a fetch at once, but
    // the next periodic one is a whole period away.
    let started = tokio::time::Instant::now();
    let mut last_fetch = started.checked_sub(MIN_REFETCH).unwrap_or(started);
    let mut next_due = started + period;
    let mut check = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = check.tick() => {}
        }
        let due = tokio::time::Instant::now() >= next_due;
        let missed = last_fetch.elapsed() >= MIN_REFETCH && keys.take_missed().is_some();
        if !(due || missed) {
            continue;
        }
        last_fetch = tokio::time::Instant::now();
        next_due = last_fetch + period;
        match fetch_keys(&client, &provider, &keys).await {
            Ok(count) => tracing::info!(keys = count, "identity provider keys refreshed"),
            Err(error) => {
                tracing::warn!(%error, "cannot refresh the identity provider's keys; keeping those held");
            }
        }
    }
}

#[cfg(test)]
mod provider_tests;
