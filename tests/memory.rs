//! Resident memory stays flat with the size of a transfer: a 200 MB download
//! and a 200 MB upload raise the process's peak RSS by far less than their
//! size (both the client and the in-process server stream).

mod support;

use serde_json::json;
use support::*;

const SIZE: u64 = 200 * 1024 * 1024;
const ALLOWED_GROWTH_KB: u64 = 64 * 1024;

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with(field)).expect("field present");
    line.split_whitespace().nth(1).expect("value").parse().expect("number")
}

/// Resets the peak-RSS watermark (VmHWM) to the current RSS.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM");
}

#[test]
fn two_hundred_megabytes_each_way_with_flat_memory() {
    let dirs = Dirs::new();
    let app = TestApp::new(json!({"tempDir": dirs.tmp(), "userDataDir": dirs.usr(), "maxDownloadBytes": SIZE + 1}));
    // Warm up pools, TLS and buffers.
    assert_success(&last(app.download(json!({"url": dl_url("/bytes/1048576")}))));

    reset_peak();
    let before = status_kb("VmRSS:");
    let ok = last(app.download(json!({"url": dl_url(&format!("/bytes/{SIZE}")), "filePath": "wxfile://usr/big.bin"})));
    assert_success(&ok);
    let peak = status_kb("VmHWM:");
    assert_eq!(std::fs::metadata(dirs.usr().join("big.bin")).expect("file").len(), SIZE);
    eprintln!("download: RSS before {before} kB, peak {peak} kB");
    assert!(
        peak.saturating_sub(before) < ALLOWED_GROWTH_KB,
        "download grew RSS by {} kB",
        peak - before
    );

    reset_peak();
    let before = status_kb("VmRSS:");
    let ok = last(app.upload(json!({"url": up_url("/upload"), "filePath": "wxfile://usr/big.bin", "name": "f"})));
    assert_success(&ok);
    let peak = status_kb("VmHWM:");
    assert_eq!(ok.data_json()["files"][0]["size"], SIZE);
    eprintln!("upload: RSS before {before} kB, peak {peak} kB");
    assert!(
        peak.saturating_sub(before) < ALLOWED_GROWTH_KB,
        "upload grew RSS by {} kB",
        peak - before
    );
}
