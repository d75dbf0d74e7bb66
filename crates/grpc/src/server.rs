use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use tokenwatch_proto::tonic;
use tokenwatch_proto::tonic::body::Body;
use tokenwatch_proto::tonic::server::NamedService;
use tokenwatch_proto::tonic::service::RoutesBuilder;
use tokenwatch_proto::tonic::transport::Server;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::ServingStatus;
use tower::Service;

use crate::ObserveLayer;

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    /// Reflection could not be built from the descriptors.
    #[error("cannot build reflection")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("grpc transport failed")]
    Transport(#[from] tonic::transport::Error),
    /// The web front (the console and gRPC-Web) failed.
    #[error("http server failed")]
    Web(#[source] std::io::Error),
}

/// How long background tasks get to stop once the server has drained: well inside the 30 s a
/// container orchestrator waits between SIGTERM and SIGKILL.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Logs how a background task ended.
fn report(name: &'static str, ended: Result<(), tokio::task::JoinError>) {
    match ended {
        Ok(()) => tracing::info!(task = name, "background task stopped"),
        Err(error) if error.is_panic() => {
            tracing::error!(task = name, %error, "background task panicked");
        }
        Err(error) => tracing::warn!(task = name, %error, "background task cancelled"),
    }
}

/// The services one process hosts, collected before the server starts.
#[derive(Debug)]
pub struct ServiceSet {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
    draining: tokio::sync::watch::Sender<bool>,
    background: Vec<Background>,
    web: Option<WebFront>,
}

/// A second listener for browsers: a site (the console) and, beside it on the same origin, the
/// same services through gRPC-Web over HTTP/1.1.
#[derive(Debug)]
struct WebFront {
    listener: TcpListener,
    site: axum::Router,
}

/// A task a service runs beside its RPCs (a responder, a feed listener), watching the set's
/// `draining` signal to stop. [`ServiceSet::take_background`] hands them to whoever runs the
/// server, which awaits each on shutdown.
#[derive(Debug)]
pub struct Background {
    name: &'static str,
    handle: tokio::task::JoinHandle<()>,
}

impl Background {
    /// Starts `task` now.
    pub fn spawn(name: &'static str, task: impl Future<Output = ()> + Send + 'static) -> Self {
        Background {
            name,
            handle: tokio::spawn(task),
        }
    }

    /// Waits for the task to end, and logs how it ended.
    pub async fn join(self) {
        report(self.name, self.handle.await);
    }

    /// Waits for every task to end, for at most `grace` in all: a task still running then (one
    /// stuck on a database that went away) is cancelled, and the log says which.
    pub async fn join_all(tasks: Vec<Background>, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        for mut task in tasks {
            match tokio::time::timeout_at(deadline, &mut task.handle).await {
                Ok(ended) => report(task.name, ended),
                Err(_) => {
                    tracing::warn!(
                        task = task.name,
                        grace_seconds = grace.as_secs(),
                        "background task did not stop in time; cancelling it"
                    );
                    task.handle.abort();
                    task.join().await;
                }
            }
        }
    }
}

impl Default for ServiceSet {
    fn default() -> Self {
        ServiceSet {
            routes: RoutesBuilder::default(),
            names: Vec::new(),
            draining: tokio::sync::watch::channel(false).0,
            background: Vec::new(),
            web: None,
        }
    }
}

impl ServiceSet {
    /// Turns true when the server starts draining: long-lived streams (WatchFindings) end then,
    /// or the drain would wait for them forever.
    pub fn draining(&self) -> tokio::sync::watch::Receiver<bool> {
        self.draining.subscribe()
    }

    /// Runs `task` beside the services; it must end once [`ServiceSet::draining`] turns true.
    pub fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        self.background.push(Background::spawn(name, task));
    }

    /// The background tasks started so far, for the caller of [`serve`] to await after it.
    pub fn take_background(&mut self) -> Vec<Background> {
        std::mem::take(&mut self.background)
    }

    /// Adds a service; its name is reported by health and listed by reflection.
    pub fn add<S>(&mut self, service: S) -> &mut Self
    where
        S: Service<http::Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Also serves `site` on `listener`, with every service added reachable there through
    /// gRPC-Web (what a browser can speak). Requests the site does not route go to the services.
    pub fn serve_web(&mut self, listener: TcpListener, site: axum::Router) -> &mut Self {
        self.web = Some(WebFront { listener, site });
        self
    }

    /// Names of the services added so far.
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }
}

/// Serves `services` on `listener` until `shutdown` completes, then reports every service
/// NOT_SERVING and drains in-flight calls.
pub async fn serve(
    listener: TcpListener,
    services: ServiceSet,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), GrpcError> {
    let ServiceSet {
        routes,
        names,
        draining,
        background,
        web,
    } = services;
    let routes = routes.routes();

    let (health_reporter, health_service) = tonic_health::server::health_reporter();

    let reflection = |builder: tonic_reflection::server::Builder<'static>| {
        // Both reflection versions describe both, so a client of either can resolve every
        // service the listing names.
        let builder = builder
            .include_reflection_service(false)
            .register_encoded_file_descriptor_set(tokenwatch_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            )
            .with_service_name("grpc.health.v1.Health")
            .with_service_name("grpc.reflection.v1.ServerReflection")
            .with_service_name("grpc.reflection.v1alpha.ServerReflection");
        names
            .iter()
            .fold(builder, |builder, name| builder.with_service_name(*name))
    };
    let reflection_v1 = reflection(tonic_reflection::server::Builder::configure()).build_v1()?;
    let reflection_v1alpha =
        reflection(tonic_reflection::server::Builder::configure()).build_v1alpha()?;

    for name in &names {
        health_reporter
            .set_service_status(*name, ServingStatus::Serving)
            .await;
    }
    health_reporter
        .set_service_status("", ServingStatus::Serving)
        .await;

    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, enabled_services = ?names, "serving grpc");
    }

    let web_server = web.map(|front| {
        let api = tower::ServiceBuilder::new()
            .layer(ObserveLayer)
            .layer(tonic_web::GrpcWebLayer::new())
            .service(routes.clone().into_axum_router());
        let app = front.site.fallback_service(api);
        let mut drained = draining.subscribe();
        if let Ok(address) = front.listener.local_addr() {
            tracing::info!(%address, "serving the console and grpc-web");
        }
        axum::serve(front.listener, app).with_graceful_shutdown(async move {
            let _ = drained.wait_for(|draining| *draining).await;
        })
    });
    let web_server = async move {
        match web_server {
            Some(server) => server.await.map_err(GrpcError::Web),
            None => Ok(()),
        }
    };

    // When the gRPC server stops, for whatever reason, the web front drains too.
    let web_stop = draining.clone();
    let reporter = health_reporter.clone();
    let names_for_shutdown = names.clone();
    let shutdown = async move {
        shutdown.await;
        // Tell load balancers first, then stop accepting and drain.
        for name in names_for_shutdown.iter().copied().chain([""]) {
            reporter
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        tracing::info!("grpc server draining");
        let _ = draining.send(true);
    };

    let grpc_server = Server::builder()
        .max_connection_age(Duration::from_secs(30 * 60))
        .max_connection_age_grace(Duration::from_secs(60))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .layer(ObserveLayer)
        .add_routes(routes)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown);
    let grpc_server = async move {
        let served = grpc_server.await;
        let _ = web_stop.send(true);
        served
    };
    let (grpc_served, web_served) = tokio::join!(grpc_server, web_server);
    tracing::info!("grpc server stopped");
    grpc_served?;
    web_served?;
    // Tasks nobody took are awaited here, so none outlives the server unseen.
    Background::join_all(background, SHUTDOWN_GRACE).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    /// Sets its flag when dropped: a cancelled task drops its future.
    struct Dropped(Arc<AtomicBool>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn a_task_that_does_not_stop_is_cancelled_once_the_grace_is_over() {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let obedient = Background::spawn("obedient", async move {
            let _ = stopped.await;
        });
        let cancelled = Arc::new(AtomicBool::new(false));
        let guard = Dropped(Arc::clone(&cancelled));
        let stuck = Background::spawn("stuck", async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        drop(stop);
        let joined = tokio::time::timeout(
            Duration::from_secs(5),
            Background::join_all(vec![obedient, stuck], Duration::from_millis(200)),
        )
        .await;
        assert!(joined.is_ok(), "join_all waited past its grace");
        assert!(
            cancelled.load(Ordering::SeqCst),
            "the stuck task was left running"
        );
    }
}
