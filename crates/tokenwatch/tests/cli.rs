// Integration tests link every dependency of the package; only some are used here.
#![allow(unused_crate_dependencies)]

//! The binary as an operator uses it: `serve` in its own process with development auth,
//! `health`, `token issue`, the `tenant` commands, the metrics endpoint, and a clean stop on
//! SIGTERM.
//!
//! Longer than most files on purpose: each test drives the real binary through one workflow an
//! operator follows, over one harness that starts `serve` in its own process.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use tokenwatch_test_utils::processes::free_port;

const BIN: &str = env!("CARGO_BIN_EXE_tokenwatch");
const SECRET: &str = "cli-test-secret-cli-test-secret-cli-test";
const TENANT: &str = "c0ffee00-0000-4000-8000-00000000cafe";

struct Server {
    child: Child,
    env: Vec<(String, String)>,
    metrics_port: u16,
}

impl Server {
    /// A command with exactly the environment `source .run/env` would give a user.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .env_clear()
            .envs(self.env.iter().cloned())
            .args(args);
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn run_ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "tokenwatch {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn run_with_token(&self, token: &str, args: &[&str]) -> Output {
        self.command(args)
            .env("TOKENWATCH_TOKEN", token)
            .output()
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

async fn start_server() -> Server {
    start_server_with(&[("TOKENWATCH_PIPELINE_WORKERS", "0")]).await
}

/// A server with extra environment (the IP data always, when `make test` set it).
async fn start_server_with(extra: &[(&str, &str)]) -> Server {
    let port = free_port();
    let metrics_port = free_port();
    let env: Vec<(String, String)> = [
        (
            "DATABASE_URL",
            tokenwatch_test_utils::empty_database_url().await,
        ),
        ("REDIS_URL", tokenwatch_test_utils::redis_url()),
        ("TOKENWATCH_LISTEN", format!("127.0.0.1:{port}")),
        (
            "TOKENWATCH_METRICS_LISTEN",
            format!("127.0.0.1:{metrics_port}"),
        ),
        ("TOKENWATCH_SERVER", format!("http://127.0.0.1:{port}")),
        // Its own console port: servers of tests running at once would share the default.
        ("TOKENWATCH_HTTP_ADDR", format!("127.0.0.1:{}", free_port())),
        ("TOKENWATCH_DEV_AUTH", "true".to_owned()),
        ("TOKENWATCH_DEV_JWT_SECRET", SECRET.to_owned()),
        ("TOKENWATCH_JWT_ISSUER", "tokenwatch-local".to_owned()),
        ("TOKENWATCH_LOG_FORMAT", "json".to_owned()),
        (
            "TOKENWATCH_CREDENTIALS_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .chain(
        std::env::var("TOKENWATCH_IPDB")
            .ok()
            .map(|dir| ("TOKENWATCH_IPDB".to_owned(), dir)),
    )
    .chain(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    )
    .collect();
    let child = Command::new(BIN)
        .env_clear()
        .envs(env.iter().cloned())
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Server {
        child,
        env,
        metrics_port,
    }
}

fn scrape(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    body
}

#[tokio::test]
async fn serve_tokens_tenants_metrics_and_a_clean_stop() {
    let mut server = start_server().await;
    let health = server.run_ok(&["health", "--wait", "60s"]);
    assert_eq!(health.matches("SERVING").count(), 6, "{health}");

    let admin = server.run_ok(&["token", "issue", "--role", "msp_admin"]);
    let admin = admin.trim();
    let added = server.run_with_token(
        admin,
        &[
            "tenant", "add", "--tenant", TENANT, "--name", "Contoso", "--format", "json",
        ],
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let added: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    assert_eq!(added[0]["tenant_id"], TENANT);
    assert_eq!(added[0]["credentials_set"], false);

    // Graph credentials: the secret travels in an environment variable, never as an argument,
    // and comes back only as "set, and when".
    let set = server
        .command(&[
            "tenant",
            "credentials",
            "set",
            "--tenant",
            TENANT,
            "--client-id",
            "0a1b2c3d-0000-4000-8000-00000000a99e",
            "--client-secret-env",
            "CONTOSO_GRAPH_SECRET",
        ])
        .env("TOKENWATCH_TOKEN", admin)
        .env("CONTOSO_GRAPH_SECRET", "not-for-your-eyes")
        .output()
        .unwrap();
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let shown = server.run_with_token(admin, &["tenant", "show", TENANT, "--format", "json"]);
    let text = String::from_utf8(shown.stdout).unwrap();
    let shown: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shown[0]["credentials_set"], true);
    assert!(shown[0]["credentials_update_time"].is_string());
    assert!(!text.contains("not-for-your-eyes"));

    let listed = server.run_with_token(admin, &["tenant", "list"]);
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(listed.starts_with("TENANT"), "{listed}");
    assert!(
        listed.contains(TENANT) && listed.contains("Contoso"),
        "{listed}"
    );

    // A viewer of another tenant is refused, and told so on stderr with exit code 1.
    let viewer = server.run_ok(&[
        "token",
        "issue",
        "--role",
        "tenant_viewer",
        "--tenant",
        "dddddddd-0000-4000-8000-000000000004",
    ]);
    let denied = server.run_with_token(viewer.trim(), &["tenant", "show", TENANT]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&denied.stderr).contains("PermissionDenied"));

    let no_token = server.run(&["tenant", "list"]);
    assert!(String::from_utf8_lossy(&no_token.stderr).contains("Unauthenticated"));

    // Ingest: the core parser fixture (5 good records, 2 bad) for the tenant it names.
    let fixture_tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let added = server.run_with_token(
        admin,
        &[
            "tenant",
            "add",
            "--tenant",
            fixture_tenant,
            "--name",
            "Fixture",
        ],
    );
    assert!(added.status.success());
    let fixture = format!(
        "{}/../core/tests/fixtures/management_activity.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let ingest = |token: &str, file: &str| {
        server.run_with_token(
            token,
            &[
                "ingest",
                "--tenant",
                fixture_tenant,
                "--format",
                "json",
                file,
            ],
        )
    };
    let first = ingest(admin, &fixture);
    assert_eq!(
        first.status.code(),
        Some(3),
        "rejections make the exit code 3"
    );
    let summary: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(
        summary,
        serde_json::json!({
            "accepted": 5, "duplicates": 0, "rejected": 2,
            "rejected_by_reason": {"INVALID_FIELD": 1, "MISSING_FIELD": 1}
        })
    );
    let progress = String::from_utf8_lossy(&first.stderr);
    assert!(
        progress.contains("management_activity.json: 5 accepted, 0 duplicates, 2 rejected"),
        "{progress}"
    );
    let again: serde_json::Value = serde_json::from_slice(&ingest(admin, &fixture).stdout).unwrap();
    assert_eq!(
        (again["accepted"].as_i64(), again["duplicates"].as_i64()),
        (Some(0), Some(5))
    );
    let clean = std::env::temp_dir().join(format!("tw-cli-{}.json", std::process::id()));
    std::fs::write(
        &clean,
        tokenwatch_test_utils::ual_document(fixture_tenant, 0, 300),
    )
    .unwrap();
    let ok = ingest(admin, clean.to_str().unwrap());
    std::fs::remove_file(&clean).ok();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let table = server.run_with_token(admin, &["ingest", "--tenant", fixture_tenant, &fixture]);
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains("duplicates       5") && table.contains("  MISSING_FIELD  1"),
        "{table}"
    );

    let removed = server.run_with_token(admin, &["tenant", "remove", "--tenant", TENANT]);
    assert!(removed.status.success());
    let gone = server.run_with_token(admin, &["tenant", "show", TENANT]);
    assert!(String::from_utf8_lossy(&gone.stderr).contains("NotFound"));

    let metrics = scrape(server.metrics_port);
    assert!(
        metrics.contains(r#"grpc_server_requests_total{rpc="tokenwatch.tenant.v1.TenantService/CreateTenant",code="Ok"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"ingest_records_total{tenant="72f988bf-86f1-41af-91ab-2d7cd011db47",format="management_activity",outcome="accepted"} 305"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"code="PermissionDenied""#), "{metrics}");

    // SIGTERM: health goes NOT_SERVING, calls drain, the process exits 0.
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = wait_with_timeout(&mut server.child, Duration::from_secs(30));
    assert!(status.success(), "serve exited with {status}");
    let mut log = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains(r#""signal":"terminate""#), "{log}");
    assert!(log.contains("grpc server stopped"), "{log}");
    // Every task beside the RPCs was awaited, and said so.
    for task in [
        "responder",
        "webhook deliverer",
        "detection findings feed",
        "response findings feed",
        "connectors",
    ] {
        assert!(
            log.lines()
                .any(|line| line.contains("background task stopped")
                    && line.contains(&format!(r#""task":"{task}""#))),
            "{task} never reported stopping: {log}"
        );
    }
    assert!(log.contains("graph credentials set"), "{log}");
    assert!(
        !log.contains("not-for-your-eyes"),
        "a secret reached the logs"
    );
}

/// `findings list|show|watch` against a served pipeline print what `scan` prints for the same
/// files, plus each finding's id and status.
// Multi-threaded: the Microsoft fake answers while the test blocks on the CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_list_show_and_watch_match_the_scan() {
    let dir = std::env::temp_dir().join(format!("tw-findings-{}", std::process::id()));
    let out = dir.to_str().unwrap().to_owned();
    let simulated = Command::new(BIN)
        .args(["simulate", "--out", &out, "--seed", "23", "--tenants", "1"])
        .args(["--users", "30", "--days", "9"])
        .output()
        .unwrap();
    assert!(simulated.status.success());
    // A tenant of our own, so no other test's Redis keys meet ours.
    let labels = std::fs::read_to_string(dir.join("labels.jsonl")).unwrap();
    let label: serde_json::Value = serde_json::from_str(labels.lines().next().unwrap()).unwrap();
    let original = label["tenant_id"].as_str().unwrap().to_owned();
    let tenant = uuid::Uuid::new_v4().to_string();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.starts_with("ual-") || name.starts_with("signins-") {
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, text.replace(&original, &tenant)).unwrap();
            files.push(path.to_str().unwrap().to_owned());
        }
    }
    files.sort();

    let fake = tokenwatch_msfake::MicrosoftFake::start().await;
    let server = start_server_with(&[
        ("TOKENWATCH_SWEEP_SECONDS", "1"),
        ("TOKENWATCH_GRAPH_URL", &fake.url),
        ("TOKENWATCH_ACTIVITY_URL", &fake.url),
        ("TOKENWATCH_LOGIN_URL", &fake.url),
    ])
    .await;
    server.run_ok(&["health", "--wait", "60s"]);
    let admin = server.run_ok(&["token", "issue", "--role", "msp_admin"]);
    let admin = admin.trim();
    let added = server.run_with_token(
        admin,
        &["tenant", "add", "--tenant", &tenant, "--name", "Sim"],
    );
    assert!(added.status.success());

    let mut watch = server.command(&["findings", "watch", "--format", "json"]);
    watch.env("TOKENWATCH_TOKEN", admin).stdout(Stdio::piped());
    let mut watcher = watch.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));

    let mut ingest = vec!["ingest", "--tenant", tenant.as_str(), "--format", "json"];
    ingest.extend(files.iter().map(String::as_str));
    let ingested = server.run_with_token(admin, &ingest);
    assert!(
        ingested.status.success(),
        "{}",
        String::from_utf8_lossy(&ingested.stderr)
    );

    let mut scan = vec!["scan", "--format", "json"];
    scan.extend(files.iter().map(String::as_str));
    let scanned: serde_json::Value = serde_json::from_str(&server.run_ok(&scan)).unwrap();
    let scanned = scanned.as_array().unwrap().clone();
    assert!(!scanned.is_empty(), "the simulation has attacks");

    // Wait for the pipeline: the listing stops changing and has as many findings as the scan.
    let listed = |args: &[&str]| -> Vec<serde_json::Value> {
        let output = server.run_with_token(admin, args);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&output.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut online = listed(&["findings", "list", "--format", "json"]);
    while online.len() != scanned.len()
        || online != listed(&["findings", "list", "--format", "json"])
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{} online, {} scanned",
            online.len(),
            scanned.len()
        );
        std::thread::sleep(Duration::from_millis(500));
        online = listed(&["findings", "list", "--format", "json"]);
    }
    let key = |f: &serde_json::Value| {
        (
            f["user"].as_str().unwrap().to_owned(),
            f["session_id"].as_str().unwrap().to_owned(),
        )
    };
    let mut by_session: std::collections::BTreeMap<_, _> =
        online.iter().map(|f| (key(f), f.clone())).collect();
    for offline in &scanned {
        let mut found = by_session
            .remove(&key(offline))
            .expect("every scanned finding is online");
        let object = found.as_object_mut().unwrap();
        assert_eq!(object.remove("status").unwrap(), "open");
        let id = object.remove("id").unwrap();
        assert!(uuid::Uuid::parse_str(id.as_str().unwrap()).is_ok());
        assert_eq!(&found, offline, "same fields, same values");
    }
    let limited = listed(&["findings", "list", "--format", "json", "--limit", "1"]);
    assert_eq!(limited.len(), 1);

    let id = online[0]["id"].as_str().unwrap();
    let shown = server.run_with_token(admin, &["findings", "show", id, "--format", "json"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["id"], id);
    let table = server.run_with_token(admin, &["findings", "show", id]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("FEATURE"));

    // A verdict: the finding's status moves, the tenant's weights get a new version.
    let judged = server.run_with_token(
        admin,
        &[
            "verdict",
            id,
            "--label",
            "false-positive",
            "--comment",
            "known VPN",
            "--format",
            "json",
        ],
    );
    assert!(
        judged.status.success(),
        "{}",
        String::from_utf8_lossy(&judged.stderr)
    );
    let judged: serde_json::Value = serde_json::from_slice(&judged.stdout).unwrap();
    assert_eq!(judged["finding_id"], id);
    assert_eq!(judged["weight_version"], 2);
    let shown = server.run_with_token(admin, &["findings", "show", id, "--format", "json"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["status"], "false_positive");

    respond_and_approve(&server, admin, &tenant, &fake, &online[0]);

    // The watcher saw every finding created. It streams as the pipeline writes, a finding at a
    // time, so read it until it has caught up (or a minute has passed) before stopping it.
    let all: std::collections::BTreeSet<_> = online.iter().map(key).collect();
    let (lines, received) = std::sync::mpsc::channel::<String>();
    let stdout = watcher.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut watched: Vec<serde_json::Value> = Vec::new();
    let mut created = std::collections::BTreeSet::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !created.is_superset(&all) && std::time::Instant::now() < deadline {
        if let Ok(line) = received.recv_timeout(Duration::from_millis(500)) {
            let change: serde_json::Value = serde_json::from_str(&line).unwrap();
            if change["change"] == "created" {
                created.insert(key(&change));
            }
            watched.push(change);
        }
    }
    let _ = watcher.kill();
    let _ = watcher.wait();
    // (A finding a late record retracts may also have been streamed: created ⊇ listed.)
    assert!(
        created.is_superset(&all),
        "every finding was streamed as created: missing {:?}; watched {:?}",
        all.difference(&created).collect::<Vec<_>>(),
        watched
            .iter()
            .map(|w| (w["change"].clone(), key(w)))
            .collect::<Vec<_>>()
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "serve did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_refuses_a_bad_configuration_with_every_problem() {
    let output = Command::new(BIN)
        .env_clear()
        .args(["serve", "--metrics-listen", "nowhere"])
        .env("REDIS_URL", "http://127.0.0.1:1")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for problem in [
        "DATABASE_URL is not set",
        "REDIS_URL must start",
        "TOKENWATCH_METRICS_LISTEN",
    ] {
        assert!(stderr.contains(problem), "{stderr}");
    }
}

#[test]
fn token_issue_refuses_without_a_key() {
    let output = Command::new(BIN)
        .env_clear()
        .args(["token", "issue", "--role", "analyst"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing to sign with"));
    let bad_role = Command::new(BIN)
        .env_clear()
        .args(["token", "issue", "--role", "root"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("unknown role"));
}

#[tokio::test]
async fn migrate_creates_and_migrates_a_database_idempotently() {
    let url = tokenwatch_test_utils::empty_database_url().await;
    // A database that does not exist yet is created first.
    let url = format!("{}_new", url);
    for _ in 0..2 {
        let output = Command::new(BIN)
            .env_clear()
            .env("DATABASE_URL", &url)
            .arg("migrate")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.starts_with("database is up to date"), "{stdout}");
    }
}

#[test]
fn simulate_scan_and_eval_beat_the_simple_rules() {
    let ipdb = std::env::var("TOKENWATCH_IPDB")
        .expect("TOKENWATCH_IPDB is not set: run `make test` (it fetches the IP data)");
    let dir = std::env::temp_dir().join(format!("tw-sim-{}", std::process::id()));
    let run = |args: &[&str]| {
        let output = Command::new(BIN)
            .env_clear()
            .env("TOKENWATCH_IPDB", &ipdb)
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    };
    let out = dir.to_str().unwrap();
    run(&[
        "simulate",
        "--out",
        out,
        "--seed",
        "11",
        "--tenants",
        "3",
        "--users",
        "20",
        "--days",
        "12",
    ]);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".json") && !p.ends_with("meta.json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 6, "UAL and sign-ins for each tenant");

    let mut scan = vec!["scan", "--format", "json"];
    scan.extend(files.iter().map(String::as_str));
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&run(&scan)).unwrap();
    assert!(!findings.is_empty());
    for finding in &findings {
        for field in [
            "tenant_id",
            "user",
            "session_id",
            "score",
            "severity",
            "first_seen",
            "last_seen",
            "detected_at",
            "reasons",
        ] {
            assert!(!finding[field].is_null(), "{field} missing: {finding}");
        }
        let detected = finding["detected_at"].as_str().unwrap();
        assert!(chrono_like_rfc3339(detected), "{detected}");
        let reason = &finding["reasons"][0];
        for field in ["feature", "value", "baseline", "contribution"] {
            assert!(!reason[field].is_null(), "{field} missing: {reason}");
        }
    }

    let labels = dir.join("labels.jsonl");
    let mut eval = vec![
        "eval",
        "--format",
        "json",
        "--labels",
        labels.to_str().unwrap(),
        "--scan",
    ];
    eval.extend(files.iter().map(String::as_str));
    let reports: Vec<serde_json::Value> = serde_json::from_slice(&run(&eval)).unwrap();
    // The feedback experiment: week 2 before verdicts, with learned weights, with the suggested
    // suppressions, with both; the issue's bar is half the false positives at the same recall.
    let mut feedback = vec![
        "eval",
        "--format",
        "json",
        "--labels",
        labels.to_str().unwrap(),
        "--feedback",
        "--threshold",
        "1.5",
        "--scan",
    ];
    feedback.extend(files.iter().map(String::as_str));
    let weeks: Vec<serde_json::Value> = serde_json::from_slice(&run(&feedback)).unwrap();
    let names: Vec<&str> = weeks
        .iter()
        .map(|w| w["detector"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "week 2, weights before verdicts",
            "week 2, weights learned from week 1",
            "week 2, suggested suppressions",
            "week 2, learned weights + suppressions",
        ]
    );
    std::fs::remove_dir_all(&dir).ok();
    let metric = |report: &serde_json::Value, name: &str| report[name].as_f64().unwrap();
    let (before, after) = (&weeks[0], &weeks[3]);
    let fp = "false_positives_per_1000_user_days";
    assert!(metric(before, fp) > 0.0, "{before:#}");
    assert!(metric(after, fp) <= metric(before, fp) / 2.0, "{after:#}");
    assert!(
        metric(after, "recall") >= metric(before, "recall") - 0.02,
        "{after:#}"
    );
    let engine = &reports[0];
    assert_eq!(engine["detector"], "tokenwatch");
    assert!(metric(engine, "recall") >= 0.9, "{engine:#}");
    assert!(metric(engine, "precision") >= 0.9, "{engine:#}");
    for rule in &reports[1..] {
        assert!(
            metric(engine, "precision") > metric(rule, "precision"),
            "{rule:#}"
        );
        assert!(
            metric(engine, "recall") >= metric(rule, "recall") - 0.02,
            "{rule:#}"
        );
    }
}

/// `2026-03-02T08:00:00Z` or with a fraction: UTC, RFC 3339.
fn chrono_like_rfc3339(text: &str) -> bool {
    text.len() >= 20 && text.ends_with('Z') && text.as_bytes()[10] == b'T'
}

/// `respond` by one person, `actions approve` by another, against the Microsoft fake.
fn respond_and_approve(
    server: &Server,
    admin: &str,
    tenant: &str,
    fake: &tokenwatch_msfake::MicrosoftFake,
    finding: &serde_json::Value,
) {
    let id = finding["id"].as_str().unwrap();
    let user = finding["user"].as_str().unwrap();
    fake.add_app(
        tenant,
        "0a1b2c3d-0000-4000-8000-00000000a99e",
        "graph-secret",
    );
    fake.add_user(tenant, "00000000-0000-4000-8000-0000000000a1", user);
    let set = server
        .command(&[
            "tenant",
            "credentials",
            "set",
            "--tenant",
            tenant,
            "--client-id",
            "0a1b2c3d-0000-4000-8000-00000000a99e",
            "--client-secret-env",
            "GRAPH_SECRET",
        ])
        .env("TOKENWATCH_TOKEN", admin)
        .env("GRAPH_SECRET", "graph-secret")
        .output()
        .unwrap();
    assert!(set.status.success());
    let person = |subject: &str, role: &str| {
        server
            .run_ok(&[
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
    };
    let (alice, bob) = (person("alice", "analyst"), person("bob", "msp_admin"));

    // The connection test: everything works; then the tenant loses its P1 licence.
    let tested = server.run_with_token(admin, &["tenant", "test", tenant, "--format", "json"]);
    assert!(
        tested.status.success(),
        "{}",
        String::from_utf8_lossy(&tested.stderr)
    );
    let tested: serde_json::Value = serde_json::from_slice(&tested.stdout).unwrap();
    assert_eq!(tested["ok"], true, "{tested}");
    fake.without_premium(tenant);
    let failing = server.run_with_token(admin, &["tenant", "test", tenant, "--format", "json"]);
    assert!(!failing.status.success());
    let failing: serde_json::Value = serde_json::from_slice(&failing.stdout).unwrap();
    let logs = failing["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sign-in logs")
        .unwrap();
    assert_eq!(logs["ok"], false);
    assert!(
        logs["detail"].as_str().unwrap().contains("Entra ID P1"),
        "{logs}"
    );
    let json = |token: &str, args: &[&str]| -> serde_json::Value {
        let output = server.run_with_token(token, args);
        assert!(
            output.status.success(),
            "tokenwatch {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };

    // Which logs to pull: set, changed in part, shown.
    let sources = json(
        admin,
        &[
            "tenant",
            "sources",
            "set",
            "--tenant",
            tenant,
            "--activity-feed",
            "on",
            "--signins",
            "on",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        (
            sources["activity_feed"].as_bool(),
            sources["signins"].as_bool()
        ),
        (Some(true), Some(true))
    );
    let sources = json(
        admin,
        &[
            "tenant",
            "sources",
            "set",
            "--tenant",
            tenant,
            "--signins",
            "off",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        (
            sources["activity_feed"].as_bool(),
            sources["signins"].as_bool()
        ),
        (Some(true), Some(false))
    );
    let shown = json(admin, &["tenant", "show", tenant, "--format", "json"]);
    assert_eq!(shown[0]["sources"]["activity_feed"], true);

    // The connectors pull the activity feed from the fake (nothing new there): every content
    // type succeeds; the sign-ins, switched off, are not pulled any more.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let status = json(
            admin,
            &[
                "connectors",
                "status",
                "--tenant",
                tenant,
                "--format",
                "json",
            ],
        );
        let rows = status.as_array().unwrap();
        let activity: Vec<&serde_json::Value> = rows
            .iter()
            .filter(|r| r["source"].as_str().unwrap().starts_with("Audit."))
            .collect();
        // Caught up: the checkpoints are near now (the backfill is 7 days of windows).
        let caught_up =
            |r: &&serde_json::Value| r["lag_seconds"].as_i64().is_some_and(|lag| lag < 600);
        if activity.len() == 4 && activity.iter().all(caught_up) {
            assert!(
                activity
                    .iter()
                    .all(|r| r["enabled"] == true && r["healthy"] == true)
            );
            assert!(activity.iter().all(|r| r["last_success_time"] != ""));
            let metrics = scrape(server.metrics_port);
            for name in [
                "connector_lag_seconds",
                "connector_last_success_timestamp_seconds",
                "connector_tenant_healthy",
            ] {
                assert!(
                    metrics.contains(&format!("{name}{{")),
                    "{name} missing from the metrics"
                );
            }
            assert!(
                rows.iter()
                    .filter(|r| r["source"].as_str().unwrap().starts_with("signins."))
                    .all(|r| r["enabled"] == false),
                "{status}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status}");
        std::thread::sleep(Duration::from_millis(500));
    }

    let pending = json(
        &alice,
        &[
            "respond",
            id,
            "--action",
            "revoke-sessions",
            "--format",
            "json",
        ],
    );
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["action"], "revoke-sessions");
    assert_eq!(pending["user"], user);
    assert_eq!(pending["finding_id"], id);
    let action = pending["id"].as_str().unwrap();
    assert_eq!(fake.user(tenant, user).unwrap().revocations, 0);

    // The proposer cannot approve; a second person can, and Graph is called once.
    let refused = server.run_with_token(&alice, &["actions", "approve", action]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("PermissionDenied"));
    let done = json(&bob, &["actions", "approve", action, "--format", "json"]);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["approved_by"], "bob");
    assert_eq!(fake.user(tenant, user).unwrap().revocations, 1);
    let shown = json(&alice, &["actions", "show", action, "--format", "json"]);
    assert_eq!(shown["status"], "succeeded");
    let listed = json(&alice, &["actions", "list", "--format", "json"]);
    assert!(listed.as_array().unwrap().iter().any(|a| a["id"] == action));

    // A dry run goes through approval and calls nothing; a cancelled action never runs.
    let dry = json(
        &alice,
        &[
            "respond",
            id,
            "--action",
            "disable-user",
            "--dry-run",
            "--format",
            "json",
        ],
    );
    let dry = json(
        &bob,
        &[
            "actions",
            "approve",
            dry["id"].as_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(
        (dry["status"].as_str(), dry["dry_run"].as_bool()),
        (Some("succeeded"), Some(true))
    );
    let withdrawn = json(
        &alice,
        &[
            "respond",
            id,
            "--action",
            "disable-user",
            "--format",
            "json",
        ],
    );
    let withdrawn = json(
        &alice,
        &[
            "actions",
            "cancel",
            withdrawn["id"].as_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(withdrawn["status"], "cancelled");
    assert!(fake.user(tenant, user).unwrap().account_enabled);

    // The policy: a new tenant's default, then changed in part.
    let policy = json(
        &bob,
        &["policy", "show", "--tenant", tenant, "--format", "json"],
    );
    assert_eq!(policy["default_mode"], "require-approval");
    assert_eq!(
        policy["automatic_actions"],
        serde_json::json!(["revoke-sessions"])
    );
    let policy = json(
        &bob,
        &[
            "policy",
            "set",
            "--tenant",
            tenant,
            "--mode",
            "critical=automatic",
            "--exclude-user",
            "breakglass@contoso.com",
            "--format",
            "json",
        ],
    );
    assert_eq!(policy["mode_by_severity"]["critical"], "automatic");
    assert_eq!(policy["default_mode"], "require-approval", "the rest kept");
    assert_eq!(
        policy["excluded_users"],
        serde_json::json!(["breakglass@contoso.com"])
    );

    // A webhook (its key from the environment) and a suppression, added, listed, removed.
    let added = server
        .command(&[
            "webhooks",
            "add",
            "--tenant",
            tenant,
            "--url",
            "https://hooks.slack.com/services/T0/B0/secretpath",
            "--payload",
            "slack",
            "--secret-env",
            "HOOK_KEY",
            "--format",
            "json",
        ])
        .env("TOKENWATCH_TOKEN", &bob)
        .env("HOOK_KEY", "0123456789abcdef0123")
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let hooks = json(
        &alice,
        &["webhooks", "list", "--tenant", tenant, "--format", "json"],
    );
    assert_eq!(hooks[0]["payload"], "slack");
    assert_eq!(hooks[0]["url"], "https://hooks.slack.com/…");
    let suppression = json(
        &alice,
        &[
            "suppressions",
            "add",
            "--tenant",
            tenant,
            "--kind",
            "asn",
            "--value",
            "9009",
            "--user",
            user,
            "--expires-in",
            "14d",
            "--reason",
            "the team VPN",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        (suppression["kind"].as_str(), suppression["value"].as_str()),
        (Some("asn"), Some("AS9009"))
    );
    let listed = json(
        &alice,
        &[
            "suppressions",
            "list",
            "--tenant",
            tenant,
            "--format",
            "json",
        ],
    );
    assert_eq!(listed.as_array().unwrap().len(), 1);
    server.run_with_token(
        &alice,
        &[
            "suppressions",
            "delete",
            suppression["id"].as_str().unwrap(),
            "--tenant",
            tenant,
        ],
    );
    let listed = json(
        &alice,
        &[
            "suppressions",
            "list",
            "--tenant",
            tenant,
            "--all",
            "--format",
            "json",
        ],
    );
    assert!(listed.as_array().unwrap().is_empty());
}

/// Everything `serve` and the commands print, and every answer they get, with debug logging
/// on everywhere, is searched for each secret the run handled: none may appear.
#[tokio::test]
async fn secrets_never_reach_a_log_an_error_or_an_answer() {
    const CLIENT_SECRET: &str = "graph-client-secret-Qx7vTq9";
    const HOOK_SECRET: &str = "tenant-hook-hmac-key-Wm3kP8";
    const MSP_HOOK_SECRET: &str = "msp-hook-hmac-key-Zr5nB2";
    const HOOK_PATH_SECRET: &str = "B0HOOKPATHSECRETz9";
    const PSA_SECRET: &str = "psa-private-key-Hn4cR7";
    const CREDENTIALS_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let msp_hook = format!("https://hooks.slack.example/services/T0/{HOOK_PATH_SECRET}");
    let mut server = start_server_with(&[
        ("TOKENWATCH_PIPELINE_WORKERS", "0"),
        ("TOKENWATCH_LOG", "debug"),
        // Sign-ins fail fast: the error path is where secrets tend to leak.
        ("TOKENWATCH_LOGIN_URL", "http://127.0.0.1:9"),
        ("TOKENWATCH_GRAPH_URL", "http://127.0.0.1:9"),
        ("TOKENWATCH_WEBHOOK_URL", &msp_hook),
        ("TOKENWATCH_WEBHOOK_SECRET", MSP_HOOK_SECRET),
        // The PSA "runs" on a closed loopback port: calls fail, and say why.
        ("TOKENWATCH_ALLOW_PRIVATE_NETWORKS", "127.0.0.1"),
    ])
    .await;
    // Read the log as it comes, or a full pipe would stall the server.
    let mut stderr = server.child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut log = String::new();
        stderr.read_to_string(&mut log).unwrap();
        log
    });
    let mut seen = String::new();
    let mut record = |output: Output| {
        seen.push_str(&String::from_utf8_lossy(&output.stdout));
        seen.push_str(&String::from_utf8_lossy(&output.stderr));
        output
    };
    record(server.run(&["health", "--wait", "60s"]));
    let admin = server.run_ok(&["token", "issue", "--role", "msp_admin"]);
    let admin = admin.trim().to_owned();
    record(server.run_with_token(
        &admin,
        &["tenant", "add", "--tenant", TENANT, "--name", "Contoso"],
    ));
    let set = record(
        server
            .command(&[
                "tenant",
                "credentials",
                "set",
                "--tenant",
                TENANT,
                "--client-id",
                "0a1b2c3d-0000-4000-8000-00000000a99e",
                "--client-secret-env",
                "GRAPH_SECRET",
            ])
            .env("TOKENWATCH_TOKEN", &admin)
            .env("GRAPH_SECRET", CLIENT_SECRET)
            .output()
            .unwrap(),
    );
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    // Signs in with the secret against a closed port: fails, and says why.
    let tested = record(server.run_with_token(&admin, &["tenant", "test", TENANT]));
    assert!(!tested.status.success());
    let added = record(
        server
            .command(&[
                "webhooks",
                "add",
                "--tenant",
                TENANT,
                "--url",
                &format!("https://hooks.example.com/tenant/{HOOK_PATH_SECRET}"),
                "--secret-env",
                "HOOK_SECRET",
                "--format",
                "json",
            ])
            .env("TOKENWATCH_TOKEN", &admin)
            .env("HOOK_SECRET", HOOK_SECRET)
            .output()
            .unwrap(),
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    record(server.run_with_token(
        &admin,
        &["webhooks", "list", "--tenant", TENANT, "--format", "json"],
    ));
    let connected = record(
        server
            .command(&[
                "psa",
                "connect",
                "--kind",
                "connectwise",
                "--url",
                "http://127.0.0.1:9",
                "--company-id",
                "contosomsp",
                "--public-key",
                "pub1",
                "--client-id",
                "7a1c9e52-3b0d-4f6e-8a21-5c9d0e4f1b37",
                "--secret-env",
                "PSA_SECRET",
                "--format",
                "json",
            ])
            .env("TOKENWATCH_TOKEN", &admin)
            .env("PSA_SECRET", PSA_SECRET)
            .output()
            .unwrap(),
    );
    assert!(
        connected.status.success(),
        "{}",
        String::from_utf8_lossy(&connected.stderr)
    );
    assert!(
        !record(server.run_with_token(&admin, &["psa", "test"]))
            .status
            .success()
    );
    record(server.run_with_token(&admin, &["psa", "show", "--format", "json"]));
    record(server.run_with_token(&admin, &["config", "print"]));
    // A tampered token: refused, and the refusal (logged at debug) does not echo it.
    let (head, rest) = admin.split_once('.').unwrap();
    let tampered = format!("{head}.{}x", &rest[..rest.len() - 1]);
    let refused = record(server.run_with_token(&tampered, &["tenant", "list"]));
    assert!(!refused.status.success());

    let pid = server.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    wait_with_timeout(&mut server.child, Duration::from_secs(30));
    let log = log.join().unwrap();
    assert!(log.contains("token refused"), "debug logging was on");
    assert!(log.contains("\"level\":\"DEBUG\""), "debug logging was on");
    let signature = admin.rsplit('.').next().unwrap();
    for (name, secret) in [
        ("the Graph client secret", CLIENT_SECRET),
        ("a tenant webhook's key", HOOK_SECRET),
        ("the MSP webhook's key", MSP_HOOK_SECRET),
        ("a webhook URL's secret path", HOOK_PATH_SECRET),
        ("the credentials key", CREDENTIALS_KEY),
        ("the PSA's private key", PSA_SECRET),
        ("the development JWT secret", SECRET),
        ("a bearer token's signature", signature),
        (
            "a refused token's signature",
            tampered.rsplit('.').next().unwrap(),
        ),
    ] {
        assert!(!log.contains(secret), "serve logged {name}");
        assert!(!seen.contains(secret), "a command printed {name}");
    }
}

/// SIGTERM when Postgres or Redis has already gone: `serve` still exits within its drain
/// timeout (a background task stuck on a dead store is cancelled after the 20 s grace).
#[tokio::test]
async fn sigterm_with_a_store_already_gone_still_exits_within_the_grace() {
    use tokenwatch_test_utils::processes::{OwnPostgres, OwnRedis};
    for gone in ["postgres", "redis"] {
        let postgres = OwnPostgres::start();
        let database = postgres.create_database("tw_sigterm").await;
        let mut redis = OwnRedis::start();
        let mut server = start_server_with(&[
            ("DATABASE_URL", &database),
            ("REDIS_URL", &redis.url()),
            ("TOKENWATCH_PIPELINE_WORKERS", "1"),
            ("TOKENWATCH_SWEEP_SECONDS", "1"),
        ])
        .await;
        let mut stderr = server.child.stderr.take().unwrap();
        let log = std::thread::spawn(move || {
            let mut log = String::new();
            stderr.read_to_string(&mut log).unwrap();
            log
        });
        server.run_ok(&["health", "--wait", "60s"]);
        match gone {
            "postgres" => postgres.crash(),
            _ => redis.kill(),
        }
        // Let the workers, the responder and the feeds run into the dead store.
        std::thread::sleep(Duration::from_secs(3));
        let started = std::time::Instant::now();
        let pid = server.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        wait_with_timeout(&mut server.child, Duration::from_secs(40));
        let took = started.elapsed();
        let log = log.join().unwrap();
        assert!(
            took < Duration::from_secs(25),
            "with {gone} gone, serve took {took:?} to exit after SIGTERM:\n{log}"
        );
        assert!(log.contains("grpc server stopped"), "{gone}: {log}");
    }
}

/// The README's five commands against a HaloPSA fake, then a monthly report to a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_psa_is_connected_and_mapped_in_five_commands_and_reports_are_written() {
    use tokenwatch_psafake::{FakeKind, PsaFake};

    let psa = PsaFake::start(FakeKind::HaloPsa).await;
    psa.add_company(250, "Contoso Ltd");
    psa.add_company(251, "Fabrikam Inc");
    let server = start_server_with(&[
        ("TOKENWATCH_PIPELINE_WORKERS", "0"),
        // The fake listens on loopback, as an MSP's on-premises PSA would inside.
        ("TOKENWATCH_ALLOW_PRIVATE_NETWORKS", "127.0.0.1"),
    ])
    .await;
    server.run_ok(&["health", "--wait", "60s"]);
    let admin = server.run_ok(&["token", "issue", "--role", "msp_admin"]);
    let admin = admin.trim();
    let added = server.run_with_token(
        admin,
        &["tenant", "add", "--tenant", TENANT, "--name", "Contoso"],
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    let credentials = psa.credentials();
    let auth_url = psa.auth_url();
    let connected = server
        .command(&[
            "psa",
            "connect",
            "--kind",
            "halopsa",
            "--url",
            &psa.url,
            "--auth-url",
            &auth_url,
            "--client-id",
            &credentials.client_id,
            "--secret-env",
            "PSA_KEY",
            "--min-severity",
            "medium",
            "--priority",
            "critical=1",
            "--format",
            "json",
        ])
        .env("TOKENWATCH_TOKEN", admin)
        .env("PSA_KEY", &credentials.secret)
        .output()
        .unwrap();
    assert!(
        connected.status.success(),
        "{}",
        String::from_utf8_lossy(&connected.stderr)
    );
    let text = String::from_utf8(connected.stdout).unwrap();
    assert!(
        !text.contains(&credentials.secret),
        "the secret came back: {text}"
    );
    let connection: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(connection["kind"], "halopsa");
    assert_eq!(connection["min_severity"], "medium");
    assert_eq!(connection["closed_status"], "9");

    let tested = server.run_with_token(admin, &["psa", "test"]);
    let tested_text = String::from_utf8_lossy(&tested.stdout);
    assert!(
        tested.status.success(),
        "{tested_text}{}",
        String::from_utf8_lossy(&tested.stderr)
    );
    assert!(
        tested_text.contains("read clients") && !tested_text.contains("FAILED"),
        "{tested_text}"
    );
    let companies = server.run_with_token(admin, &["psa", "companies", "--search", "contoso"]);
    let companies = String::from_utf8(companies.stdout).unwrap();
    assert!(
        companies.contains("250") && companies.contains("Contoso Ltd"),
        "{companies}"
    );
    assert!(!companies.contains("Fabrikam"), "{companies}");
    let mapped = server.run_with_token(
        admin,
        &["psa", "map", "--tenant", TENANT, "--company", "250"],
    );
    let mapped = String::from_utf8(mapped.stdout).unwrap();
    assert!(mapped.contains("company 250 (Contoso Ltd)"), "{mapped}");
    let status = server.run_with_token(
        admin,
        &["psa", "status", "--tenant", TENANT, "--format", "json"],
    );
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["mapping"]["company_id"], "250");
    assert_eq!(status["backlog"], 0);

    // A PSA that refuses the key is told apart from one that works.
    let wrong = server
        .command(&[
            "psa",
            "connect",
            "--kind",
            "halopsa",
            "--url",
            &psa.url,
            "--auth-url",
            &auth_url,
            "--client-id",
            &credentials.client_id,
            "--secret-env",
            "PSA_KEY",
        ])
        .env("TOKENWATCH_TOKEN", admin)
        .env("PSA_KEY", "not-the-key")
        .output()
        .unwrap();
    assert!(wrong.status.success());
    let failed = server.run_with_token(admin, &["psa", "test"]);
    assert!(!failed.status.success());
    let failed = String::from_utf8_lossy(&failed.stdout);
    assert!(
        failed.contains("FAILED") && failed.contains("Invalid client credentials"),
        "{failed}"
    );
    assert!(!failed.contains("not-the-key"), "{failed}");

    // This month's report, in each format.
    let month = chrono_month();
    let dir = tempfile::tempdir().unwrap();
    for (format, magic) in [
        ("pdf", "%PDF-1.4"),
        ("html", "<!doctype html>"),
        ("json", "{"),
    ] {
        let out = dir.path().join(format!("report.{format}"));
        let written = server.run_with_token(
            admin,
            &[
                "report",
                "--tenant",
                TENANT,
                "--month",
                &month,
                "--format",
                format,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(
            written.status.success(),
            "{}",
            String::from_utf8_lossy(&written.stderr)
        );
        let content = std::fs::read(&out).unwrap();
        assert!(content.starts_with(magic.as_bytes()), "{format}");
    }
    let refused = server.run_with_token(
        admin,
        &[
            "report", "--tenant", TENANT, "--month", "2026-13", "--out", "-",
        ],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("YYYY-MM"));
}

/// The current month, YYYY-MM, from the clock.
fn chrono_month() -> String {
    let output = Command::new("date")
        .args(["-u", "+%Y-%m"])
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}
