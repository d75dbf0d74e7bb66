use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tower::{Layer, Service};
use tracing::Instrument;

/// Opens a span per RPC, maps oversized-message refusals to RESOURCE_EXHAUSTED, and records `grpc_server_requests_total{rpc, code}` and
/// `grpc_server_request_duration_seconds{rpc}`.
///
/// The code is read from the response headers, where tonic puts it for every unary error
/// (trailers-only responses); a streaming call that fails after its first message counts as OK
/// here and is logged by its handler.
#[derive(Debug, Clone, Copy, Default)]
pub struct ObserveLayer;

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe { inner }
    }
}

/// The service [`ObserveLayer`] wraps around each route.
#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
}

impl<S, B, R> Service<http::Request<B>> for Observe<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let rpc = request.uri().path().trim_start_matches('/').to_owned();
        let span = tracing::info_span!(
            "grpc",
            rpc = %rpc,
            tenant_id = tracing::field::Empty,
            subject = tracing::field::Empty,
        );
        let started = Instant::now();
        let future = self.inner.call(request).instrument(span.clone());
        Box::pin(async move {
            let mut result = future.await;
            if let Ok(response) = &mut result {
                oversized_is_resource_exhausted(response);
            }
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map(|code| format!("{:?}", tokenwatch_proto::Code::from_i32(code)))
                    .unwrap_or_else(|| "Ok".to_owned()),
                Err(_) => "TransportError".to_owned(),
            };
            let elapsed = started.elapsed();
            metrics::counter!("grpc_server_requests_total", "rpc" => rpc.clone(), "code" => code.clone())
                .increment(1);
            metrics::histogram!("grpc_server_request_duration_seconds", "rpc" => rpc)
                .record(elapsed.as_secs_f64());
            span.in_scope(|| {
                tracing::debug!(code = %code, elapsed_ms = elapsed.as_millis() as u64, "rpc done");
            });
            result
        })
    }
}

/// tonic refuses a message over the size limit with OUT_OF_RANGE before reading it; gRPC
/// specifies RESOURCE_EXHAUSTED for that, and clients retry on it with smaller messages.
fn oversized_is_resource_exhausted<R>(response: &mut http::Response<R>) {
    let headers = response.headers();
    let out_of_range = headers.get("grpc-status").map(|v| v.as_bytes()) == Some(b"11");
    let oversized = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|m| {
            m.contains("message%20length%20too%20large") || m.contains("message length too large")
        });
    if out_of_range && oversized {
        response
            .headers_mut()
            .insert("grpc-status", http::HeaderValue::from_static("8"));
    }
}
