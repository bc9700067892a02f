//! The `wxnet-testserver` program: the JSON line, the CA file, and how it stops.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Client;

fn spawn(dir: &std::path::Path, extra: &[&str]) -> (Child, serde_json::Value, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wxnet-testserver"))
        .current_dir(dir)
        .args(["--port-file", "ports.json"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn wxnet-testserver");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the first line");
    let elapsed = started.elapsed();
    let json = serde_json::from_str(&line).expect("one JSON line");
    (child, json, elapsed)
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wxnet-testserver-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[tokio::test]
async fn prints_ports_serves_and_stops_at_stdin_eof() {
    let dir = temp_dir("stdin");
    let (mut child, json, elapsed) = spawn(&dir, &[]);
    assert!(elapsed < Duration::from_millis(1000), "startup took {elapsed:?}");

    let ca_path = json["ca"].as_str().expect("ca path");
    assert!(std::path::Path::new(ca_path).is_absolute());
    assert_eq!(
        std::path::Path::new(ca_path),
        dir.join("wxnet-test-ca.pem").canonicalize().expect("ca")
    );
    let ca = std::fs::read_to_string(ca_path).expect("CA file");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    let port_file = std::fs::read_to_string(dir.join("ports.json")).expect("port file");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&port_file).expect("json"),
        json
    );
    assert_eq!(json["hostnames"][1], "api.wxnet.test");

    let port = json["https"].as_u64().expect("https port") as u16;
    let mut client = Client::https(port, &ca).await;
    assert_eq!(client.get("/json").await.json()["hello"], "world");
    let h1 = json["https_h1"].as_u64().expect("https_h1 port") as u16;
    assert_eq!(Client::https(h1, &ca).await.get("/alpn").await.text(), "HTTP/1.1");
    assert!(json["http"].as_u64().is_some());

    drop(child.stdin.take()); // EOF
    assert!(wait_exit(&mut child).success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn stops_on_sigterm_when_not_watching_stdin() {
    let dir = temp_dir("sigterm");
    let (mut child, _json, _) = spawn(&dir, &["--ca-file", "ca.pem", "--no-stdin"]);
    assert!(dir.join("ca.pem").exists());
    drop(child.stdin.take());
    std::thread::sleep(Duration::from_millis(100));
    assert!(child.try_wait().expect("wait").is_none(), "stdin EOF is ignored");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    assert!(wait_exit(&mut child).success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_arguments_exit_2() {
    let status = Command::new(env!("CARGO_BIN_EXE_wxnet-testserver"))
        .arg("--bogus")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run");
    assert_eq!(status.code(), Some(2));
}
