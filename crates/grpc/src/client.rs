use tokenwatch_proto::tonic::metadata::MetadataValue;
use tokenwatch_proto::tonic::service::Interceptor;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;
use tokenwatch_proto::tonic::transport::{Channel, Endpoint};
use tokenwatch_proto::tonic::{Request, Status};

/// Why a client could not connect.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server URL does not parse.
    #[error("invalid server url {url:?}")]
    InvalidUrl {
        /// The URL given.
        url: String,
    },
    /// The token cannot be sent as a header.
    #[error("the token contains characters that cannot be sent")]
    InvalidToken,
    /// No connection could be made.
    #[error("cannot connect to {url}")]
    Connect {
        /// The URL given.
        url: String,
        /// The transport's reason.
        #[source]
        source: tokenwatch_proto::tonic::transport::Error,
    },
}

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Debug, Clone)]
pub struct BearerToken {
    header: Option<MetadataValue<tokenwatch_proto::tonic::metadata::Ascii>>,
}

impl BearerToken {
    /// A token to send, or `None` to send none (the server will answer UNAUTHENTICATED).
    pub fn new(token: Option<&str>) -> Result<Self, ClientError> {
        let header = token
            .map(|t| format!("Bearer {t}").parse())
            .transpose()
            .map_err(|_| ClientError::InvalidToken)?;
        Ok(BearerToken { header })
    }
}

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(header) = &self.header {
            request
                .metadata_mut()
                .insert("authorization", header.clone());
        }
        Ok(request)
    }
}

/// A channel that sends a bearer token with every call.
pub type AuthedChannel = InterceptedService<Channel, BearerToken>;

/// Connects to a tokenwatch server; wrap the result in any generated `XxxServiceClient::new`.
pub async fn connect(url: &str, token: Option<&str>) -> Result<AuthedChannel, ClientError> {
    let endpoint = Endpoint::from_shared(url.to_owned()).map_err(|_| ClientError::InvalidUrl {
        url: url.to_owned(),
    })?;
    let channel = endpoint
        .connect()
        .await
        .map_err(|source| ClientError::Connect {
            url: url.to_owned(),
            source,
        })?;
    Ok(InterceptedService::new(channel, BearerToken::new(token)?))
}
