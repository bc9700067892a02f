//! Findings of the outside audit (issue 11, "Hardening"), each over real
//! sockets and files: the sandbox creates nothing outside `userDataDir`,
//! cross-origin redirects drop every credential header, an HTTP/3 Alt-Svc
//! alternative on another host must pass the URL policy, and HTTP/3 response
//! headers have the same size limit as h1/h2.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;

#[cfg(unix)]
#[test]
fn a_download_through_a_symlink_creates_nothing_outside_user_data_dir() {
    let dirs = Dirs::new();
    let outside = dirs.root.join("outside");
    std::fs::create_dir_all(&outside).expect("mkdir outside");
    std::os::unix::fs::symlink(&outside, dirs.usr().join("escape")).expect("symlink");
    let app = TestApp::new(dirs.config());

    let got = last(app.download(json!({
        "url": dl_url("/bytes/10"),
        "filePath": "wxfile://usr/escape/newdir/deeper/f.bin",
    })));
    assert_eq!(got.kind, wxnet::EventKind::Fail, "{got:?}");
    assert!(
        !outside.join("newdir").exists(),
        "a directory was created outside userDataDir"
    );
    assert_eq!(std::fs::read_dir(&outside).expect("read outside").count(), 0);

    // The symlink as the last directory, and a symlink to a directory inside
    // userDataDir, are refused too: no path to write goes through a symlink.
    std::fs::create_dir_all(dirs.usr().join("real")).expect("mkdir");
    std::os::unix::fs::symlink(dirs.usr().join("real"), dirs.usr().join("inner")).expect("symlink");
    for vpath in ["wxfile://usr/escape/f.bin", "wxfile://usr/inner/new/f.bin"] {
        let got = last(app.download(json!({"url": dl_url("/bytes/10"), "filePath": vpath})));
        assert_eq!(got.kind, wxnet::EventKind::Fail, "{vpath}: {got:?}");
    }
    assert_eq!(std::fs::read_dir(&outside).expect("read outside").count(), 0);
    assert!(!dirs.usr().join("real/new").exists());

    // A file where a directory should be is refused, and ordinary nested
    // directories are still created one level at a time.
    std::fs::write(dirs.usr().join("plain"), b"x").expect("write");
    let got = last(app.download(json!({"url": dl_url("/bytes/10"), "filePath": "wxfile://usr/plain/f.bin"})));
    assert_eq!(got.kind, wxnet::EventKind::Fail, "{got:?}");
    let ok = last(app.download(json!({"url": dl_url("/bytes/10"), "filePath": "wxfile://usr/a/b/c/f.bin"})));
    assert_success(&ok);
    assert_eq!(std::fs::read(dirs.usr().join("a/b/c/f.bin")).expect("file").len(), 10);
}

#[test]
fn a_cross_origin_redirect_drops_authorization_proxy_authorization_and_cookie() {
    let app = TestApp::new(json!({"domains": {"request": ["https://api.wxnet.test", "https://other.wxnet.test"]}}));
    let secrets = json!({
        "Authorization": "Bearer s3cret-auth",
        "Proxy-Authorization": "Basic s3cret-proxy",
        "Cookie": "session=s3cret-cookie",
        "X-Kept": "kept",
    });
    let to = |target: &str| url(&format!("/redirect-to?url={}", urlencode(target)));

    let same = app.terminal(json!({"url": to("https://api.wxnet.test/echo"), "header": secrets}));
    assert_success(&same);
    let headers = &same.data_json()["headers"];
    assert_eq!(headers["authorization"], "Bearer s3cret-auth", "same origin keeps them");
    assert_eq!(headers["proxy-authorization"], "Basic s3cret-proxy");
    assert_eq!(headers["cookie"], "session=s3cret-cookie");

    let cross = app.terminal(json!({"url": to("https://other.wxnet.test/echo"), "header": secrets}));
    assert_success(&cross);
    let echoed = cross.data_json();
    assert_eq!(echoed["authority"], "other.wxnet.test", "{echoed}");
    let headers = &echoed["headers"];
    for name in ["authorization", "proxy-authorization", "cookie"] {
        assert_eq!(headers[name], Value::Null, "{name} crossed origins: {headers}");
    }
    assert_eq!(headers["x-kept"], "kept");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(feature = "quic")]
mod http3 {
    use std::sync::LazyLock;

    use serde_json::{json, Value};
    use wxnet_testserver::{ServerOptions, TestServer};

    use super::support::*;

    /// The HTTP/3 server the alternatives point at.
    static H3: LazyLock<TestServer> = LazyLock::new(|| {
        TestServer::start_with(ServerOptions {
            h3: true,
            ..Default::default()
        })
    });

    fn h3_port() -> u16 {
        H3.h3_port().expect("h3 listener")
    }

    /// An origin (TCP only) whose every response says `Alt-Svc: <alt_svc>`.
    fn origin(alt_svc: String) -> TestServer {
        TestServer::start_with(ServerOptions {
            alt_svc: Some(alt_svc),
            ..Default::default()
        })
    }

    /// An app whose `api.wxnet.test` is `origin`, trusting both servers,
    /// with `alt.wxnet.test` pinned to the HTTP/3 server.
    fn app(origin: &TestServer, extra: Value) -> TestApp {
        let mut config = json!({
            "caCertificates": [origin.ca_pem(), H3.ca_pem()],
            "resolve": {
                "api.wxnet.test:443": format!("127.0.0.1:{}", origin.https_port()),
                format!("alt.wxnet.test:{}", h3_port()): format!("127.0.0.1:{}", h3_port()),
            },
        });
        if let (Value::Object(c), Value::Object(e)) = (&mut config, extra) {
            c.extend(e);
        }
        TestApp::new(config)
    }

    /// Two `enableQuic` requests (the first learns Alt-Svc over TCP); the
    /// protocol of the second.
    fn second_protocol(app: &TestApp) -> String {
        for _ in 0..2 {
            let got = app.terminal(json!({"url": url("/alpn"), "enableQuic": true}));
            assert_success(&got);
            if got.json["profile"]["protocol"] == "h3" {
                return "h3".into();
            }
        }
        let got = app.terminal(json!({"url": url("/alpn"), "enableQuic": true}));
        got.json["profile"]["protocol"].as_str().expect("protocol").to_owned()
    }

    #[test]
    fn an_alt_svc_alternative_on_an_unlisted_host_is_ignored() {
        let unlisted = origin(format!("h3=\"alt.wxnet.test:{}\"; ma=60", h3_port()));
        let plain = app(&unlisted, json!({}));
        assert_eq!(
            second_protocol(&plain),
            "http1.1",
            "alt.wxnet.test is not in the domain list"
        );

        let ip = origin(format!("h3=\"127.0.0.1:{}\"; ma=60", h3_port()));
        let lan = app(&ip, json!({"allowLan": true}));
        assert_eq!(
            second_protocol(&lan),
            "http1.1",
            "loopback is never a target, allowLan or not"
        );

        // The same alternative is used once its host is listed (the policy,
        // not the mere presence of another host, decides).
        let listed = app(
            &unlisted,
            json!({"domains": {"request": ["https://api.wxnet.test", "https://alt.wxnet.test"]}}),
        );
        assert_eq!(second_protocol(&listed), "h3");
    }

    #[test]
    fn http3_response_headers_are_limited_like_h1_and_h2() {
        let own = origin(format!("h3=\":{}\"; ma=60", h3_port()));
        let app = app(&own, json!({}));
        assert_eq!(second_protocol(&app), "h3");
        // The limit is 256 KiB (net/limits.rs), as on h1 and h2.
        let under = app.terminal(json!({"url": url("/large-header?kib=100"), "enableQuic": true}));
        assert_success(&under);
        assert_eq!(under.json["profile"]["protocol"], "h3");
        assert_eq!(
            under.json["header"]["x-large-header"].as_str().map(str::len),
            Some(100 * 1024)
        );
        let over = app.terminal(json!({"url": url("/large-header?kib=300"), "enableQuic": true}));
        assert_eq!(
            over.kind,
            wxnet::EventKind::Fail,
            "300 KiB of headers over HTTP/3: {}",
            over.json["errMsg"]
        );
        // The app goes on working (h3 refuses the stream by closing its connection).
        let after = app.terminal(json!({"url": url("/alpn"), "enableQuic": true}));
        assert_success(&after);
    }
}

/// `timeout` is a Number the mini-program picks: the largest ones (past any clock, and
/// `Number.MAX_VALUE`) mean "no practical limit" for every API, never a panic or a refusal.
#[test]
fn a_timeout_beyond_any_clock_is_harmless() {
    let dirs = Dirs::new();
    let app = TestApp::new(dirs.config());
    std::fs::write(dirs.usr().join("up.txt"), b"hello").expect("write upload source");
    for timeout in [json!(1.8e19), json!(1.7976931348623157e308), json!(u64::MAX)] {
        assert_success(&app.terminal(json!({"url": url("/get"), "timeout": timeout})));
        let download = last(app.download(json!({"url": dl_url("/bytes/10"), "timeout": timeout})));
        assert_success(&download);
        let upload = last(app.upload(json!({
            "url": up_url("/upload"), "filePath": "wxfile://usr/up.txt", "name": "f", "timeout": timeout,
        })));
        assert_success(&upload);
        let id = app.open_socket(json!({"url": ws_url("/ws/echo"), "timeout": timeout}));
        wxnet::socket_of(id).expect("socket").close(1000, "").expect("close");
        assert_socket_lifecycle(&app.closed(id));
    }
}

/// Whether this process has a file descriptor open on `path` (Linux: /proc/self/fd).
#[cfg(target_os = "linux")]
fn fd_open_on(path: &std::path::Path) -> bool {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .any(|target| target == path)
}

/// An upload reads the very file it checked, whatever is swapped in at its path while it
/// waits for a slot: a symlink to a file outside the sandbox (which it used to send), or a
/// FIFO (whose blocking open used to stall the library's only network worker).
#[cfg(target_os = "linux")]
#[test]
fn an_upload_sends_the_file_it_checked_whatever_is_swapped_in_later() {
    for swap in ["symlink", "fifo"] {
        let dirs = Dirs::new();
        let mut config = dirs.config();
        config["maxConcurrentRequests"] = json!(1);
        let app = TestApp::new(config);
        let inside = dirs.usr().join("a.txt");
        std::fs::write(&inside, b"the checked file").expect("write");
        let inside = inside.canonicalize().expect("canonical");
        let outside = dirs.root.join("outside.txt");
        std::fs::write(&outside, b"a file outside the sandbox").expect("write");

        // One request holds the only slot; the upload is checked (its file opened) and waits.
        let holder = app.start(json!({"url": url("/delay/600000")}));
        let up = app
            .app
            .upload_file(
                json!({"url": up_url("/upload"), "filePath": "wxfile://usr/a.txt", "name": "f"})
                    .to_string()
                    .as_bytes(),
                wxnet::UserData(8),
            )
            .expect("upload starts");
        wait_for_condition(
            "the upload opened its file",
            Duration::from_secs(20),
            Duration::from_millis(2),
            || fd_open_on(&inside),
        );
        std::fs::remove_file(&inside).expect("remove");
        match swap {
            "symlink" => std::os::unix::fs::symlink(&outside, &inside).expect("symlink"),
            _ => {
                let status = std::process::Command::new("mkfifo")
                    .arg(&inside)
                    .status()
                    .expect("mkfifo");
                assert!(status.success(), "mkfifo");
            }
        }
        wxnet::task_abort(holder).expect("abort the holder");
        let got = last(app.events.wait(up, Duration::from_secs(60)));
        assert_success(&got);
        let files = &got.data_json()["files"];
        assert_eq!(files[0]["size"], 16, "{swap}: {files}");
        assert_eq!(
            files[0]["sha256"],
            wxnet_testserver::digest_hex(b"the checked file"),
            "{swap}: the server got another file"
        );
    }
}

/// A download checks its destination's directory again before it creates its file and
/// before it renames it into place: a directory swapped for a symlink to a place outside
/// the sandbox while the download waited fails it, and nothing is written outside.
#[cfg(unix)]
#[test]
fn a_download_whose_directory_is_swapped_for_a_symlink_writes_nothing_outside() {
    let dirs = Dirs::new();
    let mut config = dirs.config();
    config["maxConcurrentRequests"] = json!(1);
    let app = TestApp::new(config);
    std::fs::create_dir_all(dirs.usr().join("d")).expect("mkdir d");
    let outside = dirs.root.join("outside");
    std::fs::create_dir_all(outside.join("n")).expect("mkdir outside/n");

    let holder = app.start(json!({"url": url("/delay/600000")}));
    let down = app.start_download(json!({"url": dl_url("/bytes/1000"), "filePath": "wxfile://usr/d/n/f.bin"}));
    // The check creates the missing `n`: it has run.
    wait_for_condition(
        "the download checked its path",
        Duration::from_secs(20),
        Duration::from_millis(2),
        || dirs.usr().join("d/n").is_dir(),
    );
    std::fs::rename(dirs.usr().join("d"), dirs.usr().join("d-was")).expect("move d away");
    std::os::unix::fs::symlink(&outside, dirs.usr().join("d")).expect("symlink d");
    wxnet::task_abort(holder).expect("abort the holder");
    let got = last(app.events.wait(down, Duration::from_secs(60)));
    assert_eq!(got.kind, wxnet::EventKind::Fail, "{got:?}");
    assert_eq!(
        std::fs::read_dir(outside.join("n")).expect("outside/n").count(),
        0,
        "a file was written outside userDataDir"
    );
}

/// `.part` files that downloads of a killed process left behind are removed when an app with
/// those directories starts: only our own names, only old ones (a download of another app or
/// process may be writing a fresh one), at any depth.
#[test]
fn parts_left_by_a_killed_process_are_swept_when_an_app_starts() {
    let dirs = Dirs::new();
    let nested = dirs.usr().join("a/b");
    std::fs::create_dir_all(&nested).expect("mkdir");
    let day_ago = std::time::SystemTime::now() - Duration::from_secs(25 * 3600);
    let stale = [
        dirs.usr().join(".wxnet-0123456789abcdef.part"),
        nested.join(".wxnet-fedcba9876543210.part"),
        dirs.tmp().join(".wxnet-00000000000000aa.part"),
    ];
    let kept_old = [
        dirs.usr().join("notes.wxnet-0123456789abcdef.part"),
        dirs.usr().join(".wxnet-0123456789ABCDEF.part"),
        nested.join("video.mp4.part"),
    ];
    for path in stale.iter().chain(&kept_old) {
        let file = std::fs::File::create(path).expect("create");
        file.set_modified(day_ago).expect("age it");
    }
    let fresh = nested.join(".wxnet-1111111111111111.part");
    std::fs::write(&fresh, b"a download in flight elsewhere").expect("write");

    let app = TestApp::new(dirs.config());
    wait_for_condition(
        "the stale parts are removed",
        Duration::from_secs(20),
        Duration::from_millis(5),
        || stale.iter().all(|p| !p.exists()),
    );
    assert!(fresh.exists(), "a fresh part was removed");
    for path in &kept_old {
        assert!(path.exists(), "{} is not ours and was removed", path.display());
    }
    // Downloads still work, and leave no part of their own.
    assert_success(&last(app.download(
        json!({"url": dl_url("/bytes/100"), "filePath": "wxfile://usr/a/b/f.bin"}),
    )));
    let parts: Vec<_> = std::fs::read_dir(&nested)
        .expect("read")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".part") && n != ".wxnet-1111111111111111.part" && n != "video.mp4.part")
        .collect();
    assert!(parts.is_empty(), "{parts:?}");
    // The part's name does not grow with the destination's: a 255-byte name downloads.
    let long = "n".repeat(255);
    let got = last(app.download(json!({"url": dl_url("/bytes/10"), "filePath": format!("wxfile://usr/{long}")})));
    assert_success(&got);
    assert_eq!(std::fs::read(dirs.usr().join(&long)).expect("the long name").len(), 10);
}
