//! The optional per-app cookie jar (`cookieJar: true` in the app config).
//!
//! WeChat keeps no jar: by default a mini-program sees `Set-Cookie` only in
//! `res.cookies` and sends cookies by setting the `Cookie` header itself. With
//! the jar on, every response of the app (each redirect hop too) stores its
//! `Set-Cookie` fields under the RFC 6265 storage model, and every request of
//! the app (each hop) sends the matching ones back.
//!
//! The rules come from `cookie_store`: domain matching and host-only cookies,
//! default path and path matching, `Secure` (sent over https only), `Expires`
//! and `Max-Age` (which wins; 0 or a past date deletes), replacement of the
//! same (name, domain, path). `SameSite` is ignored (there is no "site" in a
//! mini-program) and `HttpOnly` has no effect (there is no script access to
//! the jar). No public-suffix list is used: a `Domain` attribute is accepted
//! whenever the request host domain-matches it, but since requests only go to
//! the app's listed domains, a cookie can only ever reach those.
//!
//! The jar lives in memory and dies with the app. Values are never logged.

use std::sync::Mutex;

use cookie_store::CookieStore;
use http::{header, HeaderMap, HeaderValue};
use url::Url;

/// One app's cookies. Cheap to share behind the app.
#[derive(Default)]
pub struct CookieJar {
    store: Mutex<CookieStore>,
}

impl CookieJar {
    pub fn new() -> CookieJar {
        CookieJar::default()
    }

    /// Stores every `Set-Cookie` of a response that came from `url`. Malformed
    /// cookies and cookies for another domain are ignored, as browsers do.
    pub fn store(&self, url: &Url, headers: &HeaderMap) {
        let mut store = self.store.lock().expect("cookie jar lock poisoned");
        for value in headers.get_all(header::SET_COOKIE) {
            let Ok(text) = std::str::from_utf8(value.as_bytes()) else {
                continue;
            };
            // `parse` does not log (unlike `store_response_cookies`, which
            // would print values at debug level).
            let _ = store.parse(text, url);
        }
    }

    /// The `Cookie` value for a request to `url`: the stored cookies that
    /// match, longest path first (RFC 6265 5.4), or `None`.
    pub fn header_for(&self, url: &Url) -> Option<String> {
        let store = self.store.lock().expect("cookie jar lock poisoned");
        let mut matches = store.matches(url);
        if matches.is_empty() {
            return None;
        }
        matches.sort_by_key(|c| std::cmp::Reverse(String::from(&c.path).len()));
        let pairs: Vec<String> = matches.iter().map(|c| format!("{}={}", c.name(), c.value())).collect();
        Some(pairs.join("; "))
    }

    /// Adds the jar's cookies for `url` to a request's headers. A `Cookie`
    /// header the mini-program set itself is kept and goes first; jar cookies
    /// whose name it already carries are left out.
    pub fn apply(&self, url: &Url, headers: &mut HeaderMap) {
        let Some(jar) = self.header_for(url) else {
            return;
        };
        let own = headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let combined = match own {
            Some(own) if !own.trim().is_empty() => {
                let taken: Vec<&str> = own
                    .split(';')
                    .filter_map(|pair| pair.split('=').next())
                    .map(str::trim)
                    .collect();
                let extra: Vec<&str> = jar
                    .split("; ")
                    .filter(|pair| !taken.contains(&pair.split('=').next().unwrap_or_default()))
                    .collect();
                if extra.is_empty() {
                    own
                } else {
                    format!("{own}; {}", extra.join("; "))
                }
            }
            _ => jar,
        };
        if let Ok(value) = HeaderValue::from_str(&combined) {
            headers.insert(header::COOKIE, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(jar: &CookieJar, url: &str, cookies: &[&str]) {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append(header::SET_COOKIE, HeaderValue::from_str(c).expect("value"));
        }
        jar.store(&Url::parse(url).expect("url"), &h);
    }

    fn get(jar: &CookieJar, url: &str) -> Option<String> {
        jar.header_for(&Url::parse(url).expect("url"))
    }

    #[test]
    fn domain_path_secure_and_expiry() {
        let jar = CookieJar::new();
        set(
            &jar,
            "https://api.a.test/",
            &[
                "host=1",
                "dom=2; Domain=a.test",
                "deep=3; Path=/x",
                "sec=4; Secure",
                "gone=5; Max-Age=0",
                "old=6; Expires=Wed, 21 Oct 2015 07:28:00 GMT",
                "evil=7; Domain=b.test",
            ],
        );
        let at_x = get(&jar, "https://api.a.test/x/z").expect("cookies");
        assert!(at_x.starts_with("deep=3; "), "{at_x}");
        for c in ["host=1", "dom=2", "sec=4"] {
            assert!(at_x.contains(c), "{at_x} lacks {c}");
        }
        assert!(!at_x.contains("gone") && !at_x.contains("old") && !at_x.contains("evil"));
        let other = get(&jar, "https://other.a.test/").expect("domain cookie");
        assert_eq!(other, "dom=2");
        let plain = get(&jar, "http://api.a.test/").expect("cookies");
        assert!(!plain.contains("sec=4"), "{plain}");
        assert_eq!(get(&jar, "https://b.test/"), None);
        // A later Max-Age=0 deletes.
        set(&jar, "https://api.a.test/", &["host=; Max-Age=0"]);
        assert!(!get(&jar, "https://api.a.test/").expect("rest").contains("host="));
    }

    #[test]
    fn own_cookie_header_is_kept_first() {
        let jar = CookieJar::new();
        set(&jar, "https://a.test/", &["a=jar", "b=jar"]);
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=mine"));
        jar.apply(&Url::parse("https://a.test/").expect("url"), &mut h);
        assert_eq!(h[header::COOKIE], "a=mine; b=jar");
    }
}
