//! Postgres and Redis processes a test owns, so it can crash and restart them (the fault tests
//! of docs/operations.md). Each lives in its own directory on its own port and is killed when
//! dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port free on 127.0.0.1 now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Where `initdb` and `pg_ctl` are: on the PATH, or Debian's versioned directory.
fn postgres_bin() -> PathBuf {
    if let Ok(output) = Command::new("sh")
        .args(["-c", "command -v pg_ctl"])
        .output()
        && output.status.success()
    {
        let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        return path.parent().unwrap().to_owned();
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("postgres is not installed (make up installs it)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop().expect("no pg_ctl under /usr/lib/postgresql")
}

/// A Postgres cluster of the test's own. As root it runs as the `postgres` user, as `make up`
/// does (Postgres refuses to run as root).
#[derive(Debug)]
pub struct OwnPostgres {
    dir: PathBuf,
    bin: PathBuf,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    /// Whether `dir` is a tmpfs this cluster mounted.
    mounted: bool,
}

fn new_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tw-own-pg-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl OwnPostgres {
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0"));
        if is_root {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    /// Initializes a cluster in a new directory and starts it.
    pub fn start() -> Self {
        Self::start_in(new_dir(), false)
    }

    /// A cluster on a disk of its own of `megabytes` (a tmpfs), so a test can fill it; `None`
    /// when this process may not mount one (mounting needs root).
    pub fn start_on_small_disk(megabytes: u64) -> Option<Self> {
        let dir = new_dir();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        Some(Self::start_in(dir, true))
    }

    fn start_in(dir: PathBuf, mounted: bool) -> Self {
        // The postgres user must own it; chown is a no-op failure when not root.
        let _ = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(&dir)
            .status();
        let postgres = OwnPostgres {
            dir,
            bin: postgres_bin(),
            port: free_port(),
            mounted,
        };
        let status = postgres
            .command("initdb")
            .arg("-D")
            .arg(postgres.dir.join("data"))
            .args([
                "-U",
                "tokenwatch",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdout(Stdio::null())
            .status()
            .expect("initdb");
        assert!(status.success(), "initdb failed");
        postgres.start_again();
        postgres
    }

    /// Starts the cluster (after [`OwnPostgres::crash`] or [`OwnPostgres::stop`]).
    pub fn start_again(&self) {
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("postgres.log"))
            .args(["-w", "-t", "60", "start", "-o"])
            .arg(format!(
                "-p {} -c listen_addresses=127.0.0.1 -k {} -c max_connections=200 -c fsync=off",
                self.port,
                self.dir.display()
            ))
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl start");
        assert!(
            status.success(),
            "postgres did not start; see {}",
            self.dir.display()
        );
        wait_for_port(self.port, "postgres");
    }

    /// Stops the cluster the way a crash or a power cut would (`-m immediate`: no checkpoint,
    /// every connection dropped; recovery replays the WAL on the next start).
    pub fn crash(&self) {
        self.pg_ctl_stop("immediate");
    }

    /// Stops the cluster cleanly.
    pub fn stop(&self) {
        self.pg_ctl_stop("fast");
    }

    fn pg_ctl_stop(&self, mode: &str) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-w", "-m", mode, "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Whether the postmaster is running (it exits when it cannot recover from a crash).
    pub fn is_running(&self) -> bool {
        self.command("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("status")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Fills its disk (see [`OwnPostgres::start_on_small_disk`]) with a file of zeros, to the
    /// last byte.
    pub fn fill_disk(&self) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.dir.join("filler")).unwrap();
        let block = vec![0u8; 1 << 16];
        let mut small = false;
        loop {
            let written = if small {
                filler.write(&block[..512])
            } else {
                filler.write(&block)
            };
            match written {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) if error.raw_os_error() == Some(28) && !small => small = true,
                Err(error) if error.raw_os_error() == Some(28) => break,
                Err(error) => panic!("filling the disk: {error}"),
            }
        }
    }

    /// Gives back what [`OwnPostgres::fill_disk`] took.
    pub fn free_disk(&self) {
        std::fs::remove_file(self.dir.join("filler")).unwrap();
    }

    /// Its processes: the postmaster and every process it started (backends, writers).
    pub fn pids(&self) -> Vec<u32> {
        let Some(postmaster) = std::fs::read_to_string(self.dir.join("data/postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next()?.trim().parse::<u32>().ok())
        else {
            return Vec::new();
        };
        let mut pids = vec![postmaster];
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            // `/proc/PID/stat`: "pid (comm) state ppid ...", comm may hold spaces.
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            if parent == Some(postmaster) {
                pids.push(pid);
            }
        }
        pids
    }

    /// The end of its server log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The URL of a database on it (`postgres` exists from the start).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://tokenwatch@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates an empty database and returns its URL.
    pub async fn create_database(&self, name: &str) -> String {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&self.url("postgres"))
            .await
            .expect("own postgres");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.ok();
        self.url(name)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.crash();
        if self.mounted {
            let _ = Command::new("umount").arg(&self.dir).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis of the test's own (no persistence: a restart loses every key, the worst case).
#[derive(Debug)]
pub struct OwnRedis {
    child: Option<Child>,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

impl OwnRedis {
    /// Starts it.
    pub fn start() -> Self {
        let mut redis = OwnRedis {
            child: None,
            port: free_port(),
        };
        redis.start_again();
        redis
    }

    /// Starts it again on the same port, empty.
    pub fn start_again(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (make up installs it)");
        self.child = Some(child);
        wait_for_port(self.port, "redis");
    }

    /// Kills it (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
