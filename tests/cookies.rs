//! The app config `cookieJar`: off by default (WeChat keeps no jar), on it stores
//! `Set-Cookie` per app under RFC 6265 rules and sends the cookies back, on every redirect
//! hop too. The server's `/echo` shows what a request carried.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{assert_success, url, wait_for_condition, TestApp};

/// `/cookie/set` with these Set-Cookie values (and a redirect target).
fn set_url(host: &str, cookies: &[&str], to: Option<&str>) -> String {
    let mut q: Vec<String> = cookies.iter().map(|c| format!("c={}", enc(c))).collect();
    if let Some(to) = to {
        q.push(format!("to={}", enc(to)));
    }
    format!("https://{host}/cookie/set?{}", q.join("&"))
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    wxnet::testing::encode_uri_component(s, &mut out);
    out
}

fn jar_app() -> TestApp {
    TestApp::new(json!({
        "cookieJar": true,
        "domains": {"request": ["https://api.wxnet.test", "https://other.wxnet.test"]},
    }))
}

/// The cookies `/echo` on `host` receives, as a sorted list of `name=value`.
fn sent(app: &TestApp, host: &str) -> Vec<String> {
    let got = app.terminal(json!({"url": format!("https://{host}/echo")}));
    assert_success(&got);
    cookie_list(&got.data_json())
}

fn cookie_list(echo: &Value) -> Vec<String> {
    let mut list: Vec<String> = echo["headers"]["cookie"]
        .as_str()
        .unwrap_or("")
        .split("; ")
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    list.sort();
    list
}

#[test]
fn off_by_default_but_res_cookies_always_filled() {
    let app = TestApp::new(json!({}));
    let got = app.terminal(json!({"url": url("/set-cookie")}));
    assert_success(&got);
    assert_eq!(got.json["cookies"], json!(["a=1; Path=/", "b=2; HttpOnly"]));
    assert_eq!(sent(&app, "api.wxnet.test"), Vec::<String>::new());

    let jar = jar_app();
    let got = jar.terminal(json!({"url": url("/set-cookie")}));
    assert_eq!(got.json["cookies"], json!(["a=1; Path=/", "b=2; HttpOnly"]));
    assert_eq!(sent(&jar, "api.wxnet.test"), ["a=1", "b=2"]);
    // Another app has its own (empty) jar.
    assert_eq!(sent(&jar_app(), "api.wxnet.test"), Vec::<String>::new());
}

#[test]
fn domain_path_expiry_rules() {
    let app = jar_app();
    let set = set_url(
        "api.wxnet.test",
        &[
            "host=1; Path=/",
            "dom=2; Domain=wxnet.test; Path=/",
            "here=3; Path=/echo",
            "there=4; Path=/elsewhere",
            "gone=5; Max-Age=0; Path=/",
            "old=6; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Path=/",
            "brief=7; Max-Age=1; Path=/",
            "evil=8; Domain=example.com; Path=/",
            "future=9; Expires=Fri, 01 Jan 2100 00:00:00 GMT; SameSite=Strict; Path=/",
            "dflt=10",
        ],
        None,
    );
    assert_success(&app.terminal(json!({"url": set})));
    assert_eq!(
        sent(&app, "api.wxnet.test"),
        ["brief=7", "dom=2", "future=9", "here=3", "host=1"]
    );
    assert_eq!(sent(&app, "other.wxnet.test"), ["dom=2"], "only the domain cookie");
    wait_for_condition(
        "brief=7 to pass its Max-Age",
        Duration::from_secs(10),
        Duration::from_millis(100),
        || !sent(&app, "api.wxnet.test").contains(&"brief=7".to_owned()),
    );
    let delete = set_url("api.wxnet.test", &["host=; Max-Age=0; Path=/"], None);
    assert_success(&app.terminal(json!({"url": delete})));
    assert_eq!(
        sent(&app, "api.wxnet.test"),
        ["dom=2", "future=9", "here=3"],
        "Max-Age ran out, Max-Age=0 deleted"
    );
    // `dflt` has the default path (/cookie, from /cookie/set): not sent to /echo above.
}

#[test]
fn each_redirect_hop_stores_and_sends() {
    let app = jar_app();
    // The 302 sets a cookie; the next hop already sends it.
    let got = app.terminal(json!({"url": set_url("api.wxnet.test", &["hop=1; Path=/"], Some("/echo"))}));
    assert_success(&got);
    assert_eq!(cookie_list(&got.data_json()), ["hop=1"]);
    // Across origins: the domain cookie follows, the host-only ones do not.
    let got = app.terminal(json!({"url": set_url(
        "api.wxnet.test",
        &["shared=2; Domain=wxnet.test; Path=/", "mine=3; Path=/"],
        Some("https://other.wxnet.test/echo"),
    )}));
    assert_eq!(cookie_list(&got.data_json()), ["shared=2"]);
    // A chain of hops on other.wxnet.test sees the cookie that hop set.
    let inner = set_url("other.wxnet.test", &["deep=4; Path=/"], Some("/echo"));
    let got = app.terminal(json!({"url": set_url("api.wxnet.test", &[], Some(&inner))}));
    assert_eq!(cookie_list(&got.data_json()), ["deep=4", "shared=2"]);
}

/// The jar is bounded as browsers bound theirs, whatever a server sends: 180 cookies per
/// domain (a held one can still be replaced or deleted), a `Set-Cookie` over 4096 bytes is
/// ignored. A UTF-8 value is sent back as it came, with the others.
#[test]
fn the_jar_is_bounded_and_keeps_utf8_values() {
    let app = jar_app();
    let got = app.terminal(json!({"url": "https://api.wxnet.test/cookie/many?n=250&prefix=a"}));
    assert_success(&got);
    assert_eq!(got.json["cookies"].as_array().expect("cookies").len(), 250);
    assert_eq!(sent(&app, "api.wxnet.test").len(), 180);
    let changes = [
        "a0=changed; Path=/",
        "a1=; Path=/; Max-Age=0",
        "n=é; Path=/",
        "new=1; Path=/",
    ];
    assert_success(&app.terminal(json!({"url": set_url("api.wxnet.test", &changes, None)})));
    let now = sent(&app, "api.wxnet.test");
    assert_eq!(now.len(), 180, "{now:?}");
    assert!(now.contains(&"a0=changed".to_owned()) && now.contains(&"n=é".to_owned()));
    assert!(
        !now.iter().any(|c| c.starts_with("a1=") || c.starts_with("new=")),
        "{now:?}"
    );

    let fits = format!("big={}; Path=/", "x".repeat(4096 - 12));
    let over = format!("huge={}; Path=/", "x".repeat(4096 - 12));
    assert_eq!(fits.len(), 4096);
    for cookie in [&fits, &over] {
        assert_success(&app.terminal(json!({"url": set_url("other.wxnet.test", &[cookie], None)})));
    }
    let other = sent(&app, "other.wxnet.test");
    assert_eq!(other.len(), 1);
    assert!(other[0].starts_with("big="), "{other:?}");
}

#[test]
fn own_cookie_header_goes_first() {
    let app = jar_app();
    app.terminal(json!({"url": set_url("api.wxnet.test", &["a=jar; Path=/", "b=jar; Path=/"], None)}));
    let got = app.terminal(json!({"url": url("/echo"), "header": {"Cookie": "a=mine"}}));
    assert_eq!(got.data_json()["headers"]["cookie"], "a=mine; b=jar");
}
