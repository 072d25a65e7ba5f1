//! A real S3-compatible server for tests: `s3s-fs`, started on a free loopback port with a
//! temporary root directory and one bucket, and killed when dropped.
//!
//! `s3s-fs` must be installed (`scripts/setup.sh` does: `cargo install s3s-fs --version
//! 0.14.1 --locked --features binary`); set `S3S_FS_BIN` to use a binary that is not on
//! `PATH`. Without it the tests that need it fail; they are never skipped. Clients get an
//! explicit region, static credentials and a loopback endpoint, so no AWS credential or region
//! chain runs and nothing leaves the machine.

#![allow(clippy::expect_used, reason = "test support: a server that cannot start ends the test")]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{S3Config, S3Limits, SecretString};

/// The bucket the server starts with.
pub const BUCKET: &str = "orator-media";
/// The access key the server accepts.
pub const ACCESS_KEY: &str = "orator-test-access";
/// The secret key the server accepts.
pub const SECRET_KEY: &str = "orator-test-secret-key";
/// The region clients sign for.
pub const REGION: &str = "us-east-1";

/// How long the server may take to accept connections.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
/// How often a fresh port is tried when the server could not start.
const STARTUP_ATTEMPTS: usize = 3;

/// A running `s3s-fs`; dropping it kills the process.
#[derive(Debug)]
pub struct S3sFs {
    child: Child,
    port: u16,
    root: tempfile::TempDir,
    _logs: tempfile::TempDir,
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3sFs {
    /// Starts the server with [`BUCKET`] already made (a bucket is a directory of the root).
    pub fn start() -> Self {
        let binary = s3s_fs_binary();
        let mut last_log = String::new();

        for _ in 0..STARTUP_ATTEMPTS {
            let root = tempfile::tempdir().expect("server root");
            let logs = tempfile::tempdir().expect("server log directory");
            std::fs::create_dir(root.path().join(BUCKET)).expect("bucket directory");
            let port = free_port();
            let log_path = logs.path().join("s3s-fs.log");
            let log = std::fs::File::create(&log_path).expect("server log");

            let child = Command::new(&binary)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
                .arg(root.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("server log"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|err| panic!("could not start {}: {err}", binary.display()));
            let mut server = Self { child, port, root, _logs: logs };

            if server.wait_until_listening() {
                return server;
            }
            last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
        }

        panic!("s3s-fs did not start on a loopback port; its last output:\n{last_log}");
    }

    /// Waits for the port to accept connections; false if the process exited first.
    fn wait_until_listening(&mut self) -> bool {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + STARTUP_TIMEOUT;

        while Instant::now() < deadline {
            if self.child.try_wait().expect("server status").is_some() {
                return false;
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }

        false
    }

    /// `http://127.0.0.1:{port}`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The directory holding the buckets.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The file the server keeps an object of [`BUCKET`] in.
    pub fn object_file(&self, key: &str) -> PathBuf {
        self.root.path().join(BUCKET).join(key)
    }

    /// A storage configuration for this server, with short timeouts and no SDK retries.
    pub fn config(&self) -> S3Config {
        S3Config {
            bucket: BUCKET.to_owned(),
            region: REGION.to_owned(),
            endpoint_url: Some(self.endpoint()),
            force_path_style: true,
            access_key_id: Some(ACCESS_KEY.to_owned()),
            secret_access_key: Some(SecretString::new(SECRET_KEY.to_owned())),
            limits: quick_limits(),
        }
    }

    /// The environment settings that point Orator's storage at this server.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ORATOR_S3_BUCKET", BUCKET.to_owned()),
            ("ORATOR_S3_FORCE_PATH_STYLE", "true".to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
        ]
    }
}

/// Short timeouts and a single attempt, so a broken server fails a test quickly.
pub fn quick_limits() -> S3Limits {
    S3Limits {
        connect_timeout: Duration::from_secs(2),
        attempt_timeout: Duration::from_secs(10),
        operation_timeout: Duration::from_secs(20),
        max_attempts: 1,
        ..S3Limits::default()
    }
}

/// Finds the server binary, failing the test with instructions when it is missing.
fn s3s_fs_binary() -> PathBuf {
    if let Some(explicit) = std::env::var_os("S3S_FS_BIN") {
        return PathBuf::from(explicit);
    }

    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join("s3s-fs"))
        .find(|candidate| candidate.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "s3s-fs is not on PATH: these S3 tests need a real S3-compatible server. Install it \
             with `cargo install s3s-fs --version 0.14.1 --locked --features binary` or point \
             S3S_FS_BIN at the binary."
        )
    })
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");

    listener.local_addr().expect("local address").port()
}
