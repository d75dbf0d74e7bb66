// Integration tests link every dependency of the package; only some are used here.
#![allow(unused_crate_dependencies)]

//! `serve` killed with SIGKILL, as a crashed machine or an OOM killer would: mid-ingest and
//! mid-pipeline (every acknowledged record stored once, the findings those of `scan`), and
//! mid-action with the Graph call in flight (a sweep of the restarted process takes the action
//! up again; it ends once).

use std::collections::BTreeMap;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tokenwatch_core::parse::chunk_document;
use tokenwatch_proto::ingest::v1::ingest_service_client::IngestServiceClient;
use tokenwatch_proto::ingest::v1::{Document, IngestBatchRequest, SourceFormat};
use tokenwatch_storage::Database;
use tokenwatch_test_utils::processes::free_port;
use tokenwatch_types::TenantId;

const BIN: &str = env!("CARGO_BIN_EXE_tokenwatch");

/// `serve` in its own process, started again on the same port and stores after a kill.
struct Serve {
    child: Option<Child>,
    env: Vec<(String, String)>,
    log: std::path::PathBuf,
    url: String,
    database_url: String,
}

impl Serve {
    async fn start(fake_url: &str, dir: &std::path::Path) -> Self {
        let port = free_port();
        let database_url = tokenwatch_test_utils::empty_database_url().await;
        let env = [
            ("DATABASE_URL", database_url.clone()),
            ("REDIS_URL", tokenwatch_test_utils::redis_url()),
            ("TOKENWATCH_LISTEN", format!("127.0.0.1:{port}")),
            ("TOKENWATCH_METRICS_LISTEN", "off".to_owned()),
            ("TOKENWATCH_HTTP_ADDR", "off".to_owned()),
            ("TOKENWATCH_SERVER", format!("http://127.0.0.1:{port}")),
            ("TOKENWATCH_DEV_AUTH", "true".to_owned()),
            (
                "TOKENWATCH_DEV_JWT_SECRET",
                "kill-test-secret-kill-test-secret-kill".to_owned(),
            ),
            ("TOKENWATCH_JWT_ISSUER", "tokenwatch-local".to_owned()),
            ("TOKENWATCH_LOG_FORMAT", "json".to_owned()),
            (
                "TOKENWATCH_CREDENTIALS_KEY",
                "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_owned(),
            ),
            ("TOKENWATCH_PIPELINE_WORKERS", "1".to_owned()),
            ("TOKENWATCH_SWEEP_SECONDS", "1".to_owned()),
            ("TOKENWATCH_ACTION_RESUME_SECONDS", "3".to_owned()),
            ("TOKENWATCH_CONNECTOR_CONCURRENCY", "0".to_owned()),
            ("TOKENWATCH_CALLER_RATE", "0".to_owned()),
            ("TOKENWATCH_GRAPH_URL", fake_url.to_owned()),
            ("TOKENWATCH_LOGIN_URL", fake_url.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .chain(
            std::env::var("TOKENWATCH_IPDB")
                .ok()
                .map(|dir| ("TOKENWATCH_IPDB".to_owned(), dir)),
        )
        .collect();
        let mut serve = Serve {
            child: None,
            env,
            log: dir.join("serve.log"),
            url: format!("http://127.0.0.1:{port}"),
            database_url,
        };
        serve.start_again();
        serve
    }

    /// Starts the process (again), and waits until it answers health.
    fn start_again(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(BIN)
            .env_clear()
            .envs(self.env.iter().cloned())
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.ok(&["health", "--wait", "60s"]);
    }

    /// SIGKILL: no drain, no goodbye.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    fn command(&self, token: Option<&str>, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .env_clear()
            .envs(self.env.iter().cloned())
            .args(args);
        if let Some(token) = token {
            command.env("TOKENWATCH_TOKEN", token);
        }
        command
    }

    fn run(&self, token: Option<&str>, args: &[&str]) -> Output {
        self.command(token, args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        self.ok_as(None, args)
    }

    fn ok_as(&self, token: Option<&str>, args: &[&str]) -> String {
        let output = self.run(token, args);
        assert!(
            output.status.success(),
            "tokenwatch {args:?}: {}\nserve's log ends:\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.log_tail()
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn json(&self, token: &str, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok_as(Some(token), args)).unwrap()
    }

    fn token(&self, role: &str, tenant: &str, subject: &str) -> String {
        self.ok(&[
            "token",
            "issue",
            "--role",
            role,
            "--tenant",
            tenant,
            "--subject",
            subject,
        ])
        .trim()
        .to_owned()
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A simulated tenant written to `dir` under a fresh id: the tenant and its files.
fn simulated(dir: &std::path::Path) -> (String, Vec<String>) {
    let simulated = Command::new(BIN)
        .args(["simulate", "--out", dir.to_str().unwrap(), "--seed", "31"])
        .args(["--tenants", "1", "--users", "25", "--days", "8"])
        .output()
        .unwrap();
    assert!(simulated.status.success());
    let labels = std::fs::read_to_string(dir.join("labels.jsonl")).unwrap();
    let label: serde_json::Value = serde_json::from_str(labels.lines().next().unwrap()).unwrap();
    let original = label["tenant_id"].as_str().unwrap().to_owned();
    let tenant = uuid::Uuid::new_v4().to_string();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if (name.starts_with("ual-") || name.starts_with("signins-")) && name.ends_with(".json") {
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, text.replace(&original, &tenant)).unwrap();
            files.push(path.to_str().unwrap().to_owned());
        }
    }
    files.sort();
    (tenant, files)
}

/// A finding as `findings list` and `scan` both print it, keyed by user and session, without
/// what only the server has (id, status).
fn by_session(findings: &serde_json::Value) -> BTreeMap<(String, String), serde_json::Value> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut f = f.clone();
            let object = f.as_object_mut().unwrap();
            object.remove("id");
            object.remove("status");
            let key = (
                object["user"].as_str().unwrap().to_owned(),
                object["session_id"].as_str().unwrap().to_owned(),
            );
            (key, f)
        })
        .collect()
}

async fn tenant_tx(database: &Database, tenant: &str) -> tokenwatch_storage::TenantTx {
    database
        .tenant_tx(TenantId::parse(tenant).unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_ingest_and_mid_action_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (tenant, files) = simulated(dir.path());
    let fake = tokenwatch_msfake::MicrosoftFake::start().await;
    let mut serve = Serve::start(&fake.url, dir.path()).await;
    let admin = serve.ok(&["token", "issue", "--role", "msp_admin"]);
    let admin = admin.trim();
    serve.ok_as(
        Some(admin),
        &["tenant", "add", "--tenant", &tenant, "--name", "Killed"],
    );

    // Ingest in small pieces, each sent again until acknowledged, as connectors and SDKs do.
    let pieces: Vec<Vec<u8>> = files
        .iter()
        .flat_map(|file| chunk_document(&std::fs::read(file).unwrap(), 96 * 1024))
        .collect();
    let total = pieces.len();
    let service = serve.token("service", &tenant, "ingest");
    let channel = tokenwatch_grpc::connect(&serve.url, Some(&service))
        .await
        .unwrap();
    let (progress, mut acknowledged) = tokio::sync::watch::channel(0usize);
    let sending = {
        let tenant = tenant.clone();
        tokio::spawn(async move {
            let mut client =
                IngestServiceClient::new(channel).max_encoding_message_size(usize::MAX);
            let mut retries = 0;
            for (n, piece) in pieces.into_iter().enumerate() {
                let request = IngestBatchRequest {
                    tenant_id: tenant.clone(),
                    document: Some(Document {
                        format: SourceFormat::Unspecified.into(),
                        content: piece,
                        source_name: format!("piece-{n}.json"),
                    }),
                };
                while client.ingest_batch(request.clone()).await.is_err() {
                    retries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                let _ = progress.send(n + 1);
            }
            retries
        })
    };
    // Killed twice: a third of the way in, and two thirds, the pipeline busy behind ingest.
    for share in [3, 3 * 2] {
        acknowledged
            .wait_for(|n| *n >= total * share / 9)
            .await
            .unwrap();
        serve.kill();
        tokio::time::sleep(Duration::from_millis(500)).await;
        serve.start_again();
    }
    let retries = tokio::time::timeout(Duration::from_secs(180), sending)
        .await
        .expect("ingest finished after the restarts")
        .unwrap();
    assert!(retries > 0, "a kill met ingest in flight");

    // Every record once.
    let database = Database::connect(&serve.database_url, 2).await.unwrap();
    let mut tx = tenant_tx(&database, &tenant).await;
    let (rows, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT record_id) FROM raw_records")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    tx.commit().await.unwrap();
    let mut sent = 0;
    for file in &files {
        let records: serde_json::Value =
            serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        // A UAL export is an array; a Graph export a page with its records under `value`.
        let records = records.get("value").unwrap_or(&records);
        sent += records.as_array().unwrap().len() as i64;
    }
    assert_eq!((rows, distinct), (sent, sent), "every record, once");

    // The findings those of the scan.
    let mut scan = vec!["scan", "--format", "json"];
    scan.extend(files.iter().map(String::as_str));
    let scanned = by_session(&serde_json::from_str(&serve.ok(&scan)).unwrap());
    assert!(!scanned.is_empty(), "the simulation has attacks");
    let deadline = Instant::now() + Duration::from_secs(180);
    let online = loop {
        let online = by_session(&serve.json(admin, &["findings", "list", "--format", "json"]));
        if online == scanned {
            break online;
        }
        assert!(
            Instant::now() < deadline,
            "online {:?}\nscanned {:?}",
            online.keys(),
            scanned.keys()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };

    // An action whose Graph call is in flight when the process dies.
    let (user, _) = online.keys().next().unwrap().clone();
    let listed = serve.json(admin, &["findings", "list", "--format", "json"]);
    let finding = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["user"] == user.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    fake.add_app(
        &tenant,
        "0a1b2c3d-0000-4000-8000-00000000a99e",
        "graph-secret",
    );
    fake.add_user(&tenant, "00000000-0000-4000-8000-0000000000a1", &user);
    let set = serve
        .command(
            Some(admin),
            &[
                "tenant",
                "credentials",
                "set",
                "--tenant",
                &tenant,
                "--client-id",
                "0a1b2c3d-0000-4000-8000-00000000a99e",
                "--client-secret-env",
                "GRAPH_SECRET",
            ],
        )
        .env("GRAPH_SECRET", "graph-secret")
        .output()
        .unwrap();
    assert!(set.status.success());
    let alice = serve.token("analyst", &tenant, "alice");
    let bob = serve.token("msp_admin", &tenant, "bob");
    let pending = serve.json(
        &alice,
        &[
            "respond",
            &finding,
            "--action",
            "revoke-sessions",
            "--format",
            "json",
        ],
    );
    let action = pending["id"].as_str().unwrap().to_owned();
    let revocations = || {
        fake.requests()
            .iter()
            .filter(|r| r.path.ends_with("/revokeSignInSessions"))
            .count()
    };
    fake.hang_next("revokeSignInSessions", 1);
    let mut approving = serve
        .command(Some(&bob), &["actions", "approve", &action])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while revocations() == 0 {
        assert!(Instant::now() < deadline, "{}", serve.log_tail());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    serve.kill();
    assert!(
        !approving.wait().unwrap().success(),
        "the approval died with its server"
    );
    let state = || async {
        let mut tx = tenant_tx(&database, &tenant).await;
        let state: (String, i32) =
            sqlx::query_as("SELECT state, attempts FROM actions WHERE action_id = $1::uuid")
                .bind(&action)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        tx.commit().await.unwrap();
        state
    };
    assert_eq!(state().await, ("executing".to_owned(), 1));

    // Restarted: a sweep takes it up once it has sat 3 s; Graph answers this time.
    serve.start_again();
    let deadline = Instant::now() + Duration::from_secs(60);
    while state().await.0 == "executing" {
        assert!(Instant::now() < deadline, "{}", serve.log_tail());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Killed and started again once more: nothing runs it a third time.
    serve.kill();
    serve.start_again();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let shown = serve.json(&alice, &["actions", "show", &action, "--format", "json"]);
    assert_eq!(shown["status"], "succeeded", "{shown}");
    assert_eq!(shown["attempts"], 2, "{shown}");
    assert_eq!(revocations(), 2, "the call cut short, and the resumed one");
    let mut tx = tenant_tx(&database, &tenant).await;
    let history = tokenwatch_storage::audit::history(&mut tx, "action", &action)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Proposed, approved, executing (cut short), executing (resumed), succeeded: one end.
    let steps: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        steps,
        [
            "action.propose",
            "action.approved",
            "action.executing",
            "action.executing",
            "action.succeeded"
        ]
    );
}
