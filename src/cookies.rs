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
//!
//! It is bounded as browsers bound theirs, since every cookie comes from a
//! server: a `Set-Cookie` field over [`MAX_COOKIE_BYTES`] is ignored, and a
//! new cookie is ignored when its domain holds [`MAX_COOKIES_PER_DOMAIN`] or
//! the jar [`MAX_COOKIES`] (after the expired ones are dropped). A cookie the
//! jar holds can always be replaced or deleted.

use std::collections::HashMap;
use std::sync::Mutex;

use cookie_store::{CookieStore, StoreAction};
use http::{header, HeaderMap, HeaderValue};
use url::Url;

/// The longest `Set-Cookie` field stored: name, value and attributes (RFC 6265
/// 6.1 asks for at least 4096 bytes per cookie).
pub(crate) const MAX_COOKIE_BYTES: usize = 4096;
/// The most cookies stored for one domain (Chrome's number; RFC 6265 asks for
/// at least 50).
pub(crate) const MAX_COOKIES_PER_DOMAIN: usize = 180;
/// The most cookies stored in all (RFC 6265 asks for at least 3000).
pub(crate) const MAX_COOKIES: usize = 3000;

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
        let mut fields = headers.get_all(header::SET_COOKIE).iter().peekable();
        if fields.peek().is_none() {
            return;
        }
        let mut store = self.store.lock().expect("cookie jar lock poisoned");
        // Expired cookies (a deletion leaves one behind) make room first.
        let expired: Vec<(String, String, String)> = store
            .iter_any()
            .filter(|c| c.is_expired())
            .map(|c| (String::from(&c.domain), String::from(&c.path), c.name().to_owned()))
            .collect();
        for (domain, path, name) in &expired {
            store.remove(domain, path, name);
        }
        let mut per_domain: HashMap<String, usize> = HashMap::new();
        for cookie in store.iter_any() {
            *per_domain.entry(String::from(&cookie.domain)).or_default() += 1;
        }
        let mut total: usize = per_domain.values().sum();
        for value in fields {
            if value.len() > MAX_COOKIE_BYTES {
                log::debug!("cookie jar: a Set-Cookie over {MAX_COOKIE_BYTES} bytes ignored");
                continue;
            }
            let Ok(text) = std::str::from_utf8(value.as_bytes()) else {
                continue;
            };
            // `Cookie::parse` and `insert` do not log (unlike
            // `store_response_cookies`, which would print values at debug level).
            let Ok(cookie) = cookie_store::Cookie::parse(text, url) else {
                continue;
            };
            let domain = String::from(&cookie.domain);
            let held = store.contains_any(&domain, &String::from(&cookie.path), cookie.name());
            let count = per_domain.entry(domain).or_default();
            if !held && (*count >= MAX_COOKIES_PER_DOMAIN || total >= MAX_COOKIES) {
                log::debug!("cookie jar: full for a domain or in all, a new cookie ignored");
                continue;
            }
            match store.insert(cookie.into_owned(), url) {
                Ok(StoreAction::Inserted) => {
                    *count += 1;
                    total += 1;
                }
                Ok(StoreAction::ExpiredExisting) => {
                    *count = count.saturating_sub(1);
                    total = total.saturating_sub(1);
                }
                Ok(StoreAction::UpdatedExisting) | Err(_) => {}
            }
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
        // Bytes, not `from_str`: a stored value may hold UTF-8 (any byte but
        // controls is a valid field value), and one such cookie must not keep
        // all the others from being sent.
        if let Ok(value) = HeaderValue::from_bytes(combined.as_bytes()) {
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
    fn bounded_per_domain_and_in_all_but_held_cookies_can_change() {
        let jar = CookieJar::new();
        let names = |prefix: &str, n: usize| -> Vec<String> { (0..n).map(|i| format!("{prefix}{i}=v")).collect() };
        let count = |url: &str| get(&jar, url).map_or(0, |h| h.split("; ").count());
        let many = names("a", MAX_COOKIES_PER_DOMAIN + 20);
        set(
            &jar,
            "https://d0.test/",
            &many.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert_eq!(count("https://d0.test/"), MAX_COOKIES_PER_DOMAIN);
        // Full: a new name is ignored, a held one is replaced or deleted; the deletion
        // makes room for the next new one.
        set(
            &jar,
            "https://d0.test/",
            &["new=1", "a0=changed", "a1=; Max-Age=0", "late=1"],
        );
        let now = get(&jar, "https://d0.test/").expect("cookies");
        assert!(
            now.contains("a0=changed") && !now.contains("a1=") && now.contains("late=1"),
            "{now}"
        );
        assert!(!now.contains("new=1"), "{now}");
        assert_eq!(count("https://d0.test/"), MAX_COOKIES_PER_DOMAIN);
        // In all: MAX_COOKIES over many domains, then nothing new anywhere.
        let per = MAX_COOKIES_PER_DOMAIN;
        for d in 1..=MAX_COOKIES / per {
            let batch = names("b", per);
            set(
                &jar,
                &format!("https://d{d}.test/"),
                &batch.iter().map(String::as_str).collect::<Vec<_>>(),
            );
        }
        let held: usize = (0..=MAX_COOKIES / per + 1)
            .map(|d| count(&format!("https://d{d}.test/")))
            .sum();
        assert_eq!(held, MAX_COOKIES);
        set(&jar, "https://fresh.test/", &["x=1"]);
        assert_eq!(get(&jar, "https://fresh.test/"), None);
        // A field over MAX_COOKIE_BYTES is ignored; one of exactly that size is kept.
        let fits = format!("big={}", "x".repeat(MAX_COOKIE_BYTES - 4));
        let over = format!("huge={}", "x".repeat(MAX_COOKIE_BYTES - 4));
        let jar = CookieJar::new();
        set(&jar, "https://a.test/", &[&fits, &over]);
        assert_eq!(get(&jar, "https://a.test/").as_deref(), Some(fits.as_str()));
    }

    #[test]
    fn a_utf8_value_does_not_keep_the_others_from_being_sent() {
        let jar = CookieJar::new();
        let mut h = HeaderMap::new();
        h.append(header::SET_COOKIE, HeaderValue::from_static("a=1"));
        h.append(
            header::SET_COOKIE,
            HeaderValue::from_bytes("b=é".as_bytes()).expect("obs-text"),
        );
        let url = Url::parse("https://a.test/").expect("url");
        jar.store(&url, &h);
        let mut req = HeaderMap::new();
        jar.apply(&url, &mut req);
        let sent = String::from_utf8(req[header::COOKIE].as_bytes().to_vec()).expect("UTF-8");
        assert!(sent.contains("a=1") && sent.contains("b=é"), "{sent}");
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
