//! A moto server (AWS API emulator, pinned 5.2.5) on 127.0.0.1 for one test, stopped when
//! dropped. Never any other address.
//!
//! Found at `$FLOWC_MOTO_DIR`, else `../shared/tools/moto/` beside the repository (CI clones
//! the repository with `shared/` beside it), else `../../shared/tools/moto/`. The Python is
//! `$FLOWC_MOTO_PYTHON`, else `.ci/venv/bin/python` (installed by `.ci/run`), else
//! `.moto-venv/bin/python`.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The port.
    pub port: u16,
    log: PathBuf,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn moto_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("FLOWC_MOTO_DIR") {
        return PathBuf::from(d);
    }
    let candidates = [
        repo().join("../shared/tools/moto"),
        repo().join("../../shared/tools/moto"),
    ];
    for c in &candidates {
        if c.join("moto_launch.py").is_file() {
            return c.clone();
        }
    }
    panic!(
        "moto tools not found: set FLOWC_MOTO_DIR (looked in {:?})",
        candidates
    );
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("FLOWC_MOTO_PYTHON") {
        return PathBuf::from(p);
    }
    for c in [".ci/venv/bin/python", ".moto-venv/bin/python"] {
        let p = repo().join(c);
        if p.is_file() {
            return p;
        }
    }
    panic!("no Python with moto[server]==5.2.5: run .ci/run's install step (python3 -m venv .ci/venv && .ci/venv/bin/pip install 'moto[server]==5.2.5')");
}

/// Credentials and settings the AWS SDK needs for moto (any static keys), set once per
/// test process before any client is built.
pub fn fake_credentials() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::remove_var("AWS_PROFILE");
        std::env::remove_var("AWS_ENDPOINT_URL");
    });
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// One HTTP request to the server; returns the status code.
pub fn http(port: u16, method: &str, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split_whitespace().nth(1)?.parse().ok()
}

impl Moto {
    /// Starts moto with `extra_env` (e.g. `MOTO_SIMPLE_BATCH_FAIL_AFTER=0`) and waits until it
    /// answers (at most 60 s).
    pub fn start_with(extra_env: &[(&str, &str)]) -> Moto {
        fake_credentials();
        let port = free_port();
        let log = std::env::temp_dir().join(format!("flowc-moto-{port}.log"));
        let out = std::fs::File::create(&log).expect("moto log file");
        let err = out.try_clone().expect("moto log file");
        let mut cmd = Command::new(python());
        cmd.arg(moto_dir().join("moto_launch.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start moto_launch.py");
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if http(port, "POST", "/moto-api/reset") == Some(200) {
                return moto;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto exited ({status}): {}", moto.log_text());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("moto did not answer within 60 s: {}", moto.log_text());
    }

    /// Starts moto with default settings.
    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A `flowc.toml` pointing every setting at this server.
    pub fn config_toml(&self) -> String {
        format!(
            "[aws]\nregion = \"us-east-1\"\nendpoint_url = \"{}\"\n\n[deploy]\n\
             datastore = \"s3://flowc-test/data\"\njob_queue = \"flowc-queue\"\n\
             job_role = \"{ROLE_JOB}\"\nstate_machine_role = \"{ROLE_STATES}\"\n\
             events_role = \"{ROLE_EVENTS}\"\nimage = \"flowc-runtime:1\"\n",
            self.endpoint
        )
    }
}

/// Role ARNs the tests create in moto (account 123456789012 is moto's default).
pub const ROLE_JOB: &str = "arn:aws:iam::123456789012:role/flowc-batch-job";
/// State machine role.
pub const ROLE_STATES: &str = "arn:aws:iam::123456789012:role/flowc-states";
/// EventBridge / Scheduler role.
pub const ROLE_EVENTS: &str = "arn:aws:iam::123456789012:role/flowc-events";

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Writes `files` (path, text) under `dir`.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (p, text) in files {
        let path = dir.join(p);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }
}

/// The bucket and roles a platform engineer creates once (flowc never creates roles).
pub async fn seed(aws: &flowc::aws::clients::Aws) {
    aws.s3
        .create_bucket()
        .bucket("flowc-test")
        .send()
        .await
        .expect("create bucket");
    for arn in [ROLE_JOB, ROLE_STATES, ROLE_EVENTS] {
        aws.iam
            .create_role()
            .role_name(flowc::aws::deploy::role_name(arn))
            .assume_role_policy_document("{}")
            .send()
            .await
            .expect("create role");
    }
}

/// An unmanaged compute environment and the job queue `flowc-queue` of the test config, so
/// moto's Step Functions interpreter can run `batch:submitJob.sync` tasks.
pub async fn seed_job_queue(aws: &flowc::aws::clients::Aws) {
    seed_job_queues(aws, &["flowc-queue".to_string()]).await;
}

/// IAM roles by ARN (their names).
pub async fn seed_roles(aws: &flowc::aws::clients::Aws, arns: &[String]) {
    for arn in arns {
        aws.iam
            .create_role()
            .role_name(flowc::aws::deploy::role_name(arn))
            .assume_role_policy_document("{}")
            .send()
            .await
            .expect("create role");
    }
}

/// An unmanaged compute environment and these job queues.
pub async fn seed_job_queues(aws: &flowc::aws::clients::Aws, queues: &[String]) {
    use aws_sdk_batch::types::{CeState, CeType, ComputeEnvironmentOrder};
    let service = aws
        .iam
        .create_role()
        .role_name("flowc-batch-service")
        .assume_role_policy_document("{}")
        .send()
        .await
        .expect("service role");
    let service_arn = service
        .role()
        .map(|r| r.arn().to_string())
        .unwrap_or_default();
    let ce = aws
        .batch
        .create_compute_environment()
        .compute_environment_name("flowc-ce")
        .r#type(CeType::Unmanaged)
        .state(CeState::Enabled)
        .service_role(service_arn)
        .send()
        .await
        .expect("compute environment");
    let order = ComputeEnvironmentOrder::builder()
        .order(1)
        .compute_environment(ce.compute_environment_arn().unwrap_or("flowc-ce"))
        .build();
    for q in queues {
        aws.batch
            .create_job_queue()
            .job_queue_name(q)
            .priority(1)
            .state(aws_sdk_batch::types::JqState::Enabled)
            .compute_environment_order(order.clone())
            .send()
            .await
            .expect("job queue");
    }
}
