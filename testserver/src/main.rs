//! `wxnet-testserver [--ca-file PATH] [--port-file PATH] [--no-stdin]`
//!
//! Starts the test server, writes its CA to `--ca-file` (default `./wxnet-test-ca.pem`),
//! prints one JSON line to stdout (and to `--port-file` when given):
//! `{"https":PORT,"http":PORT,"https_h1":PORT,"ca":"<absolute path>","hostnames":[...]}`,
//! then serves until stdin reaches EOF (unless `--no-stdin`) or SIGTERM / SIGINT / SIGHUP
//! arrives, and exits 0.
//!
//! Startup, measured on the 2-core dev machine from spawning the process to reading the
//! JSON line in the parent (15 runs each): debug build median 2.5 ms (max 4.2 ms), release
//! build median 1.8 ms. Generating the P-256 CA and leaf is a fraction of a millisecond.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use wxnet_testserver::{ServerOptions, TestServer};

const USAGE: &str = "usage: wxnet-testserver [--ca-file PATH] [--port-file PATH] [--no-stdin]
  --ca-file PATH    where to write the CA certificate (PEM); default ./wxnet-test-ca.pem
  --port-file PATH  also write the JSON line to this file
  --no-stdin        do not stop when stdin reaches EOF (only on a signal)";

struct Args {
    ca_file: PathBuf,
    port_file: Option<PathBuf>,
    watch_stdin: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        ca_file: PathBuf::from("wxnet-test-ca.pem"),
        port_file: None,
        watch_stdin: true,
    };
    let mut it = std::env::args_os().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.to_str() {
            Some("--ca-file") => args.ca_file = value("--ca-file")?.into(),
            Some("--port-file") => args.port_file = Some(value("--port-file")?.into()),
            Some("--no-stdin") => args.watch_stdin = false,
            Some("-h" | "--help") => return Err(String::new()),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(args)
}

/// Writes through a temporary file and a rename, so a reader polling for `path` never sees
/// a partial file.
fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, path)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("wxnet-testserver: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(if msg.is_empty() { 0 } else { 2 });
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wxnet-testserver: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> std::io::Result<()> {
    let server = TestServer::try_start_with(ServerOptions::default())?;
    write_atomically(&args.ca_file, server.ca_pem().as_bytes())?;
    let ca_path = std::fs::canonicalize(&args.ca_file)?;
    let line = serde_json::json!({
        "https": server.https_port(),
        "http": server.http_port(),
        "https_h1": server.https_h1_port(),
        "ca": ca_path.to_string_lossy(),
        "hostnames": TestServer::hostnames(),
    })
    .to_string();
    if let Some(port_file) = &args.port_file {
        write_atomically(port_file, format!("{line}\n").as_bytes())?;
    }
    {
        let mut out = std::io::stdout().lock();
        // A parent that stopped reading stdout is no reason to stop serving.
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    }
    let reason = wait_for_stop(args.watch_stdin)?;
    eprintln!("wxnet-testserver: stopping ({reason})");
    drop(server);
    Ok(())
}

/// Blocks until stdin reaches EOF (when watched) or a termination signal arrives.
fn wait_for_stop(watch_stdin: bool) -> std::io::Result<&'static str> {
    let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
    let mut unwatched = None;
    if watch_stdin {
        // A plain thread: tokio's stdin would keep the runtime from shutting down while a
        // read is pending. The process exits without joining it.
        std::thread::Builder::new().name("stdin-watch".into()).spawn(move || {
            let mut buf = [0u8; 1024];
            let mut stdin = std::io::stdin().lock();
            while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
            let _ = eof_tx.send(());
        })?;
    } else {
        unwatched = Some(eof_tx); // kept until return, so eof_rx never fires
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = runtime.block_on(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = signal(SignalKind::terminate())?;
            let mut hup = signal(SignalKind::hangup())?;
            Ok(tokio::select! {
                _ = eof_rx => "stdin closed",
                _ = term.recv() => "SIGTERM",
                _ = hup.recv() => "SIGHUP",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            })
        }
        #[cfg(not(unix))]
        {
            Ok(tokio::select! {
                _ = eof_rx => "stdin closed",
                _ = tokio::signal::ctrl_c() => "interrupt",
            })
        }
    });
    drop(unwatched);
    result
}
