//! Bad input from outside never crashes the library: randomized inputs (a
//! fixed-seed xorshift, so failures reproduce) into every parser of outside
//! data — app config, options, URLs, wxfile:// paths, request data, response
//! charsets — asserting the safety property where there is one (a sandbox
//! path that is accepted always lies inside its directory).

use std::path::PathBuf;

use serde_json::json;
use wxnet::testing::{check_url, place, to_utf8, AllowedDomain, AppConfig, Data, DomainKind, Opts, Policy, Sandbox};

mod support;
use support::Rng;

/// Input generators on top of the harness's [`Rng`].
impl Rng {
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// `base` with a few random edits: replaced bytes, deleted or duplicated ranges.
    fn mutate(&mut self, base: &[u8], alphabet: &[u8]) -> Vec<u8> {
        let mut v = base.to_vec();
        for _ in 0..1 + self.below(4) {
            if v.is_empty() {
                v.push(alphabet[self.below(alphabet.len())]);
                continue;
            }
            let at = self.below(v.len());
            match self.below(4) {
                0 => v[at] = alphabet[self.below(alphabet.len())],
                1 => v.insert(at, alphabet[self.below(alphabet.len())]),
                2 => {
                    let end = (at + self.below(8)).min(v.len());
                    v.drain(at..end);
                }
                _ => {
                    let end = (at + self.below(8)).min(v.len());
                    let copy = v[at..end].to_vec();
                    v.splice(at..at, copy);
                }
            }
        }
        v
    }
}

const JSONISH: &[u8] = b"{}[]\":,.-+eE0123456789 abcnulltrue\\\0\xff\xc3\xa9\n";

#[test]
fn app_config_mutations_never_panic() {
    let valid = json!({
        "appId": "wx1", "version": "3", "urlCheck": true, "allowLan": false,
        "domains": {"request": ["https://a.com", "https://b.com:8443"], "socket": ["wss://w.com"]},
        "networkTimeout": {"request": 1000, "connectSocket": 2000},
        "maxTimeoutMs": 5000, "maxConcurrentRequests": 3, "maxDownloadBytes": 10,
        "backgroundGraceMs": -1, "tempDir": "/tmp/x", "resolve": {"a.com:443": "127.0.0.1:1"}
    })
    .to_string();
    assert!(AppConfig::from_json(valid.as_bytes()).is_ok());
    let mut rng = Rng(0x5EED_0001);
    let mut accepted = 0;
    for _ in 0..20_000 {
        let input = rng.mutate(valid.as_bytes(), JSONISH);
        if AppConfig::from_json(&input).is_ok() {
            accepted += 1;
        }
    }
    assert!(
        accepted > 0 && accepted < 20_000,
        "mutations both kept and broke the config: {accepted}"
    );
}

#[test]
fn url_policy_on_random_urls_never_panics() {
    let mut policy = Policy {
        url_check: true,
        allow_lan: true,
        domains: Default::default(),
    };
    for (kind, entry) in [
        (DomainKind::Request, "https://api.example.com"),
        (DomainKind::Socket, "wss://ws.example.com"),
    ] {
        policy.domains[kind as usize].push(AllowedDomain::parse(entry, kind).expect("entry"));
    }
    let seeds = [
        "https://api.example.com/p?q=1#f",
        "wss://ws.example.com:9000/s",
        "https://[fe80::1]:8/x",
        "https://192.168.0.1/",
        "https://0x7f.1/",
        "https://user@api.example.com/",
        "http://api.example.com./",
    ];
    let alphabet = b"abcxyz019./:@[]%#?\\ \t\0-_~\xe4\xb8\xad";
    let mut rng = Rng(0x5EED_0002);
    for i in 0..50_000 {
        let seed = rng.pick(&seeds);
        let input = rng.mutate(seed.as_bytes(), alphabet);
        let url = String::from_utf8_lossy(&input);
        policy.url_check = i % 5 != 0;
        let kind = [DomainKind::Request, DomainKind::Socket, DomainKind::UploadFile][i % 3];
        if let Ok(parsed) = check_url(&policy, kind, &url) {
            assert!(parsed.host_str().is_some(), "accepted without a host: {url:?}");
            assert!(
                parsed.username().is_empty() && parsed.password().is_none(),
                "userinfo accepted: {url:?}"
            );
        }
    }
}

#[test]
fn accepted_sandbox_paths_always_stay_inside() {
    let root = std::env::temp_dir().join(format!("wxnet-robust-{}", std::process::id()));
    let (tmp, usr) = (root.join("tmp"), root.join("usr"));
    std::fs::create_dir_all(usr.join("a/b")).expect("mkdir");
    std::fs::create_dir_all(&tmp).expect("mkdir");
    std::fs::write(usr.join("a/b/f.txt"), b"f").expect("write");
    std::fs::write(tmp.join("tmp_1.png"), b"p").expect("write");
    std::fs::write(root.join("secret"), b"s").expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("secret"), usr.join("a/link")).expect("symlink");
    let sandbox = Sandbox::new(Some(tmp.clone()), Some(usr.clone()));
    let real_root = |p: &PathBuf| p.canonicalize().expect("canonical");
    let (real_tmp, real_usr) = (real_root(&tmp), real_root(&usr));
    let seeds = [
        "wxfile://usr/a/b/f.txt",
        "wxfile://tmp_1.png",
        "wxfile://usr/a/link",
        "wxfile://usr/new/x.bin",
    ];
    let alphabet = b"./\\%2eE0_-a\0\n:~usrtmp";
    let mut rng = Rng(0x5EED_0003);
    let mut accepted = 0;
    for _ in 0..30_000 {
        let seed = rng.pick(&seeds);
        let input = rng.mutate(seed.as_bytes(), alphabet);
        let vpath = String::from_utf8_lossy(&input);
        for path in [sandbox.existing_file(&vpath), sandbox.user_file_for_write(&vpath)]
            .into_iter()
            .flatten()
        {
            accepted += 1;
            assert!(
                path.starts_with(&real_tmp) || path.starts_with(&real_usr),
                "{vpath:?} escaped to {}",
                path.display()
            );
        }
    }
    assert!(accepted > 100, "the mutations also produced valid paths: {accepted}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn request_options_and_data_never_panic() {
    let seeds = [
        r#"{"url":"https://a.com","method":"post","data":{"a":[1,{"b":"c"}],"d":null},"header":{"X":"1"}}"#,
        r#"{"url":"https://a.com","data":"x=1&y=2","timeout":5.5,"dataType":"json"}"#,
        r#"{"url":"https://a.com","data":[1,2,3],"header":{"content-type":"application/x-www-form-urlencoded"}}"#,
    ];
    let mut rng = Rng(0x5EED_0004);
    let (mut parsed, mut with_url, mut with_data) = (0, 0, 0);
    for i in 0..30_000 {
        let seed = rng.pick(&seeds);
        let input = rng.mutate(seed.as_bytes(), JSONISH);
        let Ok(opts) = Opts::parse(&input) else { continue };
        parsed += 1;
        with_url += usize::from(opts.required_str("url").is_ok());
        let _ = opts.millis("timeout");
        let _ = opts.bool("enableHttp2");
        let _ = opts.object("header");
        let _ = opts.choice("dataType", &["json", "text"], "json");
        if let Some(raw) = opts.data() {
            with_data += 1;
            let method = [http::Method::GET, http::Method::POST, http::Method::HEAD][i % 3].clone();
            let ct = ["application/json", "application/x-www-form-urlencoded"][i % 2];
            let _ = place(&method, ct, Data::Json(raw));
        }
    }
    // The mutations must also reach the option readers, not only the parser.
    eprintln!("options fuzz: {parsed} parsed, {with_url} with a url, {with_data} with data");
    // About two thirds of what the seeded generator gives today (7682 / 7177
    // / 6961): a change to the mutations that starves the readers fails here.
    const FLOOR_PARSED: usize = 5_000;
    const FLOOR_WITH_URL: usize = 4_500;
    const FLOOR_WITH_DATA: usize = 4_500;
    assert!(parsed >= FLOOR_PARSED, "only {parsed} of 30000 inputs parsed");
    assert!(with_url >= FLOOR_WITH_URL, "only {with_url} inputs had a url");
    assert!(with_data >= FLOOR_WITH_DATA, "only {with_data} inputs had data");
}

#[test]
fn response_charset_conversion_never_panics_and_yields_utf8() {
    let labels = [
        None,
        Some("text/plain"),
        Some("text/plain; charset=gbk"),
        Some("text/html; charset=\"big5\""),
        Some("a; charset=utf-16le"),
        Some("x; charset=shift_jis"),
        Some("x; charset=bogus"),
        Some(";;charset="),
    ];
    let mut rng = Rng(0x5EED_0005);
    for _ in 0..20_000 {
        let len = rng.below(64);
        let body: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let label = labels[rng.below(labels.len())];
        if let Ok(text) = to_utf8(bytes::Bytes::from(body), label) {
            assert!(std::str::from_utf8(&text).is_ok());
        }
    }
}
