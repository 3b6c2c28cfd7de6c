//! A PostgreSQL server of a test's own, for tests that stop or break it: `initdb` into a
//! private directory, `pg_ctl` on a free loopback port, removed when dropped. The shared
//! server is never touched.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
};

pub struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
}

/// Where the server binaries are: `LEADGRAPH_TEST_PG_BINDIR`, else the newest
/// /usr/lib/postgresql/<version>/bin (Debian's layout).
fn bindir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("LEADGRAPH_TEST_PG_BINDIR") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

impl PrivatePostgres {
    /// Starts a fresh server, or `None` when no server binaries are installed (then the
    /// caller skips, except in CI, where `scripts/test.sh` installs them).
    pub fn start() -> Option<Self> {
        let Some(bin) = bindir() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "no PostgreSQL server binaries; set LEADGRAPH_TEST_PG_BINDIR"
            );
            eprintln!("skipped: no PostgreSQL server binaries (set LEADGRAPH_TEST_PG_BINDIR)");
            return None;
        };
        let dir = std::env::temp_dir().join(format!(
            "leadgraph-pg-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Self { bin, dir, port };
        if running_as_root() {
            // PostgreSQL refuses to run as root: the directory belongs to `postgres`.
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&server.dir));
        }
        server.pg(
            "initdb",
            &[
                "-D",
                &server.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        server.start_again();
        Some(server)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// `host:port` for connection URLs.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Runs a server binary, as `postgres` when the test runs as root.
    fn pg(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut command = if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        run(command.args(args).current_dir(&self.dir));
    }

    /// Starts (or restarts) the server and waits until it accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        self.pg(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server at once, dropping every connection (what a crash or a failover does
    /// to clients).
    pub fn stop(&self) {
        self.pg(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }
}

fn run(command: &mut Command) {
    let output = command.output().expect("run a PostgreSQL command");
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let path = self.bin.join("pg_ctl");
        let mut command = if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "stop"])
            .current_dir(Path::new("/"))
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
