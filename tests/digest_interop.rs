//! The digest client against independent server implementations over loopback: Apache httpd's
//! mod_auth_digest (Debian) and httpbin's digest endpoints (PyPI).
//!
//! `make test` installs both and sets ATTENDANCE_SYNC_INTEROP=1, which makes a missing peer a failure.
//! A plain `cargo test` without it skips these tests with a note.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use attendance_sync::isapi::IsapiClient;
use attendance_sync::{DeviceConfig, Error, Password};

const APACHE: &str = "/usr/sbin/apache2";
const APACHE_MODULES: &str = "/usr/lib/apache2/modules";

fn required() -> bool {
    std::env::var_os("ATTENDANCE_SYNC_INTEROP").is_some()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

struct Server {
    child: Child,
    port: u16,
    /// Apache's own stop command: a SIGKILL to the parent would orphan its worker processes.
    stop: Option<Command>,
    /// One peer at a time: Apache's nonces live one second, and peers starting beside a test's exchanges on a
    /// loaded machine let a challenge go stale before its answer (a third exchange where two are asserted).
    _one_at_a_time: MutexGuard<'static, ()>,
}

static ONE_PEER: Mutex<()> = Mutex::new(());

fn one_peer() -> MutexGuard<'static, ()> {
    // A test that panicked while holding it leaves nothing to protect.
    ONE_PEER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Drop for Server {
    fn drop(&mut self) {
        let stopped = self
            .stop
            .as_mut()
            .is_some_and(|stop| stop.status().is_ok_and(|s| s.success()));
        if !stopped {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn wait_listening(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not listen on port {port} within 30 s");
}

/// A directory of its own for each server: tests run in parallel.
fn scratch_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("attendance-sync-{name}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(dir.join("www/ISAPI")).expect("scratch dir");
    dir
}

/// Apache with digest auth on every path; nonces live one second so a pause makes them stale.
fn start_apache() -> Option<Server> {
    if !Path::new(APACHE).exists() {
        assert!(
            !required(),
            "{APACHE} is missing; `make test` installs Debian's apache2-bin"
        );
        eprintln!("skipped: {APACHE} not installed (run `make test`)");
        return None;
    }
    let one_at_a_time = one_peer();
    let dir = scratch_dir("apache");
    let ha1 = digest_auth::Algorithm::new(digest_auth::AlgorithmType::MD5, false)
        .hash(b"admin:ISAPI:Interop-Pass-1");
    std::fs::write(dir.join("htdigest"), format!("admin:ISAPI:{ha1}\n")).expect("htdigest");
    std::fs::write(dir.join("www/ISAPI/ping"), "<ok/>\n").expect("doc");
    let port = free_port();
    let modules = [
        "mpm_event",
        "authn_core",
        "authn_file",
        "authz_core",
        "authz_user",
        "auth_digest",
    ]
    .iter()
    .map(|m| format!("LoadModule {m}_module {APACHE_MODULES}/mod_{m}.so\n"))
    .collect::<String>();
    let d = dir.display();
    let conf = format!(
        "ServerRoot {d}\n{modules}User nobody\nGroup nogroup\nListen 127.0.0.1:{port}\nServerName localhost\n\
         PidFile {d}/httpd.pid\nErrorLog {d}/error.log\nDocumentRoot {d}/www\n\
         <Location \"/\">\n AuthType Digest\n AuthName \"ISAPI\"\n AuthDigestProvider file\n\
          AuthUserFile {d}/htdigest\n AuthDigestNonceLifetime 1\n Require valid-user\n</Location>\n"
    );
    let conf_path = dir.join("httpd.conf");
    std::fs::File::create(&conf_path)
        .and_then(|mut f| f.write_all(conf.as_bytes()))
        .expect("conf");
    let mut child = Command::new(APACHE)
        .args(["-f", &conf_path.to_string_lossy(), "-DFOREGROUND"])
        .stdout(Stdio::null())
        .spawn()
        .expect("start apache2");
    wait_listening(port, &mut child, "apache2");
    let mut stop = Command::new(APACHE);
    stop.args(["-f", &conf_path.to_string_lossy(), "-k", "stop"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Some(Server {
        child,
        port,
        stop: Some(stop),
        _one_at_a_time: one_at_a_time,
    })
}

/// httpbin from the test venv (`ATTENDANCE_SYNC_PYTHON`, set by `make test`).
fn start_httpbin() -> Option<Server> {
    let Some(python) = std::env::var_os("ATTENDANCE_SYNC_PYTHON") else {
        assert!(
            !required(),
            "ATTENDANCE_SYNC_PYTHON must name the venv's python with httpbin installed"
        );
        eprintln!("skipped: ATTENDANCE_SYNC_PYTHON not set (run `make test`)");
        return None;
    };
    let one_at_a_time = one_peer();
    let port = free_port();
    let mut child = Command::new(python)
        .args([
            "-m",
            "httpbin.core",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start httpbin");
    wait_listening(port, &mut child, "httpbin");
    Some(Server {
        child,
        port,
        stop: None,
        _one_at_a_time: one_at_a_time,
    })
}

fn client(port: u16, password: &str) -> IsapiClient {
    let mut cfg = DeviceConfig::new("127.0.0.1", "admin", Password::new(password));
    cfg.port = Some(port);
    cfg.name = "interop".into();
    IsapiClient::new(cfg).expect("client")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn apache_md5_nonce_reuse_and_stale_nonce() {
    let Some(server) = start_apache() else { return };
    let c = client(server.port, "Interop-Pass-1");
    let rt = runtime();
    let body = rt.block_on(c.get("/ISAPI/ping")).expect("first request");
    assert_eq!(&body[..], b"<ok/>\n");
    assert_eq!(c.exchanges(), 2, "challenge + authenticated request");
    // Apache accepts the cached nonce with the next nc: one exchange per request.
    rt.block_on(c.get("/ISAPI/ping")).expect("reused nonce");
    assert_eq!(c.exchanges(), 3);
    // After the one-second nonce lifetime Apache answers 401 stale=true: one retry, no error.
    std::thread::sleep(Duration::from_millis(2500));
    rt.block_on(c.get("/ISAPI/ping"))
        .expect("stale nonce recovered");
    assert_eq!(c.exchanges(), 5, "stale 401 + retry with the fresh nonce");
}

#[test]
fn apache_wrong_password_is_one_rejected_exchange() {
    let Some(server) = start_apache() else { return };
    let c = client(server.port, "wrong-password");
    let err = runtime()
        .block_on(c.get("/ISAPI/ping"))
        .expect_err("must be rejected");
    assert!(matches!(err, Error::Auth { .. }), "{err}");
    assert_eq!(
        c.exchanges(),
        2,
        "challenge + one rejected attempt, never a retry"
    );
    assert!(!err.to_string().contains("wrong-password"));
    // The client refuses to send anything more for this device.
    let again = runtime()
        .block_on(c.get("/ISAPI/ping"))
        .expect_err("still rejected");
    assert!(matches!(again, Error::Auth { .. }));
    assert_eq!(c.exchanges(), 2);
}

fn httpbin_round(algorithm: &str) {
    let Some(server) = start_httpbin() else {
        return;
    };
    let path = format!("/digest-auth/auth/admin/Interop-Pass-1/{algorithm}/never");
    let c = client(server.port, "Interop-Pass-1");
    let rt = runtime();
    let body = rt
        .block_on(c.get(&path))
        .unwrap_or_else(|e| panic!("{algorithm}: {e}"));
    let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(json["authenticated"], true);
    rt.block_on(c.get(&path)).expect("reused nonce");
    assert_eq!(
        c.exchanges(),
        3,
        "{algorithm}: one challenge, then one exchange per request"
    );

    let bad = client(server.port, "not-the-password");
    let err = rt.block_on(bad.get(&path)).expect_err("wrong password");
    assert!(matches!(err, Error::Auth { .. }), "{err}");
    assert_eq!(bad.exchanges(), 2);
}

#[test]
fn httpbin_md5() {
    httpbin_round("MD5");
}

#[test]
fn httpbin_sha256() {
    httpbin_round("SHA-256");
}
