//! The online pipeline against a Redis Cluster on loopback (redis-server in cluster mode,
//! `redis-cli --cluster create`): the same findings as the offline scan, which is what the
//! pipeline gives against a single Redis (tests/e2e/pipeline.rs), with every key of the tenant in
//! one slot; and the same when the master holding the tenant's slot is killed mid-pipeline and
//! its replica takes over.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokenwatch_cache::{Cache, Target};
use tokenwatch_test_utils::{TestServer, empty_database_url, pipeline_options};

use crate::pipeline::{assert_same, ingest, online, pieces, scan, settle_on, simulated};

/// Three cluster nodes, stopped (and their files removed) on drop.
struct RedisCluster {
    nodes: Vec<Child>,
    ports: Vec<u16>,
    dir: std::path::PathBuf,
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.kill();
            let _ = node.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port whose cluster bus port (+10000) is free too.
fn free_port_pair() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli (make up installs redis-server and redis-tools)");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl RedisCluster {
    /// Three masters, each with `replicas` replicas.
    fn start(replicas: usize) -> Self {
        let dir = std::env::temp_dir().join(format!("tw-redis-cluster-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut cluster = RedisCluster {
            nodes: Vec::new(),
            ports: Vec::new(),
            dir,
        };
        for _ in 0..3 * (1 + replicas) {
            let port = free_port_pair();
            let node = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "5000"])
                .arg("--cluster-config-file")
                .arg(cluster.dir.join(format!("nodes-{port}.conf")))
                .arg("--dir")
                .arg(&cluster.dir)
                .args(["--save", "", "--appendonly", "no"])
                .args(["--maxmemory-policy", "noeviction"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server (make up installs it)");
            cluster.nodes.push(node);
            cluster.ports.push(port);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        for port in &cluster.ports {
            while redis_cli(*port, &["ping"]).trim() != "PONG" {
                assert!(Instant::now() < deadline, "node {port} did not start");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let addresses: Vec<String> = cluster
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .unwrap();
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stdout)
        );
        for port in &cluster.ports {
            while !redis_cli(*port, &["cluster", "info"]).contains("cluster_state:ok") {
                assert!(Instant::now() < deadline, "the cluster did not form");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        cluster
    }

    fn target(&self) -> Target {
        Target::Cluster(
            self.ports
                .iter()
                .map(|p| format!("redis://127.0.0.1:{p}/"))
                .collect(),
        )
    }
}

#[tokio::test]
async fn the_pipeline_on_a_redis_cluster_finds_what_the_scan_finds() {
    let cluster = RedisCluster::start(0);
    let (tenant, files) = simulated(12, 10);
    let server = TestServer::spawn_on_redis(
        &empty_database_url().await,
        &cluster.target(),
        &[],
        pipeline_options(1),
    )
    .await;
    server.register(&[&tenant]).await;
    ingest(&server, &tenant, &pieces(&files)).await;
    let cache = Cache::open(&cluster.target()).await.unwrap();
    settle_on(&server, &tenant, &cache).await;
    assert_same(&online(&server, &tenant).await, &scan(&files, &tenant));

    // The tenant's state is on the cluster, all of it on the node that owns its slot.
    let slot = redis_cli(
        cluster.ports[0],
        &["cluster", "keyslot", &format!("{{{tenant}}}")],
    );
    let holders: Vec<u16> = cluster
        .ports
        .iter()
        .copied()
        .filter(|port| {
            let keys = redis_cli(*port, &["cluster", "countkeysinslot", slot.trim()]);
            keys.trim().parse::<u64>().unwrap_or(0) > 0
        })
        .collect();
    assert_eq!(holders.len(), 1, "one node holds the tenant's slot {slot}");
    let in_slot: u64 = redis_cli(holders[0], &["cluster", "countkeysinslot", slot.trim()])
        .trim()
        .parse()
        .unwrap();
    assert!(in_slot > 3, "the tenant's keys: {in_slot}");
}

/// The master holding the tenant's slot killed mid-pipeline: its replica is promoted (after
/// the 5 s node timeout), possibly without the last writes it had not yet replicated; the
/// workers ride out the failover, and the findings are still the scan's.
#[tokio::test]
async fn a_cluster_master_killed_mid_pipeline_fails_over_to_the_scans_findings() {
    let mut cluster = RedisCluster::start(1);
    let (tenant, files) = simulated(13, 10);
    let server = TestServer::spawn_on_redis(
        &empty_database_url().await,
        &cluster.target(),
        &[],
        pipeline_options(1),
    )
    .await;
    server.register(&[&tenant]).await;
    let pieces = pieces(&files);
    let (first, rest) = pieces.split_at(pieces.len() / 2);
    ingest(&server, &tenant, first).await;

    let slot = redis_cli(
        cluster.ports[0],
        &["cluster", "keyslot", &format!("{{{tenant}}}")],
    );
    let nodes = redis_cli(cluster.ports[0], &["cluster", "shards"]);
    let master = cluster
        .ports
        .iter()
        .position(|port| {
            let role = redis_cli(*port, &["role"]);
            role.starts_with("master")
                && redis_cli(*port, &["cluster", "countkeysinslot", slot.trim()])
                    .trim()
                    .parse::<u64>()
                    .unwrap_or(0)
                    > 0
        })
        .unwrap_or_else(|| panic!("no master holds slot {slot}: {nodes}"));
    let _ = cluster.nodes[master].kill();
    let _ = cluster.nodes[master].wait();
    let survivor = cluster.ports[(master + 1) % cluster.ports.len()];

    ingest(&server, &tenant, rest).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !redis_cli(survivor, &["cluster", "info"]).contains("cluster_state:ok") {
        assert!(Instant::now() < deadline, "no replica took over");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A new client each try: one opened while the nodes still disagree about the slot's
    // master may keep asking the dead one. Until the tenant has settled, an error is waited
    // out as the workers wait it out, and the last answer is reported if it never settles.
    let id = tokenwatch_types::TenantId::parse(&tenant).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let cache = loop {
        let answer = match Cache::open(&cluster.target()).await {
            Ok(cache) => match tokenwatch_pipeline::settled(&server.database, &cache, id).await {
                Ok(true) => break cache,
                Ok(false) => "not yet".to_owned(),
                Err(error) => format!("settled: {error}"),
            },
            Err(error) => format!("open: {error}"),
        };
        assert!(
            Instant::now() < deadline,
            "the pipeline did not settle; last answer: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    settle_on(&server, &tenant, &cache).await;
    assert_same(&online(&server, &tenant).await, &scan(&files, &tenant));
}
