//! wx.uploadFile and wx.downloadFile end to end: streamed bodies, progress,
//! the sandbox, the size limit, and no partial file left behind.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;
use wxnet::EventKind;
use wxnet_testserver::{check_pattern, digest_hex};

#[test]
fn upload_of_a_multi_megabyte_file_arrives_byte_for_byte_with_form_fields() {
    let dirs = Dirs::new();
    let content: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i * 7 % 253) as u8).collect();
    std::fs::create_dir_all(dirs.usr().join("photos")).expect("mkdir");
    std::fs::write(dirs.usr().join("photos/cat.png"), &content).expect("write");
    let app = TestApp::new(dirs.config());
    let events = app.upload(json!({
        "url": up_url("/upload"), "filePath": "wxfile://usr/photos/cat.png", "name": "file",
        "formData": {"user": "张三", "n": 5}, "header": {"X-Trace": "t1"}
    }));
    assert_progress(&events);
    let last_progress = events
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::Progress)
        .expect("progress");
    assert_eq!(
        last_progress.json["totalBytesSent"],
        last_progress.json["totalBytesExpectedToSend"]
    );
    assert!(last_progress.json["totalBytesSent"].as_u64().expect("n") > content.len() as u64);
    assert!(events.iter().any(|e| e.kind == EventKind::HeadersReceived));
    let ok = last(events);
    assert_success(&ok);
    assert_eq!(ok.json["errMsg"], "uploadFile:ok");
    assert_eq!(ok.json["statusCode"], 200);
    assert!(ok.json["profile"]["requestStart"].as_f64().expect("n") > 0.0);
    let server = ok.data_json();
    assert_eq!(server["fields"]["user"], "张三");
    assert_eq!(server["fields"]["n"], "5");
    let file = &server["files"][0];
    assert_eq!(file["name"], "file");
    assert_eq!(file["filename"], "cat.png");
    assert_eq!(file["contentType"], "image/png");
    assert_eq!(file["size"], content.len());
    assert_eq!(file["sha256"], digest_hex(&content));
}

#[test]
fn upload_rejects_missing_files_escapes_and_bad_options() {
    let dirs = Dirs::new();
    std::fs::write(dirs.root.join("secret.txt"), b"s").expect("write");
    let app = TestApp::new(dirs.config());
    let up = |path: &str| last(app.upload(json!({"url": up_url("/upload"), "filePath": path, "name": "f"})));
    assert_fail(&up("wxfile://usr/nope.txt"), 603303, "uploadFile:fail file not found");
    for escape in [
        "wxfile://usr/../secret.txt",
        "/etc/passwd",
        "wxfile://usr/%2e%2e/secret.txt",
        "wxfile://tmp_../secret.txt",
    ] {
        assert_fail(&up(escape), 603303, "uploadFile:fail permission denied");
    }
    std::fs::write(dirs.usr().join("a.txt"), b"a").expect("write");
    assert_fail(
        &last(app.upload(json!({"url": up_url("/upload"), "filePath": "wxfile://usr/a.txt"}))),
        1001,
        "uploadFile:fail parameter error",
    );
    assert_fail(
        &last(app.upload(json!({"url": url("/upload"), "filePath": "wxfile://usr/a.txt", "name": "f"}))),
        600002,
        "uploadFile:fail url not in domain list",
    );
    let no_dirs = TestApp::new(json!({}));
    assert_fail(
        &last(no_dirs.upload(json!({"url": up_url("/upload"), "filePath": "wxfile://usr/a.txt", "name": "f"}))),
        603303,
        "uploadFile:fail",
    );
}

#[test]
fn download_to_temp_file_byte_for_byte_with_progress() {
    let dirs = Dirs::new();
    let app = TestApp::new(dirs.config());
    let n = 3_000_000;
    let events = app.download(json!({"url": dl_url(&format!("/bytes/{n}?ext=.png"))}));
    assert_progress(&events);
    assert_eq!(events[0].kind, EventKind::HeadersReceived);
    let ok = last(events);
    assert_success(&ok);
    assert_eq!(ok.json["errMsg"], "downloadFile:ok");
    assert_eq!(ok.json["statusCode"], 200);
    let vpath = ok.json["tempFilePath"].as_str().expect("tempFilePath");
    let name = vpath.strip_prefix("wxfile://tmp_").expect("temp path");
    assert!(
        name.ends_with(".png") && name.len() == 32 + 4 && name[..32].bytes().all(|b| b.is_ascii_hexdigit()),
        "{vpath}"
    );
    let data = std::fs::read(dirs.real(vpath)).expect("file");
    assert_eq!(data.len(), n);
    assert_eq!(check_pattern(0, &data), None);
    assert_eq!(dirs.files().len(), 1, "no .part left: {:?}", dirs.files());
}

#[test]
fn download_to_user_file_any_status_and_decoded() {
    let dirs = Dirs::new();
    let app = TestApp::new(dirs.config());
    let ok = last(app.download(json!({"url": dl_url("/status/404"), "filePath": "wxfile://usr/d/e/404.txt"})));
    assert_success(&ok);
    assert_eq!(ok.json["statusCode"], 404);
    assert_eq!(ok.json["filePath"], "wxfile://usr/d/e/404.txt");
    assert_eq!(
        std::fs::read(dirs.usr().join("d/e/404.txt")).expect("file"),
        b"status 404"
    );
    let gz = last(app.download(json!({"url": dl_url("/gzip"), "filePath": "wxfile://usr/g.json"})));
    assert_success(&gz);
    let body: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dirs.usr().join("g.json")).expect("file")).expect("json");
    assert_eq!(body["compressed"], "gzip");
    assert_fail(
        &last(app.download(json!({"url": dl_url("/json"), "filePath": "wxfile://tmp_x.json"}))),
        603303,
        "downloadFile:fail permission denied",
    );
    assert_fail(
        &last(app.download(json!({"url": dl_url("/json"), "filePath": "wxfile://usr/../x"}))),
        603303,
        "downloadFile:fail",
    );
    assert_fail(
        &last(app.download(json!({"url": url("/json")}))),
        600002,
        "downloadFile:fail url not in domain list",
    );
}

#[test]
fn sixty_megabytes_exceed_the_default_limit_and_leave_nothing() {
    let dirs = Dirs::new();
    let app = TestApp::new(dirs.config());
    for path in ["/bytes/62914560", "/bytes/62914560?no_length=1"] {
        let fail = last(app.download(json!({"url": dl_url(path)})));
        assert_fail(&fail, 603301, "downloadFile:fail exceed max file size");
    }
    assert!(dirs.files().is_empty(), "{:?}", dirs.files());
}

#[test]
fn a_server_lying_about_content_length_fails_cleanly() {
    let dirs = Dirs::new();
    let app = TestApp::new(json!({"tempDir": dirs.tmp(), "userDataDir": dirs.usr(), "maxDownloadBytes": 100000}));
    // Claims 5000 bytes, sends 1000 and closes.
    assert_fail(
        &last(app.download(json!({"url": dl_url("/bytes/1000?lie_length=5000")}))),
        600001,
        "downloadFile:fail",
    );
    // Claims 10 bytes but would send more than the limit: only what was announced is read.
    let short = last(app.download(json!({"url": dl_url("/bytes/500000?lie_length=10")})));
    assert_success(&short);
    // No length at all, more than the limit: counted on bytes received.
    assert_fail(
        &last(app.download(json!({"url": dl_url("/bytes/500000?no_length=1")}))),
        603301,
        "downloadFile:fail exceed max file size",
    );
    // Announced more than the limit: fails before writing.
    assert_fail(
        &last(app.download(json!({"url": dl_url("/bytes/500000")}))),
        603301,
        "downloadFile:fail exceed max file size",
    );
    let files = dirs.files();
    assert_eq!(files.len(), 1, "only the honest short file: {files:?}");
}

#[test]
fn abort_timeout_and_app_free_mid_transfer_leave_no_file() {
    let dirs = Dirs::new();
    let app = TestApp::new(dirs.config());
    let id = app.start_download(json!({"url": dl_url("/bytes/30000000?rate_kbps=2000")}));
    app.wait_until(id, |e| e.iter().any(|g| g.kind == EventKind::Progress));
    wxnet::task_abort(id).expect("abort");
    assert_fail(
        &last(app.events.wait(id, Duration::from_secs(10))),
        603105,
        "downloadFile:fail abort",
    );
    assert!(
        dirs.files().is_empty(),
        "no .part once FAIL is seen: {:?}",
        dirs.files()
    );
    let timed = last(app.download(json!({"url": dl_url("/bytes/30000000?rate_kbps=2000"), "timeout": 300})));
    assert_fail(&timed, 5, "downloadFile:fail timeout");
    assert!(
        dirs.files().is_empty(),
        "no .part once FAIL is seen: {:?}",
        dirs.files()
    );
    let in_flight = app.start_download(json!({"url": dl_url("/bytes/30000000?rate_kbps=2000&t=free")}));
    // Mid-transfer: the .part file exists once the first bytes are written.
    app.wait_until(in_flight, |e| e.iter().any(|g| g.kind == EventKind::Progress));
    app.app.close().expect("free");
    assert_fail(&last(app.events.snapshot(in_flight)), 603105, "downloadFile:fail abort");
    assert!(dirs.files().is_empty(), "{:?}", dirs.files());
}

#[test]
fn uploads_and_downloads_share_the_in_flight_limit() {
    let dirs = Dirs::new();
    std::fs::write(dirs.usr().join("u.bin"), vec![1u8; 1000]).expect("write");
    let app = TestApp::new(json!({"tempDir": dirs.tmp(), "userDataDir": dirs.usr(), "maxConcurrentRequests": 1}));
    let slow = app.start(json!({"url": url("/delay/400")}));
    let dl = app.start_download(json!({"url": dl_url("/bytes/10")}));
    let ok = last(app.events.wait(dl, Duration::from_secs(10)));
    assert_success(&ok);
    let waited =
        ok.json["profile"]["queueEnd"].as_f64().expect("n") - ok.json["profile"]["queueStart"].as_f64().expect("n");
    assert!(waited >= 300.0, "the download waited for the request's slot: {waited}");
    assert_success(&last(app.events.wait(slow, Duration::from_secs(10))));
}
