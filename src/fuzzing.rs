//! Entry points for the fuzz targets in `fuzz/` (cargo feature `fuzzing`;
//! not an API, hidden from the docs). Thin wrappers over the parsers of
//! outside input, each checking the property its target is about; a broken
//! property panics, which libFuzzer reports as a crash.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderValue, Method};
use http_body_util::{BodyExt, Full};

use crate::config::AppConfig;
use crate::http::decode;
use crate::http::multipart::Multipart;
use crate::options::{header_map, Opts};
use crate::policy::{self, DomainKind, Policy};
use crate::request::body::{self, Data};
use crate::sandbox::Sandbox;

/// The app config parser: any input gives a config or an error, never a
/// panic; a config that parses parses the same way again.
pub fn app_config(json: &[u8]) {
    if let Ok(config) = AppConfig::from_json(json) {
        let again = AppConfig::from_json(json).expect("a config that parsed once parses again");
        assert_eq!(config.policy.url_check, again.policy.url_check);
    }
}

/// The option steps every API runs before any I/O, on one options object:
/// the shared getters, the header map, request `data` placement (for every
/// method), the socket `protocols` and close validation, and the URL check
/// for each API kind under a permissive and a strict policy.
pub fn options(json: &[u8]) {
    let Ok(opts) = Opts::parse(json) else {
        return;
    };
    let referer = HeaderValue::from_static("https://servicewechat.com/wx0/1/page-frame.html");
    for key in [
        "url",
        "method",
        "filePath",
        "name",
        "dataType",
        "responseType",
        "redirect",
    ] {
        let _ = opts.str(key);
    }
    for key in [
        "enableHttp2",
        "enableQuic",
        "enableCache",
        "enableChunked",
        "tcpNoDelay",
    ] {
        let _ = opts.bool(key);
    }
    let _ = opts.millis("timeout");
    let _ = opts.choice("redirect", &["follow", "manual"], "follow");
    let _ = opts.object("formData");
    if let Ok(header) = opts.object("header") {
        if let Ok(headers) = header_map(header, &referer) {
            assert!(
                headers.contains_key(http::header::REFERER),
                "the fixed Referer is always set"
            );
        }
    }
    if let Some(raw) = opts.data() {
        for method in [Method::GET, Method::POST, Method::HEAD, Method::PUT] {
            for content_type in ["application/json", "application/x-www-form-urlencoded", "text/plain"] {
                let _ = body::place(&method, content_type, Data::Json(raw));
            }
        }
    }
    if let Some(serde_json::Value::Array(list)) = opts.get("protocols") {
        for p in list {
            let _ = p.as_str();
        }
    }
    if let (Some(code), Some(reason)) = (opts.get("code"), opts.str("reason").ok().flatten()) {
        if let Some(code) = code.as_i64().and_then(|c| i32::try_from(c).ok()) {
            let _ = crate::socket::validate_close(code, reason.as_bytes());
        }
    }
    if let Ok(Some(url)) = opts.str("url") {
        let open = Policy::default();
        for kind in [
            DomainKind::Request,
            DomainKind::UploadFile,
            DomainKind::DownloadFile,
            DomainKind::Socket,
        ] {
            let _ = policy::check_url(&open, kind, url);
        }
    }
}

/// The URL policy: a URL accepted under a domain list is listed (its host
/// is an entry's host), is `https`/`wss`, has no userinfo, and a second
/// parser (`http::Uri`) reads the same host and port out of it.
///
/// `data`: first line the domain-list entries (comma-separated), the rest
/// the URL.
pub fn url_policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (entries, url) = text.split_once('\n').unwrap_or(("api.example.com", text));
    for kind in [DomainKind::Request, DomainKind::Socket] {
        let listed: Vec<policy::AllowedDomain> = entries
            .split(',')
            .filter_map(|e| policy::AllowedDomain::parse(e.trim(), kind).ok())
            .collect();
        let mut p = Policy {
            url_check: true,
            allow_lan: false,
            domains: Default::default(),
        };
        p.domains[kind as usize] = listed.clone();
        let Ok(parsed) = policy::check_url(&p, kind, url) else {
            continue;
        };
        let scheme = parsed.scheme();
        assert!(
            scheme == "https" || scheme == "wss",
            "accepted a {scheme}:// URL under urlCheck: {url:?}"
        );
        assert!(
            parsed.username().is_empty() && parsed.password().is_none(),
            "userinfo accepted: {url:?}"
        );
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) => d.trim_end_matches('.').to_owned(),
            other => panic!("accepted a non-domain host {other:?} without allowLan: {url:?}"),
        };
        let port = parsed
            .port_or_known_default()
            .expect("https and wss have a default port");
        assert!(
            listed
                .iter()
                .any(|e| e.host() == host && e.port().is_none_or(|p| p == port)),
            "accepted {url:?} (host {host:?}, port {port}) which no entry of {entries:?} lists"
        );
        // What we connect to is the parsed URL: the http crate, which hyper
        // uses for the request line, must read the same authority from it.
        let uri: http::Uri = parsed
            .as_str()
            .parse()
            .unwrap_or_else(|e| panic!("http::Uri refuses accepted {:?}: {e}", parsed.as_str()));
        let uri_host = uri.host().expect("absolute URI").trim_end_matches('.');
        assert_eq!(uri_host, host, "url and http::Uri disagree on the host of {url:?}");
        assert_eq!(
            uri.port_u16().unwrap_or(port),
            port,
            "url and http::Uri disagree on the port of {url:?}"
        );
    }
}

/// A fixed sandbox under the system temp dir (created once per process).
fn fuzz_sandbox() -> &'static (PathBuf, PathBuf, Sandbox) {
    static DIRS: std::sync::OnceLock<(PathBuf, PathBuf, Sandbox)> = std::sync::OnceLock::new();
    DIRS.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("wxnet-fuzz-sandbox-{}", std::process::id()));
        let (tmp, usr) = (root.join("tmp"), root.join("usr"));
        std::fs::create_dir_all(usr.join("a/b")).expect("mkdir usr");
        std::fs::create_dir_all(&tmp).expect("mkdir tmp");
        std::fs::write(usr.join("a/b/f.txt"), b"f").expect("write");
        std::fs::write(tmp.join("tmp_1.png"), b"p").expect("write");
        std::fs::write(root.join("secret"), b"s").expect("write");
        #[cfg(unix)]
        {
            let _ = std::os::unix::fs::symlink(root.join("secret"), usr.join("a/link"));
            let _ = std::os::unix::fs::symlink(&root, usr.join("escape"));
        }
        let sandbox = Sandbox::new(Some(tmp.clone()), Some(usr.clone()));
        let real = |p: &Path| p.canonicalize().expect("canonical");
        (real(&tmp), real(&usr), sandbox)
    })
}

/// Sandbox paths: whatever is accepted (to read or to write) is inside its
/// directory, and writing creates nothing outside `userDataDir`.
pub fn sandbox_paths(data: &[u8]) {
    let Ok(vpath) = std::str::from_utf8(data) else {
        return;
    };
    let (tmp, usr, sandbox) = fuzz_sandbox();
    let root = usr.parent().expect("usr has a parent");
    if let Ok(path) = sandbox.existing_file(vpath) {
        assert!(
            path.starts_with(tmp) || path.starts_with(usr),
            "{vpath:?} read {path:?}"
        );
    }
    if let Ok(path) = sandbox.user_file_for_write(vpath) {
        assert!(path.starts_with(usr), "{vpath:?} would write {path:?}");
    }
    let stray: Vec<_> = std::fs::read_dir(root)
        .expect("read the sandbox root")
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| !["tmp", "usr", "secret"].contains(&n.to_str().unwrap_or("")))
        .collect();
    assert!(stray.is_empty(), "{vpath:?} created {stray:?} outside the sandbox");
}

/// Multipart building: for any field name, file name, form fields and file
/// content, the body is exactly `content_length` bytes, starts and ends with
/// its boundary, and no form value can end a part early (the boundary
/// appears exactly once per part plus the closing one).
pub fn multipart(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(3, '\n');
    let field = parts.next().unwrap_or("");
    let filename = parts.next().unwrap_or("f.bin");
    let form: Option<serde_json::Map<String, serde_json::Value>> =
        parts.next().and_then(|rest| serde_json::from_str(rest).ok());
    let content = b"file content\r\n--not-a-boundary\r\n";
    let file = fuzz_upload_file(content);
    let m = Multipart::new(
        field,
        std::fs::File::open(&file).expect("the fuzz upload file exists"),
        content.len() as u64,
        filename,
        crate::transfer::mime::mime_for(filename),
        form.as_ref(),
        Arc::new(|_| {}),
    );
    let content_type = m.content_type();
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .expect("content type names the boundary")
        .to_owned();
    let body = crate::runtime::handle()
        .block_on(async { m.body().expect("file opens").collect().await })
        .expect("body streams")
        .to_bytes();
    assert_eq!(body.len() as u64, m.content_length(), "Content-Length matches the body");
    let delimiter = format!("--{boundary}");
    assert!(body.starts_with(delimiter.as_bytes()));
    assert!(body.ends_with(format!("\r\n--{boundary}--\r\n").as_bytes()));
    let count = body
        .windows(delimiter.len())
        .filter(|w| *w == delimiter.as_bytes())
        .count();
    let expected = form.as_ref().map_or(0, |f| f.len()) + 2;
    assert_eq!(count, expected, "the boundary appears once per part and once to close");
}

fn fuzz_upload_file(content: &[u8]) -> PathBuf {
    static FILE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("wxnet-fuzz-upload-{}", std::process::id()));
        std::fs::write(&path, content).expect("write the upload file");
        path
    })
    .clone()
}

/// Response decoding: content-encodings (gzip, deflate, br, unknown) with a
/// bounded read, then charset conversion (label, BOM, GB18030 detection).
/// Never a panic; what converts is valid UTF-8.
///
/// `data`: first byte picks the encoding, up to the first newline of the
/// rest is the Content-Type, the remainder is the body.
pub fn response_decoding(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let encoding = ["gzip", "deflate", "br", "identity"][usize::from(pick % 4)];
    let (content_type, raw) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (std::str::from_utf8(&rest[..i]).ok(), &rest[i + 1..]),
        None => (None, rest),
    };
    let resp = Full::new(Bytes::copy_from_slice(raw))
        .map_err(|never| match never {})
        .boxed_unsync();
    const LIMIT: u64 = 1 << 20;
    let decoded = crate::runtime::handle().block_on(async {
        let mut stream = decode::decoded_stream(resp, Some(encoding));
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else {
                return None;
            };
            out.extend_from_slice(&chunk);
            if out.len() as u64 > LIMIT {
                return None;
            }
        }
        Some(Bytes::from(out))
    });
    let Some(body) = decoded else {
        return;
    };
    if let Ok(text) = decode::to_utf8(body, content_type) {
        assert!(std::str::from_utf8(&text).is_ok(), "to_utf8 returned invalid UTF-8");
        let _ = decode::is_json(&text);
    }
}

/// The HTTP/3 frame guard (`net/h3_guard.rs`) over a server's request-stream bytes: the
/// first two input bytes choose where the stream is cut into chunks, the rest is the
/// stream. Never a panic; when the stream passes, every byte is counted as body or
/// framing, h3 gets no more than arrived, and the same stream in one chunk gives the same
/// bytes to h3.
#[cfg(feature = "quic")]
pub fn h3_frames(data: &[u8]) {
    let (cuts, stream) = match data {
        [a, b, rest @ ..] => ([usize::from(*a), usize::from(*a) + usize::from(*b)], rest),
        _ => return,
    };
    let Ok((pieces, body, other)) = crate::net::h3_guard::scan_in_pieces(stream, &cuts) else {
        return;
    };
    assert_eq!(body + other, stream.len() as u64, "every byte is body or framing");
    assert!(pieces.len() <= stream.len(), "h3 gets no more than arrived");
    if let Ok((whole, ..)) = crate::net::h3_guard::scan_in_pieces(stream, &[]) {
        assert_eq!(pieces, whole, "chunking does not change what h3 gets");
    }
}

/// DoH answers (`net/dns_wire.rs`), which come from a resolver on the network: never a
/// panic; the addresses are of the type asked for, without repeats, no more than the
/// message has records for, and no address means TTL 0.
///
/// `data`: the first byte's low bit picks A or AAAA, the rest is the DNS message.
pub fn dns_answer(data: &[u8]) {
    use crate::net::dns_wire::{decode_answer, TYPE_A, TYPE_AAAA};
    let Some((&pick, msg)) = data.split_first() else {
        return;
    };
    let qtype = if pick & 1 == 0 { TYPE_A } else { TYPE_AAAA };
    let Ok(answer) = decode_answer(msg, "api.example.com", qtype) else {
        return;
    };
    // The smallest record: a root owner (1 byte), type, class, TTL, length, the address.
    let record = 11 + if qtype == TYPE_A { 4 } else { 16 };
    assert!(
        12 + answer.addrs.len() * record <= msg.len(),
        "{} addresses from a message of {} bytes",
        answer.addrs.len(),
        msg.len()
    );
    for (i, ip) in answer.addrs.iter().enumerate() {
        assert_eq!(ip.is_ipv4(), qtype == TYPE_A, "{ip} answers a query of type {qtype}");
        assert!(!answer.addrs[..i].contains(ip), "{ip} repeated");
    }
    if answer.addrs.is_empty() {
        assert_eq!(answer.ttl, 0, "no address but a TTL");
    }
}

/// `Alt-Svc` fields (`net/alt_svc.rs`) of a response from `https://api.example.com`: never a
/// panic; an alternative on another host passes the app's URL policy, its port is not 0,
/// and what is learned is forgotten within a year.
///
/// `data`: the field values, one per line.
pub fn alt_svc(data: &[u8]) {
    use std::time::{Duration, Instant};

    use crate::net::alt_svc::AltSvcCache;
    const ORIGIN: &str = "api.example.com";
    let mut strict = Policy {
        url_check: true,
        allow_lan: false,
        domains: Default::default(),
    };
    strict.domains[DomainKind::Request as usize] = ["api.example.com", "alt.example.com"]
        .into_iter()
        .map(|d| policy::AllowedDomain::parse(d, DomainKind::Request).expect("a valid entry"))
        .collect();
    for policy in [strict, Policy::default()] {
        let cache = AltSvcCache::new(policy.clone());
        let t0 = Instant::now();
        cache.learn(ORIGIN, 443, data.split(|&b| b == b'\n'), t0);
        if let Some(alt) = cache.lookup(ORIGIN, 443, t0) {
            assert_ne!(alt.port, 0, "port 0 learned");
            if let Some(host) = alt.host.as_deref().filter(|h| !h.eq_ignore_ascii_case(ORIGIN)) {
                let authority = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host.to_owned()
                };
                let url = format!("https://{authority}/");
                assert!(
                    policy::check_url(&policy, DomainKind::Request, &url).is_ok(),
                    "alternative {host:?} learned although the policy refuses {url}"
                );
            }
        }
        let year_and_a_day = Duration::from_secs(366 * 24 * 3600);
        assert_eq!(cache.lookup(ORIGIN, 443, t0 + year_and_a_day), None, "kept past a year");
    }
}

/// Cache files (`cache/entry.rs`) and what the cache reads from a stored response's fields
/// (http-cache-semantics on `Cache-Control`, `Age`, `Expires`, `Date`, `Last-Modified`,
/// `Vary`): never a panic, whenever the entry is looked up; an entry that decodes encodes to
/// a file that decodes to the same entry.
///
/// `data`: 8 bytes (LE) of seconds after the entry's response time at which it is looked
/// up, then the file without its checksum (a SHA-256 anyone who can write the directory
/// can compute, so the target computes it too).
pub fn cache_entry(data: &[u8]) {
    use std::time::{Duration, SystemTime};

    use crate::cache::entry::Entry;
    let Some((later, content)) = data.split_first_chunk::<8>() else {
        return;
    };
    let mut file = content.to_vec();
    file.extend_from_slice(ring::digest::digest(&ring::digest::SHA256, content).as_ref());
    let Some(entry) = Entry::decode(file) else {
        return;
    };
    let again = Entry::decode(entry.encode()).expect("an entry we encode decodes");
    assert_eq!(again, entry, "an entry changed on its way through a file");
    let policy = crate::cache::policy_of(&entry);
    // A clock reads a time before the year 10000 (the `time` crate, which formats the
    // `Date` of a cached answer, can go no further); the entry's own time may be anything.
    const YEAR_9999_END: Duration = Duration::from_secs(253_402_300_799);
    let now = entry
        .response_time
        .checked_add(Duration::from_secs(u64::from_le_bytes(*later)))
        .filter(|t| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .is_ok_and(|d| d <= YEAR_9999_END)
        })
        .unwrap_or_else(SystemTime::now);
    let mut req = http::Request::get(entry.url.as_str())
        .body(())
        .map(|r| r.into_parts().0)
        .unwrap_or_else(|_| http::Request::new(()).into_parts().0);
    req.headers = entry.request_headers.clone();
    let _ = policy.before_request(&req, now);
    let _ = policy.age(now);
    let _ = policy.time_to_live(now);
    let _ = policy.is_storable();
}

/// The cookie jar (`cookies.rs`) over a server's `Set-Cookie` fields: never a panic; the
/// cookies the jar holds for a URL reach that URL's request, as one valid `Cookie` field.
///
/// `data`: `Set-Cookie` values, one per line, from `https://api.example.com/a/b`.
pub fn cookie_jar(data: &[u8]) {
    use http::header::{COOKIE, SET_COOKIE};
    use http::HeaderMap;

    let jar = crate::cookies::CookieJar::new();
    let from = url::Url::parse("https://api.example.com/a/b").expect("a valid URL");
    let mut response = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            response.append(SET_COOKIE, value);
        }
    }
    jar.store(&from, &response);
    for to in [
        "https://api.example.com/a/b",
        "https://api.example.com/",
        "http://api.example.com/a/b/c",
        "https://www.api.example.com/a",
        "https://example.com/a/b",
    ] {
        let url = url::Url::parse(to).expect("a valid URL");
        let held = jar.header_for(&url);
        let mut request = HeaderMap::new();
        jar.apply(&url, &mut request);
        let sent = request.get(COOKIE).map(HeaderValue::as_bytes);
        assert_eq!(
            sent,
            held.as_deref().map(str::as_bytes),
            "the jar's cookies for {to} are not what the request carries"
        );
    }
}

/// A server's answer to the WebSocket upgrade (`socket/handshake.rs`): never a panic; an
/// agreed extension is handed to yawc in the spelling it parses (`permessage-deflate`, then
/// `; name` or `; name=digits`), and reading that spelling again gives it back unchanged.
///
/// `data`: the first byte's bit 0 says whether permessage-deflate was offered, bit 1
/// whether the subprotocols `chat` and `json` were; then `name: value` lines added to an
/// otherwise valid 101 answer.
pub fn ws_handshake(data: &[u8]) {
    use crate::socket::handshake::{deflate_answer, derive_accept_key, verify};
    let Some((&flags, lines)) = data.split_first() else {
        return;
    };
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let mut response = http::Response::new(());
    *response.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
    let h = response.headers_mut();
    h.insert(http::header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(http::header::CONNECTION, HeaderValue::from_static("Upgrade"));
    let accept = HeaderValue::from_str(&derive_accept_key(key.as_bytes())).expect("base64 is a valid value");
    h.insert(http::header::SEC_WEBSOCKET_ACCEPT, accept);
    for line in lines.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        let _ = h.try_append(name, value);
    }
    let offered: Vec<String> = if flags & 2 != 0 {
        vec!["chat".into(), "json".into()]
    } else {
        Vec::new()
    };
    let Ok(Some(agreed)) = verify(&response, key, &offered, flags & 1 != 0) else {
        return;
    };
    let mut params = agreed
        .strip_prefix("permessage-deflate")
        .unwrap_or_else(|| panic!("{agreed:?} does not start with permessage-deflate"));
    while let Some(rest) = params.strip_prefix("; ") {
        let end = rest.find(';').unwrap_or(rest.len());
        let (name, value) = rest[..end].split_once('=').unwrap_or((&rest[..end], "1"));
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "parameter name {name:?} in {agreed:?}"
        );
        assert!(
            !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()),
            "parameter value {value:?} in {agreed:?}"
        );
        params = &rest[end..];
    }
    assert!(params.is_empty(), "{agreed:?} has {params:?} after its parameters");
    assert_eq!(
        deflate_answer(&agreed).as_deref(),
        Ok(agreed.as_str()),
        "not a fixed point"
    );
}
