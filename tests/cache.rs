//! wx.request `enableCache`: the RFC 9111 private cache in the app's `cacheDir`, against
//! the test server's `/cache/...` routes. "No network round trip" is asserted with the
//! server's hit counter; each test uses its own paths and cache directory.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use support::{assert_fail, assert_success, url, wait_for_condition, Got, TestApp, SERVER};

/// A fresh cacheDir, removed on drop.
struct CacheDir(PathBuf);

impl CacheDir {
    fn new(tag: &str) -> CacheDir {
        let dir = std::env::temp_dir().join(format!("wxnet-cache-test-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        CacheDir(dir)
    }

    fn app(&self) -> TestApp {
        TestApp::new(json!({"cacheDir": self.0}))
    }

    /// Files in the cache's folder with this suffix.
    fn files(&self, suffix: &str) -> Vec<PathBuf> {
        std::fs::read_dir(self.0.join("wxnet-http"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.to_string_lossy().ends_with(suffix))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for CacheDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// GET with `enableCache` (plus `extra` options).
fn cached(app: &TestApp, path: &str, extra: Value) -> Got {
    let mut options = json!({"url": url(path), "enableCache": true});
    if let (Value::Object(o), Value::Object(e)) = (&mut options, extra) {
        o.extend(e);
    }
    let got = app.terminal(options);
    assert_success(&got);
    got
}

fn serial(got: &Got) -> u64 {
    got.data_json()["serial"].as_u64().expect("serial")
}

fn hits(path: &str) -> u64 {
    SERVER.hits(path.split('?').next().expect("path"))
}

/// The profile of a response served without a network round trip.
fn assert_cache_hit_profile(got: &Got) {
    let p = &got.json["profile"];
    let fetch = p["fetchStart"].as_f64().expect("fetchStart");
    for field in ["domainLookUpStart", "domainLookUpEnd", "connectStart", "connectEnd"] {
        assert_eq!(p[field].as_f64(), Some(fetch), "{field} collapses onto fetchStart: {p}");
    }
    assert_eq!(p["SSLconnectionStart"], 0.0);
    assert_eq!(p["peerIP"], "");
    assert_eq!(p["port"], 0);
    assert_eq!(p["socketReused"], false);
    assert_eq!(p["receivedBytedCount"], 0);
    assert_eq!(p["sendBytesCount"], 0);
    assert_eq!(p["protocol"], "http1.1", "the protocol the entry was fetched with");
}

#[test]
fn fresh_responses_come_without_a_round_trip_and_only_with_the_option() {
    let dir = CacheDir::new("fresh");
    let app = dir.app();
    let path = "/cache/max-age/fresh?s=60";
    let first = cached(&app, path, json!({}));
    assert_eq!(hits(path), 1);
    assert_eq!(first.json["profile"]["peerIP"], "127.0.0.1");
    assert_eq!(dir.files(".entry").len(), 1, "one entry on disk");

    let second = cached(&app, path, json!({}));
    assert_eq!(hits(path), 1, "no network round trip");
    assert_eq!(serial(&second), serial(&first));
    assert_eq!(second.json["statusCode"], 200);
    assert_eq!(second.json["header"]["cache-control"], "max-age=60");
    assert!(second.json["header"]["age"].is_string(), "Age is set");
    assert_cache_hit_profile(&second);

    // Without the option the cache is neither read nor written.
    let plain = app.terminal(json!({"url": url(path)}));
    assert_eq!(hits(path), 2);
    assert_ne!(serial(&plain), serial(&first));
    assert_eq!(serial(&cached(&app, path, json!({}))), serial(&first));
    assert_eq!(hits(path), 2);

    // The entry is on disk: a new app on the same cacheDir is served from it.
    drop(app);
    let again = dir.app();
    assert_eq!(serial(&cached(&again, path, json!({}))), serial(&first));
    assert_eq!(hits(path), 2);

    // A request that asks for revalidation (no validator here: a full fetch).
    let forced = cached(&again, path, json!({"header": {"Cache-Control": "no-cache"}}));
    assert_eq!(hits(path), 3);
    assert_ne!(serial(&forced), serial(&first));
}

#[test]
fn stale_entries_are_revalidated_and_a_304_becomes_the_stored_response() {
    let dir = CacheDir::new("etag");
    let app = dir.app();
    // ETag + no-cache: every use revalidates.
    let path = "/cache/etag/always";
    let first = cached(&app, path, json!({}));
    let second = cached(&app, path, json!({}));
    assert_eq!(hits(path), 2, "revalidated over the network");
    assert_eq!(second.json["statusCode"], 200, "the 304 is turned into the stored 200");
    assert_eq!(serial(&second), serial(&first), "the stored body");
    assert_eq!(second.json["profile"]["peerIP"], "127.0.0.1", "a real round trip");

    // ETag + max-age=1: fresh first, then stale and revalidated.
    let path = "/cache/etag/later?s=1";
    let first = cached(&app, path, json!({}));
    assert_eq!(serial(&cached(&app, path, json!({}))), serial(&first));
    assert_eq!(hits(path), 1);
    // Served fresh from the cache until max-age passes, then revalidated
    // over the network (the server's hit counter moves), same body.
    wait_for_condition(
        "the entry to go stale and be revalidated",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || {
            let got = cached(&app, path, json!({}));
            assert_eq!(serial(&got), serial(&first));
            hits(path) == 2
        },
    );
    assert_eq!(hits(path), 2);
    // The 304's max-age refreshed the entry: fresh again.
    assert_eq!(serial(&cached(&app, path, json!({}))), serial(&first));
    assert_eq!(hits(path), 2);

    // Last-Modified works the same way.
    let path = "/cache/last-modified/lm";
    let first = cached(&app, path, json!({}));
    let second = cached(&app, path, json!({}));
    assert_eq!(hits(path), 2);
    assert_eq!(serial(&second), serial(&first));
    assert_eq!(second.json["header"]["last-modified"], "Wed, 21 Oct 2015 07:28:00 GMT");
}

/// A server that adds new fields with every 304 cannot grow the stored response without
/// end: once the merged header section would pass the 256 KiB every response is held to, the
/// request fails as a response that large would, the entry is gone, and the next request is
/// a plain miss.
#[test]
fn a_304_cannot_grow_the_stored_header_section_past_the_limit() {
    let dir = CacheDir::new("grow");
    let app = dir.app();
    // Each 304 adds 2,500 new empty fields, about 90 KB as HTTP/2 counts them.
    let path = "/cache/etag/grow?grow=2500";
    let first = cached(&app, path, json!({}));
    let fields = |got: &Got| got.json["header"].as_object().expect("header").len();
    let small = fields(&first);
    for round in 1..=2 {
        let got = cached(&app, path, json!({}));
        assert_eq!(serial(&got), serial(&first), "the stored body");
        assert_eq!(fields(&got), small + 2500 * round, "the 304's fields were merged");
    }
    let options = json!({"url": url(path), "enableCache": true});
    let over = app.terminal(options.clone());
    assert_fail(
        &over,
        600001,
        "request:fail response header section exceeds 262144 bytes",
    );
    let fresh = app.terminal(options);
    assert_success(&fresh);
    assert_ne!(serial(&fresh), serial(&first), "the entry was removed: a new 200");
    assert_eq!(fields(&fresh), small);
    assert_eq!(hits(path), 5);
}

#[test]
fn no_store_is_respected() {
    let dir = CacheDir::new("nostore");
    let app = dir.app();
    let path = "/cache/no-store/ns";
    let a = cached(&app, path, json!({}));
    let b = cached(&app, path, json!({}));
    assert_eq!(hits(path), 2);
    assert_ne!(serial(&a), serial(&b));
    assert!(dir.files(".entry").is_empty(), "nothing written");
}

#[test]
fn vary_is_respected() {
    let dir = CacheDir::new("vary");
    let app = dir.app();
    let path = "/cache/vary/v";
    let lang = |l: &str| cached(&app, path, json!({"header": {"X-Lang": l}}));
    let zh = lang("zh");
    assert_eq!(serial(&lang("zh")), serial(&zh));
    assert_eq!(hits(path), 1);
    let en = lang("en");
    assert_eq!(hits(path), 2, "another X-Lang is a miss");
    assert_eq!(en.data_json()["lang"], "en");
    assert_eq!(serial(&lang("en")), serial(&en));
    assert_eq!(hits(path), 2);
    let zh_again = lang("zh");
    assert_eq!(hits(path), 3, "one entry per URL: en replaced zh");
    assert_eq!(zh_again.data_json()["lang"], "zh");
}

#[test]
fn a_damaged_entry_is_never_served() {
    let dir = CacheDir::new("damage");
    let app = dir.app();
    let path = "/cache/max-age/damage?s=60";
    let first = cached(&app, path, json!({}));
    let file = dir.files(".entry").pop().expect("entry");
    flip_byte(&file);
    let second = cached(&app, path, json!({}));
    assert_eq!(hits(path), 2, "damaged entry: fetched again");
    assert_ne!(serial(&second), serial(&first));
    assert_eq!(second.data_json()["lang"], Value::Null, "a whole, valid body");
    // The fresh response replaced it; now cut it short (a torn write).
    let file = dir.files(".entry").pop().expect("entry");
    let bytes = std::fs::read(&file).expect("read");
    std::fs::write(&file, &bytes[..bytes.len() - 10]).expect("truncate");
    let third = cached(&app, path, json!({}));
    assert_eq!(hits(path), 3);
    assert_ne!(serial(&third), serial(&second));
    assert_eq!(serial(&cached(&app, path, json!({}))), serial(&third));
    assert_eq!(hits(path), 3);
}

fn flip_byte(file: &Path) {
    let mut bytes = std::fs::read(file).expect("read");
    let i = bytes.len() / 2;
    bytes[i] ^= 0x20;
    std::fs::write(file, bytes).expect("write");
}

#[test]
fn concurrent_requests_for_one_entry_leave_one_valid_entry() {
    let dir = CacheDir::new("race");
    let app = Arc::new(dir.app());
    let path = "/cache/max-age/race?s=60";
    let ids: Vec<u64> = (0..8)
        .map(|_| app.start(json!({"url": url(path), "enableCache": true})))
        .collect();
    let mut serials = Vec::new();
    for id in ids {
        let got = support::last(app.events.wait(id, Duration::from_secs(20)));
        assert_success(&got);
        serials.push(serial(&got));
    }
    let after = cached(&app, path, json!({}));
    assert!(serials.contains(&serial(&after)), "one of the written responses");
    let hits_before = hits(path);
    cached(&app, path, json!({}));
    assert_eq!(hits(path), hits_before);
    assert_eq!(dir.files(".entry").len(), 1);
    assert!(dir.files(".tmp").is_empty(), "no temporary files left");
}

#[test]
fn unsafe_methods_invalidate_and_no_cache_dir_means_no_cache() {
    let dir = CacheDir::new("invalidate");
    let app = dir.app();
    let path = "/cache/max-age/inv?s=60";
    let first = cached(&app, path, json!({}));
    cached(&app, path, json!({"method": "POST", "data": "x"}));
    assert_eq!(hits(path), 2);
    let after = cached(&app, path, json!({}));
    assert_eq!(hits(path), 3, "the POST removed the entry");
    assert_ne!(serial(&after), serial(&first));

    let no_dir = TestApp::new(json!({}));
    let path = "/cache/max-age/nodir?s=60";
    cached(&no_dir, path, json!({}));
    cached(&no_dir, path, json!({}));
    assert_eq!(hits(path), 2);
}
