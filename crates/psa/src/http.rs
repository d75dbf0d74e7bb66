//! Requests to a PSA: every URL checked against the operator's destinations, answers read up to
//! a bound, and statuses turned into errors that say whether trying again can help.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;
use tokenwatch_egress::{Destinations, Refused};
use tokenwatch_error::CauseChain;

/// The largest answer read (a page of companies is well under this).
const MAX_ANSWER: usize = 8 << 20;

/// What went wrong calling the PSA.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PsaError {
    /// Down, overloaded or rate limited: try again later (after `retry_after`, if it said).
    #[error("{what}: the PSA is unavailable ({detail})")]
    Unavailable {
        /// The call.
        what: String,
        /// Status and message, or the network error.
        detail: String,
        /// `Retry-After`, when given.
        retry_after: Option<Duration>,
    },
    /// Refused the request: credentials, permissions, a value the PSA does not have.
    #[error("{what}: the PSA answered {status}: {message}")]
    Rejected {
        /// The call.
        what: String,
        /// HTTP status.
        status: u16,
        /// The PSA's message.
        message: String,
    },
    /// The URL may not be called (an address inside the network, not http).
    #[error("{what}: {refused}")]
    Destination {
        /// The call.
        what: String,
        /// Why.
        refused: Refused,
    },
    /// An answer of a shape the PSA does not document.
    #[error("{what}: unexpected answer: {detail}")]
    Unexpected {
        /// The call.
        what: String,
        /// What was wrong with it.
        detail: String,
    },
    /// The connection's settings cannot work (a missing identifier, a bad URL).
    #[error("{0}")]
    Settings(String),
}

impl PsaError {
    /// When the PSA asked to be left alone until.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PsaError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether waiting a little is likely to help (the PSA is down or busy), rather than
    /// someone changing a setting.
    pub fn is_transient(&self) -> bool {
        matches!(self, PsaError::Unavailable { .. })
    }

    /// HTTP status, when the PSA answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            PsaError::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn unexpected(what: &str, detail: impl std::fmt::Display) -> Self {
        PsaError::Unexpected {
            what: what.to_owned(),
            detail: detail.to_string(),
        }
    }
}

/// The HTTP client and the destinations it may reach.
#[derive(Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
    destinations: Arc<Destinations>,
}

impl Http {
    pub(crate) fn new(destinations: Arc<Destinations>) -> Result<Self, PsaError> {
        let client = destinations
            .client_builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("tokenwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PsaError::Settings(format!("http client: {e}")))?;
        Ok(Http {
            client,
            destinations,
        })
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Parses `url` and checks the destinations allow it.
    pub(crate) fn url(&self, what: &str, url: &str) -> Result<reqwest::Url, PsaError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| PsaError::Destination {
            what: what.to_owned(),
            refused: Refused::NotHttp,
        })?;
        self.destinations
            .check_url(&parsed)
            .map_err(|refused| PsaError::Destination {
                what: what.to_owned(),
                refused,
            })?;
        Ok(parsed)
    }

    /// Sends; a success's body as JSON (`null` when empty), anything else as an error, its
    /// message read by `message` from the PSA's error body.
    pub(crate) async fn send(
        &self,
        what: &str,
        request: RequestBuilder,
        message: fn(&Value, &str) -> String,
    ) -> Result<(Value, reqwest::header::HeaderMap), PsaError> {
        let response = request.send().await.map_err(|e| PsaError::Unavailable {
            what: what.to_owned(),
            detail: CauseChain(&e).to_string(),
            retry_after: None,
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_bounded(response)
            .await
            .map_err(|detail| PsaError::Unavailable {
                what: what.to_owned(),
                detail,
                retry_after: None,
            })?;
        let json: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap_or_else(|_| {
                Value::String(String::from_utf8_lossy(&body).chars().take(300).collect())
            })
        };
        if status.is_success() {
            return Ok((json, headers));
        }
        let text = message(&json, status.canonical_reason().unwrap_or("error"));
        if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
            || status.is_server_error()
        {
            return Err(PsaError::Unavailable {
                what: what.to_owned(),
                detail: format!("{status}: {text}"),
                retry_after: retry_after(&headers),
            });
        }
        Err(PsaError::Rejected {
            what: what.to_owned(),
            status: status.as_u16(),
            message: text,
        })
    }
}

/// `Retry-After` in seconds (the PSAs send seconds, not dates).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| CauseChain(&e).to_string())?
    {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(format!("answer larger than {} MB", MAX_ANSWER >> 20));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A string field, or a number field as a string (ids come as either).
pub(crate) fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An id the PSA keeps as a number.
pub(crate) fn numeric<'a>(psa: &str, what: &str, id: &'a str) -> Result<&'a str, PsaError> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id)
    } else {
        Err(PsaError::Settings(format!(
            "a {psa} {what} id is a number, not {id:?}"
        )))
    }
}

/// A setting the PSA keeps as a number (an Autotask picklist value, a HaloPSA id).
pub(crate) fn setting_number(psa: &str, name: &str, value: &str) -> Result<i64, PsaError> {
    value
        .trim()
        .parse()
        .map_err(|_| PsaError::Settings(format!("{psa}'s {name} is a number, not {value:?}")))
}

/// A connection test's line: what worked, or what failed and what to do about it.
pub(crate) fn check_line(
    what: &str,
    outcome: Result<String, PsaError>,
    hint: &str,
) -> crate::CheckLine {
    match outcome {
        Ok(detail) => crate::CheckLine {
            what: what.to_owned(),
            ok: true,
            detail,
        },
        Err(error) => crate::CheckLine {
            what: what.to_owned(),
            ok: false,
            detail: format!("{error} — {hint}"),
        },
    }
}
