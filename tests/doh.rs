//! wx.request `enableHttpDNS` + `httpDNSServiceId` + `httpDNSTimeout`: the app config's
//! `httpDns` maps service ids to DNS-over-HTTPS resolvers (RFC 8484). The test server's
//! `/dns-query/{tag}` route is the resolver: it knows names under `doh.test` (A 127.0.0.1),
//! which no system resolver does, and its hit counter shows when the cache answered.

mod support;

use serde_json::{json, Value};
use support::*;

/// An app whose services all resolve through the test server (pinned), urlCheck off so
/// that a made-up name may point at 127.0.0.1.
fn app() -> TestApp {
    TestApp::new(json!({
        "urlCheck": false,
        "httpDns": {
            "cached": "https://api.wxnet.test/dns-query/cached?ttl=300",
            "ttl0": "https://api.wxnet.test/dns-query/ttl0?ttl=0",
            "reset": "https://api.wxnet.test/dns-query/reset?ttl=300",
            "silent": "https://api.wxnet.test/hang",
        }
    }))
}

fn made_up(name: &str, path: &str) -> String {
    format!("http://{name}.doh.test:{}{path}", SERVER.http_port())
}

fn through(service: &str, url: String) -> Value {
    json!({"url": url, "enableHttpDNS": true, "httpDNSServiceId": service, "timeout": 10000})
}

#[test]
fn a_name_only_the_doh_resolver_knows_resolves_and_is_cached_by_ttl() {
    let app = app();
    // Without HTTPDNS the system resolver does not know the name.
    let fail = app.terminal(json!({"url": made_up("alpha", "/json"), "timeout": 10000}));
    assert_fail(&fail, 600001, "request:fail DNS lookup failed");

    let ok = app.terminal(through("cached", made_up("alpha", "/json")));
    assert_success(&ok);
    assert_eq!(ok.data_json()["hello"], "world");
    assert_eq!(ok.json["profile"]["peerIP"], "127.0.0.1");
    // One A and one AAAA query.
    assert_eq!(SERVER.hits("/dns-query/cached"), 2);
    // TTL 300: the second request is answered from the cache.
    let ok = app.terminal(through("cached", made_up("alpha", "/text")));
    assert_success(&ok);
    assert_eq!(SERVER.hits("/dns-query/cached"), 2);

    // TTL 0: never cached, every request asks again.
    for round in 1..=2 {
        let ok = app.terminal(through("ttl0", made_up("beta", "/json")));
        assert_success(&ok);
        assert_eq!(SERVER.hits("/dns-query/ttl0"), 2 * round);
    }
}

/// `reset_connections` (the device changed networks) forgets the cached answers: the
/// next request asks the resolver again, and still succeeds.
#[test]
fn a_connection_reset_forgets_cached_answers() {
    let app = app();
    for _ in 0..2 {
        assert_success(&app.terminal(through("reset", made_up("gamma", "/json"))));
        assert_eq!(SERVER.hits("/dns-query/reset"), 2, "TTL 300: asked once (A and AAAA)");
    }
    app.app.reset_connections().expect("reset");
    let ok = app.terminal(through("reset", made_up("gamma", "/json")));
    assert_success(&ok);
    assert_eq!(ok.json["profile"]["socketReused"], false);
    assert_eq!(SERVER.hits("/dns-query/reset"), 4, "asked again after the reset");
}

#[test]
fn a_resolver_that_does_not_answer_in_time_falls_back_to_system_dns() {
    let app = app();
    let mut options = through("silent", format!("http://localhost:{}/json", SERVER.http_port()));
    options["httpDNSTimeout"] = json!(300);
    let ok = app.terminal(options);
    assert_success(&ok);
    assert_eq!(ok.data_json()["hello"], "world");
    assert!(SERVER.hits("/hang") >= 1, "the resolver was asked");
}

#[test]
fn an_unknown_or_missing_service_id_is_a_parameter_error() {
    let app = app();
    let fail = app.terminal(through("nope", made_up("gamma", "/json")));
    assert_fail(
        &fail,
        1001,
        "request:fail parameter error: parameter.httpDNSServiceId \"nope\" is not a service id",
    );
    let fail = app.terminal(json!({"url": made_up("gamma", "/json"), "enableHttpDNS": true}));
    assert_fail(
        &fail,
        1001,
        "request:fail parameter error: parameter.httpDNSServiceId should be String",
    );
    let fail = app.terminal(json!({"url": made_up("gamma", "/json"), "httpDNSTimeout": "soon"}));
    assert_fail(&fail, 1001, "request:fail parameter error: parameter.httpDNSTimeout");
}

#[test]
fn the_resolver_url_must_be_https() {
    let cfg = config(json!({"httpDns": {"svc": "http://api.wxnet.test/dns-query"}})).to_string();
    let err = wxnet::App::new(cfg.as_bytes(), wxnet::Mode::Callback(Box::new(|_| {})))
        .err()
        .expect("an http:// resolver is refused");
    assert!(format!("{err:?}").contains("httpDns.svc"), "{err:?}");
}
