//! wx.request end to end over real sockets: in-process HTTPS server with a
//! test CA, `resolve` pins, full policy on.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;
use wxnet::EventKind;

#[test]
fn get_json_success_has_headers_event_res_shape_and_profile() {
    let app = TestApp::new(json!({}));
    let events = app.request(json!({"url": url("/json")}));
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].kind, EventKind::HeadersReceived);
    assert_eq!(events[0].json["statusCode"], 200);
    assert!(events[0].json["header"]["content-type"]
        .as_str()
        .expect("ct")
        .contains("json"));
    let ok = &events[1];
    assert_success(ok);
    assert_eq!(ok.user_data, 7);
    assert_eq!(ok.json["errMsg"], "request:ok");
    assert_eq!(ok.json["statusCode"], 200);
    assert_eq!(ok.json["dataKind"], "json");
    assert_eq!(ok.data_json()["hello"], "world");
    let p = &ok.json["profile"];
    assert_eq!(p["peerIP"], "127.0.0.1");
    assert_eq!(p["port"], SERVER.https_port());
    assert_eq!(p["protocol"], "http1.1");
    assert_eq!(p["socketReused"], false);
    let ts = |k: &str| p[k].as_f64().unwrap_or_else(|| panic!("profile.{k} is a number"));
    let order = [
        "invokeStart",
        "queueStart",
        "queueEnd",
        "fetchStart",
        "domainLookUpStart",
        "domainLookUpEnd",
        "connectStart",
        "SSLconnectionStart",
        "SSLconnectionEnd",
        "requestStart",
        "responseStart",
        "responseEnd",
    ];
    for pair in order.windows(2) {
        assert!(
            ts(pair[0]) > 0.0 && ts(pair[0]) <= ts(pair[1]),
            "{} <= {} in {p}",
            pair[0],
            pair[1]
        );
    }
    assert!(ts("connectEnd") >= ts("SSLconnectionEnd"));
    assert!(p["sendBytesCount"].as_u64().expect("n") > 50);
    assert!(p["receivedBytedCount"].as_u64().expect("n") > 20);
    for key in [
        "redirectStart",
        "redirectEnd",
        "rtt",
        "estimate_nettype",
        "httpRttEstimate",
        "transportRttEstimate",
        "downstreamThroughputKbpsEstimate",
        "throughputKbps",
        "requestEnd",
    ] {
        assert!(p.get(key).is_some(), "profile.{key} present");
    }
}

#[test]
fn fixed_referer_default_content_type_and_user_headers() {
    let app = TestApp::new(json!({}));
    let ok = app.terminal(
        json!({"url": url("/echo"), "header": {"Referer": "https://evil.example", "X-Num": 5, "x-str": "v"}}),
    );
    assert_success(&ok);
    let echo = ok.data_json();
    assert_eq!(
        echo["headers"]["referer"],
        "https://servicewechat.com/wxtest0123456789/7/page-frame.html"
    );
    assert_eq!(echo["headers"]["content-type"], "application/json");
    assert_eq!(echo["headers"]["x-num"], "5");
    assert_eq!(echo["headers"]["x-str"], "v");
}

#[test]
fn header_injection_is_a_parameter_failure() {
    let app = TestApp::new(json!({}));
    for header in [
        json!({"X": "a\r\nInjected: 1"}),
        json!({"X": "a\u{0}b"}),
        json!({"Bad\nName": "v"}),
    ] {
        assert_fail(
            &app.terminal(json!({"url": url("/echo"), "header": header})),
            1001,
            "request:fail parameter error",
        );
    }
    assert_eq!(SERVER.hits("/never"), 0);
}

/// More distinct header names than an HTTP header map holds (about 24,000) is a parameter error
/// for every API, never a crash.
#[test]
fn more_header_fields_than_a_request_can_carry_is_a_parameter_failure() {
    let dirs = Dirs::new();
    let app = TestApp::new(dirs.config());
    let header: serde_json::Map<String, Value> = (0..40_000).map(|i| (format!("x-{i}"), json!("v"))).collect();
    let header = Value::Object(header);
    let too_many = "parameter error: header has more fields than a request can carry";
    let got = app.terminal(json!({"url": url("/echo"), "header": header}));
    assert_fail(&got, 1001, "request:fail parameter error");
    assert!(
        got.json["errMsg"].as_str().expect("errMsg").contains(too_many),
        "{got:?}"
    );
    let got = last(app.download(json!({"url": dl_url("/bytes/1"), "header": header})));
    assert!(
        got.json["errMsg"].as_str().expect("errMsg").contains(too_many),
        "{got:?}"
    );
    std::fs::write(dirs.usr().join("f.txt"), b"x").expect("write");
    let got = last(app.upload(json!({
        "url": up_url("/upload"), "filePath": "wxfile://usr/f.txt", "name": "f", "header": header,
    })));
    assert!(
        got.json["errMsg"].as_str().expect("errMsg").contains(too_many),
        "{got:?}"
    );
    let id = app.socket(json!({"url": ws_url("/ws/echo"), "header": header}));
    let events = app.wait_until(id, |e| e.iter().any(|g| g.kind == wxnet::EventKind::Fail));
    assert!(
        events[0].json["errMsg"].as_str().expect("errMsg").contains(too_many),
        "{events:?}"
    );
    // 20,000 names fit: the request goes out (the server may refuse a head that large).
    let fit: serde_json::Map<String, Value> = (0..20_000).map(|i| (format!("x-{i}"), json!("v"))).collect();
    let got = app.terminal(json!({"url": url("/echo"), "header": Value::Object(fit)}));
    assert_ne!(got.json["errno"], 1001, "{:?}", got.json);
}

#[test]
fn data_conversion_rules_on_the_wire() {
    let app = TestApp::new(json!({}));
    let echo = |opts| app.terminal(opts).data_json();
    let get = echo(json!({"url": url("/echo?x=1"), "data": {"a": "b c", "n": 2, "o": {"k": [1]}}}));
    assert_eq!(get["query"], "x=1&a=b%20c&n=2&o=%7B%22k%22%3A%5B1%5D%7D");
    assert_eq!(get["bodyLength"], 0);
    let get_str = echo(json!({"url": url("/echo"), "data": "raw=1&y=2"}));
    assert_eq!(get_str["query"], "raw=1&y=2");
    let post = echo(json!({"url": url("/echo"), "method": "post", "data": {"a": 1, "b": [true]}}));
    assert_eq!(post["method"], "POST");
    assert_eq!(post["body"], r#"{"a":1,"b":[true]}"#);
    let form = echo(
        json!({"url": url("/echo"), "method": "PUT", "header": {"content-type": "application/x-www-form-urlencoded"}, "data": {"a": "x&y", "b": "中"}}),
    );
    assert_eq!(form["body"], "a=x%26y&b=%E4%B8%AD");
    let post_str = echo(json!({"url": url("/echo"), "method": "POST", "data": "plain text"}));
    assert_eq!(post_str["body"], "plain text");
}

#[test]
fn binary_body_is_sent_as_is() {
    let app = TestApp::new(json!({}));
    let body: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let opts = json!({"url": url("/echo/raw"), "method": "POST", "responseType": "arraybuffer", "header": {"content-type": "application/octet-stream"}});
    let id = app
        .app
        .request(
            opts.to_string().as_bytes(),
            Some(body.clone().into()),
            wxnet::UserData(1),
        )
        .expect("starts");
    let ok = last(app.events.wait(id, Duration::from_secs(20)));
    assert_success(&ok);
    assert_eq!(ok.json["dataKind"], "arraybuffer");
    assert_eq!(ok.data, body);
}

#[test]
fn every_method_case_insensitive_and_unknown_rejected() {
    let app = TestApp::new(json!({}));
    for m in ["options", "GET", "Post", "put", "DELETE", "trace"] {
        let ok = app.terminal(json!({"url": url("/echo"), "method": m}));
        assert_success(&ok);
        assert_eq!(ok.data_json()["method"], m.to_uppercase());
    }
    let head = app.terminal(json!({"url": url("/json"), "method": "HEAD"}));
    assert_success(&head);
    assert!(head.data.is_empty());
    assert_fail(
        &app.terminal(json!({"url": url("/echo"), "method": "PATCH"})),
        1001,
        "request:fail parameter error",
    );
}

#[test]
fn any_status_is_success() {
    let app = TestApp::new(json!({}));
    for code in [201, 204, 400, 404, 500, 503] {
        let ok = app.terminal(json!({"url": url(&format!("/status/{code}"))}));
        assert_success(&ok);
        assert_eq!(ok.json["statusCode"], code);
    }
}

#[test]
fn timeouts_precedence_and_cap() {
    let app = TestApp::new(json!({"networkTimeout": {"request": 300}, "maxTimeoutMs": 600}));
    assert_fail(
        &app.terminal(json!({"url": url("/delay/3000")})),
        5,
        "request:fail timeout",
    );
    assert_fail(
        &app.terminal(json!({"url": url("/delay/3000"), "timeout": 100})),
        5,
        "request:fail timeout",
    );
    // Asking for more than the cap still times out at the cap.
    assert_fail(
        &app.terminal(json!({"url": url("/delay/3000"), "timeout": 60000})),
        5,
        "request:fail timeout",
    );
    assert_success(&app.terminal(json!({"url": url("/delay/50"), "timeout": 5000})));
}

#[test]
fn data_type_and_response_type() {
    let app = TestApp::new(json!({}));
    let text = app.terminal(json!({"url": url("/text")}));
    assert_eq!(text.json["dataKind"], "text");
    assert_eq!(text.text(), "plain text, not json");
    let as_text = app.terminal(json!({"url": url("/json"), "dataType": "text"}));
    assert_eq!(as_text.json["dataKind"], "text");
    let bin = app.terminal(json!({"url": url("/bytes/100000"), "responseType": "arraybuffer"}));
    assert_eq!(bin.json["dataKind"], "arraybuffer");
    assert_eq!(wxnet_testserver::check_pattern(0, &bin.data), None);
    assert_eq!(bin.data.len(), 100_000);
    assert_fail(
        &app.terminal(json!({"url": url("/json"), "responseType": "blob"})),
        1001,
        "request:fail parameter error",
    );
}

#[test]
fn charsets_are_converted_and_boms_stripped() {
    let app = TestApp::new(json!({}));
    let sample = "你好，世界 wxnet";
    for label in ["utf-8", "gbk", "gb18030", "big5", "shift_jis", "euc-kr"] {
        let ok = app.terminal(json!({"url": url(&format!("/charset/{label}")), "dataType": "text"}));
        assert_success(&ok);
        if label == "utf-8" || label.starts_with("gb") {
            assert_eq!(ok.text(), sample, "{label}");
        } else {
            assert!(ok.text().contains("wxnet"), "{label}");
        }
    }
    let detected = app.terminal(json!({"url": url("/charset/gbk?nocharset=1")}));
    assert_eq!(detected.text(), sample);
    let bom = app.terminal(json!({"url": url("/bom")}));
    assert_eq!(bom.json["dataKind"], "json");
    assert_eq!(bom.text(), r#"{"bom":true}"#);
    assert_fail(
        &app.terminal(json!({"url": url("/invalid-utf8")})),
        602302,
        "request:fail response data convert to UTF8 fail",
    );
}

#[test]
fn bodies_over_256_kib_are_converted_and_checked_on_the_blocking_pool() {
    // Over 256 KiB the UTF-8 conversion and the `dataType: json` check leave the network
    // worker (src/request/mod.rs): the same results as below it.
    let app = TestApp::new(json!({}));
    let big = "x".repeat(300_000);
    let ok = app.terminal(json!({"url": url("/echo"), "method": "POST", "data": big}));
    assert_success(&ok);
    assert_eq!(ok.json["dataKind"], "json");
    assert_eq!(ok.data_json()["bodyLength"], 300_000);
    let text = app.terminal(json!({"url": url("/echo"), "method": "POST", "data": big, "dataType": "text"}));
    assert_success(&text);
    assert_eq!(text.json["dataKind"], "text");
    assert!(text.text().len() > 300_000);
    // Not UTF-8 and no charset: detected and converted (as below 256 KiB), not JSON.
    let detected = app.terminal(json!({"url": url("/bytes/300000")}));
    assert_success(&detected);
    assert_eq!(detected.json["dataKind"], "text");
    assert!(detected.text().len() >= 300_000);
}

#[test]
fn compressed_bodies_are_decoded() {
    let app = TestApp::new(json!({}));
    for enc in ["gzip", "deflate", "br"] {
        let ok = app.terminal(json!({"url": url(&format!("/{enc}"))}));
        assert_success(&ok);
        assert_eq!(ok.json["dataKind"], "json", "{enc}");
        assert_eq!(ok.data_json()["compressed"], enc);
        assert_eq!(ok.json["header"]["x-accept-encoding"], "gzip, deflate, br");
    }
}

#[test]
fn cookies_apart_and_repeated_headers_joined() {
    let app = TestApp::new(json!({}));
    let events = app.request(json!({"url": url("/set-cookie")}));
    for ev in &events {
        assert_eq!(ev.json["cookies"], json!(["a=1; Path=/", "b=2; HttpOnly"]), "{ev:?}");
        assert_eq!(ev.json["header"]["x-multi"], "one, two");
        assert!(ev.json["header"].get("set-cookie").is_none());
    }
}

#[test]
fn chunked_streaming_delivers_chunks_between_headers_and_success() {
    let app = TestApp::new(json!({}));
    let events = app.request(json!({"url": url("/chunked?n=5&size=1000&interval_ms=30"), "enableChunked": true}));
    assert_eq!(events.first().expect("events").kind, EventKind::HeadersReceived);
    assert_success(events.last().expect("events"));
    let chunks: Vec<_> = events.iter().filter(|e| e.kind == EventKind::ChunkReceived).collect();
    assert!(chunks.len() >= 2, "streamed in pieces: {}", chunks.len());
    assert_eq!(chunks.iter().map(|c| c.data.len()).sum::<usize>(), 5000);
    assert!(chunks.iter().all(|c| c.json == json!({})));
}

#[test]
fn redirects_follow_manual_max_and_policy() {
    let app = TestApp::new(json!({}));
    let ok = app.terminal(json!({"url": url("/redirect/3")}));
    assert_success(&ok);
    assert_eq!(ok.data_json()["redirected"], true);
    let p = &ok.json["profile"];
    assert!(
        p["redirectStart"].as_f64().expect("n") > 0.0
            && p["redirectEnd"].as_f64().expect("n") >= p["redirectStart"].as_f64().expect("n")
    );
    assert_success(&app.terminal(json!({"url": url("/redirect/10")})));
    assert_fail(
        &app.terminal(json!({"url": url("/redirect/11")})),
        600008,
        "request:fail reach the max redirect count",
    );
    assert_fail(
        &app.terminal(json!({"url": url("/redirect-loop")})),
        600008,
        "request:fail",
    );
    let manual = app.terminal(json!({"url": url("/redirect/2"), "redirect": "manual"}));
    assert_eq!(manual.json["statusCode"], 302);
    assert_eq!(manual.json["header"]["location"], "/redirect/1");
    let away = "/redirect-to?url=https%3A%2F%2Fother.wxnet.test%2Fjson";
    assert_fail(
        &app.terminal(json!({"url": url(away)})),
        600002,
        "request:fail url not in domain list",
    );
    let insecure = "/redirect-to?url=http%3A%2F%2Fapi.wxnet.test%2Fjson";
    assert_fail(
        &app.terminal(json!({"url": url(insecure)})),
        600002,
        "request:fail url not in domain list",
    );
}

#[test]
fn redirect_methods_303_to_get_307_keeps_body() {
    let app = TestApp::new(json!({}));
    let to_echo = |status: u16| url(&format!("/redirect-to?url=%2Fecho&status={status}"));
    let see_other = app
        .terminal(json!({"url": to_echo(303), "method": "POST", "data": {"a": 1}}))
        .data_json();
    assert_eq!(see_other["method"], "GET");
    assert_eq!(see_other["bodyLength"], 0);
    let temporary = app
        .terminal(json!({"url": to_echo(307), "method": "POST", "data": {"a": 1}}))
        .data_json();
    assert_eq!(temporary["method"], "POST");
    assert_eq!(temporary["body"], r#"{"a":1}"#);
}

#[test]
fn http2_through_alpn_only_when_enabled() {
    let app = TestApp::new(json!({}));
    let h2 = app.terminal(json!({"url": url("/alpn"), "enableHttp2": true}));
    assert_eq!(h2.text(), "HTTP/2.0");
    assert_eq!(h2.json["profile"]["protocol"], "h2");
    let h1 = app.terminal(json!({"url": url("/alpn")}));
    assert_eq!(h1.text(), "HTTP/1.1");
    assert_eq!(h1.json["profile"]["protocol"], "http1.1");
    let h1_server =
        TestApp::new(json!({"resolve": {"api.wxnet.test:443": format!("127.0.0.1:{}", SERVER.https_h1_port())}}));
    let fallback = h1_server.terminal(json!({"url": url("/alpn"), "enableHttp2": true}));
    assert_eq!(fallback.text(), "HTTP/1.1");
}

/// `wxnet_app_reset_connections` (`App::reset_connections`): the pooled connections close
/// (the server sees them end), the next requests connect anew over HTTP/1.1 and h2, and the
/// cookie jar survives. A server of its own, so that other tests' connections do not count.
#[test]
fn reset_connections_closes_the_pool_and_keeps_cookies() {
    let server = wxnet_testserver::TestServer::start();
    let pin = format!("127.0.0.1:{}", server.https_port());
    let app = TestApp::new(json!({
        "cookieJar": true,
        "caCertificates": [server.ca_pem()],
        "resolve": {"api.wxnet.test:443": pin},
    }));
    assert_success(&app.terminal(json!({"url": url("/set-cookie")})));
    let h2 = app.terminal(json!({"url": url("/alpn"), "enableHttp2": true}));
    assert_eq!(h2.text(), "HTTP/2.0");
    let reused = app.terminal(json!({"url": url("/json")}));
    assert_eq!(reused.json["profile"]["socketReused"], true);
    assert_eq!(server.connections(), 2, "one HTTP/1.1 and one h2 connection");
    assert_eq!(server.open_connections(), 2, "both pooled");

    app.app.reset_connections().expect("reset");
    assert_eq!(
        server.wait_open_connections_at_most(0, Duration::from_secs(10)),
        0,
        "the pooled connections close"
    );

    let fresh = app.terminal(json!({"url": url("/echo")}));
    assert_success(&fresh);
    assert_eq!(fresh.json["profile"]["socketReused"], false);
    let mut cookies: Vec<String> = fresh.data_json()["headers"]["cookie"]
        .as_str()
        .expect("a Cookie header: the jar survives")
        .split("; ")
        .map(str::to_owned)
        .collect();
    cookies.sort();
    assert_eq!(cookies, ["a=1", "b=2"], "the jar survives");
    let fresh_h2 = app.terminal(json!({"url": url("/alpn"), "enableHttp2": true}));
    assert_eq!(fresh_h2.json["profile"]["socketReused"], false);
    assert_eq!(server.connections(), 4);
    let again = app.terminal(json!({"url": url("/json")}));
    assert_eq!(again.json["profile"]["socketReused"], true, "the new pool pools");
    assert_eq!(server.connections(), 4);
}

/// A request in flight during a reset finishes on its connection (HTTP/1.1 and h2): its
/// headers have arrived, its body comes 1.5 s later, after the reset.
#[test]
fn reset_connections_lets_requests_in_flight_finish() {
    let app = TestApp::new(json!({}));
    for http2 in [false, true] {
        let id = app.start(json!({"url": url("/delay-body/1500"), "enableHttp2": http2}));
        app.events.wait_until(id, Duration::from_secs(20), |events| {
            events.iter().any(|e| e.kind == EventKind::HeadersReceived)
        });
        app.app.reset_connections().expect("reset");
        let done = last(app.events.wait(id, Duration::from_secs(20)));
        assert_success(&done);
        assert_eq!(done.json["statusCode"], 200);
        let protocol = if http2 { "h2" } else { "http1.1" };
        assert_eq!(done.json["profile"]["protocol"], protocol);
    }
}

#[test]
fn connections_are_reused_across_requests_of_an_app() {
    let app = TestApp::new(json!({}));
    let first = app.terminal(json!({"url": url("/json")}));
    let before = SERVER.connections();
    let second = app.terminal(json!({"url": url("/json")}));
    assert_eq!(first.json["profile"]["socketReused"], false);
    assert_eq!(second.json["profile"]["socketReused"], true);
    assert_eq!(SERVER.connections(), before, "no new connection for the second request");
    let p = &second.json["profile"];
    assert_eq!(p["SSLconnectionStart"], 0.0);
    let h2 = app.terminal(json!({"url": url("/alpn"), "enableHttp2": true}));
    let h2_again = app.terminal(json!({"url": url("/alpn"), "enableHttp2": true}));
    assert_eq!(h2.json["profile"]["socketReused"], false);
    assert_eq!(h2_again.json["profile"]["socketReused"], true);
}

#[test]
fn policy_failures() {
    let app = TestApp::new(json!({}));
    let cases = [
        ("http://api.wxnet.test/json".to_string(), 600002),
        ("https://other.wxnet.test/json".to_string(), 600002),
        ("https://api.wxnet.test:443/json".to_string(), 600002),
        (format!("https://127.0.0.1:{}/json", SERVER.https_port()), 600002),
        ("https://localhost/json".to_string(), 600002),
        ("https://user@api.wxnet.test/json".to_string(), 600009),
        ("not a url".to_string(), 600009),
        ("ftp://api.wxnet.test/".to_string(), 600009),
    ];
    for (u, errno) in cases {
        let got = app.terminal(json!({"url": u}));
        assert_fail(&got, errno, "request:fail");
    }
    assert_fail(
        &app.terminal(json!({"timeout": 5})),
        1001,
        "request:fail parameter error: parameter.url",
    );
}

#[test]
fn url_check_off_allows_plain_http_to_loopback() {
    let app = TestApp::new(json!({"urlCheck": false}));
    let ok = app.terminal(json!({"url": format!("http://127.0.0.1:{}/json", SERVER.http_port())}));
    assert_success(&ok);
    assert_eq!(ok.json["profile"]["SSLconnectionStart"], 0.0);
}

#[test]
fn tls_dns_connect_and_protocol_failures_are_network_errors() {
    let no_ca = TestApp::new(json!({"caCertificates": []}));
    let tls = no_ca.terminal(json!({"url": url("/json")}));
    assert_fail(&tls, 600001, "request:fail TLS handshake failed");
    let insecure = TestApp::new(json!({"caCertificates": [], "tlsVerify": false}));
    assert_success(&insecure.terminal(json!({"url": url("/json")})));
    let unpinned = TestApp::new(json!({"domains": {"request": ["https://nowhere.invalid"]}}));
    assert_fail(
        &unpinned.terminal(json!({"url": "https://nowhere.invalid/x"})),
        600001,
        "request:fail DNS lookup failed",
    );
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let refused = TestApp::new(json!({"resolve": {"api.wxnet.test:443": closed_port.to_string()}}));
    assert_fail(
        &refused.terminal(json!({"url": url("/json")})),
        600001,
        "request:fail connect failed",
    );
    let app = TestApp::new(json!({}));
    assert_fail(&app.terminal(json!({"url": url("/close")})), 600001, "request:fail");
}

#[test]
fn malformed_options_are_synchronous_errors_without_events() {
    let app = TestApp::new(json!({}));
    for bad in [&b"{"[..], b"[1,2]", b"\xff\xfe", b"null"] {
        let err = app.app.request(bad, None, wxnet::UserData(0)).expect_err("sync error");
        assert_eq!(err.status, wxnet::Status::InvalidArgument);
    }
}

#[test]
fn this_devices_own_lan_address_is_refused_even_with_allow_lan() {
    let lan = |ip: &std::net::IpAddr| match ip {
        std::net::IpAddr::V4(v4) => v4.is_private(),
        std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    };
    let own: Vec<std::net::IpAddr> = if_addrs::get_if_addrs()
        .expect("interfaces")
        .into_iter()
        .map(|i| i.ip())
        .filter(|ip| lan(ip))
        .collect();
    let Some(ip) = own.first() else {
        skip(
            "this_devices_own_lan_address_is_refused_even_with_allow_lan",
            "no LAN address on this machine's interfaces",
        );
        return;
    };
    let host = if ip.is_ipv6() {
        format!("[{ip}]")
    } else {
        ip.to_string()
    };
    let app = TestApp::new(json!({"allowLan": true}));
    let got = app.terminal(json!({"url": format!("https://{host}:{}/json", SERVER.https_port())}));
    assert_fail(&got, 600002, "request:fail url not in domain list");
    assert!(
        got.json["errMsg"].as_str().expect("errMsg").contains("this device"),
        "{got:?}"
    );
}
