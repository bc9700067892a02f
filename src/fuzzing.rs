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
        file.clone(),
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
