//! What an app knows about HTTP/3 alternatives (RFC 7838 `Alt-Svc`): which
//! https origins offered `h3`, where, until when, and which of them failed
//! recently. One per app, in memory.
//!
//! Only the final IETF protocol id `h3` is used: drafts (`h3-29`), Google
//! QUIC (`quic=`, `h3-Q050`) and other protocols are skipped.
//!
//! An alternative on another host is a place the app would send packets
//! to, so it must pass the app's URL policy as if the mini-program had
//! asked for `https://<that host>` itself (domain list, IP and LAN rules,
//! `allowLan`); one that does not is ignored (the next `h3` alternative of
//! the field is considered instead). The origin's own host (`h3=":443"`)
//! is always fine: the request to the origin passed the policy already.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::policy::{self, DomainKind, Policy};

/// `ma` when the header gives none (RFC 7838: 24 hours).
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// The longest `ma` taken: a server's number is capped here, so that its expiry is always a
/// time the clock can hold (`ma=18446744073709551615` is valid syntax). The cache lives in
/// memory with its app, so a year is as good as forever.
const MAX_MAX_AGE: Duration = Duration::from_secs(365 * 24 * 3600);
/// How long a failed QUIC attempt keeps an origin on TCP.
pub const BROKEN_FOR: Duration = Duration::from_secs(300);

/// Where an origin's HTTP/3 lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternative {
    /// `None`: the origin's own host.
    pub host: Option<String>,
    pub port: u16,
}

#[derive(Debug, Default)]
struct Entry {
    alternative: Option<(Alternative, Instant)>,
    broken_until: Option<Instant>,
}

/// One app's Alt-Svc knowledge, keyed by `host:port` of https origins.
#[derive(Debug, Default)]
pub struct AltSvcCache {
    entries: Mutex<HashMap<String, Entry>>,
    /// The app's URL policy, which other hosts must pass.
    policy: Policy,
}

fn key(host: &str, port: u16) -> String {
    format!("{}:{port}", host.trim_end_matches('.').to_ascii_lowercase())
}

impl AltSvcCache {
    /// An empty cache for an app with this URL policy.
    pub fn new(policy: Policy) -> AltSvcCache {
        AltSvcCache {
            entries: Mutex::default(),
            policy,
        }
    }

    /// Whether packets for `origin_host:origin_port` may go to `alt`.
    fn allowed(&self, origin_host: &str, origin_port: u16, alt: &Alternative) -> bool {
        let Some(alt_host) = alt.host.as_deref() else {
            return true;
        };
        let norm = |h: &str| h.trim_end_matches('.').to_ascii_lowercase();
        if norm(alt_host) == norm(origin_host) {
            return true;
        }
        // Only host characters: anything else (`/`, `@`, `%`, `?`…) could make
        // the URL below mean another host than the one we would connect to.
        if alt_host.is_empty()
            || !alt_host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:_".contains(&b))
        {
            return false;
        }
        let authority_host = if alt_host.contains(':') {
            format!("[{alt_host}]")
        } else {
            alt_host.to_owned()
        };
        let url = if origin_port == 443 {
            format!("https://{authority_host}/")
        } else {
            format!("https://{authority_host}:{origin_port}/")
        };
        let allowed = policy::check_url(&self.policy, DomainKind::Request, &url).is_ok();
        if !allowed {
            log::debug!("alt-svc: alternative host {authority_host} refused by the URL policy, ignored");
        }
        allowed
    }

    /// Takes in the `Alt-Svc` fields of a response from `host:port` (https).
    pub fn learn<'a>(&self, host: &str, port: u16, values: impl Iterator<Item = &'a [u8]>, now: Instant) {
        let mut found = None;
        let mut clear = false;
        for value in values {
            let Ok(text) = std::str::from_utf8(value) else {
                continue;
            };
            match parse(text, &|alt| self.allowed(host, port, alt)) {
                Parsed::Clear => clear = true,
                Parsed::H3(alt, max_age) if found.is_none() => {
                    // `max_age` is capped, and `checked_add` covers a clock near its own end.
                    let expires = now.checked_add(max_age).unwrap_or(now);
                    found = Some((alt, expires));
                }
                _ => {}
            }
        }
        if !clear && found.is_none() {
            return;
        }
        let mut entries = self.entries.lock().expect("alt-svc lock poisoned");
        let entry = entries.entry(key(host, port)).or_default();
        entry.alternative = if clear { None } else { found };
    }

    /// The origin's usable HTTP/3 alternative: advertised, not expired, not
    /// marked broken.
    pub fn lookup(&self, host: &str, port: u16, now: Instant) -> Option<Alternative> {
        let mut entries = self.entries.lock().expect("alt-svc lock poisoned");
        let entry = entries.get_mut(&key(host, port))?;
        if entry.broken_until.is_some_and(|until| now < until) {
            return None;
        }
        match &entry.alternative {
            Some((alt, expires)) if now < *expires => Some(alt.clone()),
            Some(_) => {
                entry.alternative = None;
                None
            }
            None => None,
        }
    }

    /// QUIC to this origin failed: use TCP for [`BROKEN_FOR`].
    pub fn mark_broken(&self, host: &str, port: u16, now: Instant) {
        let mut entries = self.entries.lock().expect("alt-svc lock poisoned");
        entries.entry(key(host, port)).or_default().broken_until = Some(now + BROKEN_FOR);
    }

    /// QUIC to this origin worked (perhaps after a fallback): forget a failure.
    pub fn mark_working(&self, host: &str, port: u16) {
        let mut entries = self.entries.lock().expect("alt-svc lock poisoned");
        if let Some(entry) = entries.get_mut(&key(host, port)) {
            entry.broken_until = None;
        }
    }
}

#[derive(Debug, PartialEq)]
enum Parsed {
    Clear,
    H3(Alternative, Duration),
    Nothing,
}

/// One `Alt-Svc` field value: `clear`, or the first `h3` alternative of a
/// comma-separated list that `accept` takes, with its `ma`.
fn parse(value: &str, accept: &dyn Fn(&Alternative) -> bool) -> Parsed {
    if value.trim().eq_ignore_ascii_case("clear") {
        return Parsed::Clear;
    }
    for alt_value in split_outside_quotes(value, ',') {
        let mut parts = split_outside_quotes(alt_value, ';').into_iter();
        let Some((protocol, authority)) = parts.next().and_then(|p| p.split_once('=')) else {
            continue;
        };
        if protocol.trim() != "h3" {
            continue;
        }
        let authority = authority.trim().trim_matches('"');
        let Some((host, port)) = authority.rsplit_once(':') else {
            continue;
        };
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        if port == 0 {
            continue;
        }
        let mut max_age = DEFAULT_MAX_AGE;
        for param in parts {
            if let Some((name, v)) = param.split_once('=') {
                if name.trim().eq_ignore_ascii_case("ma") {
                    if let Ok(secs) = v.trim().trim_matches('"').parse::<u64>() {
                        max_age = Duration::from_secs(secs).min(MAX_MAX_AGE);
                    }
                }
            }
        }
        let host = (!host.is_empty()).then(|| host.trim_start_matches('[').trim_end_matches(']').to_owned());
        let alternative = Alternative { host, port };
        if !accept(&alternative) {
            continue;
        }
        return Parsed::H3(alternative, max_age);
    }
    Parsed::Nothing
}

/// Splits on `sep` except inside double quotes.
fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alt(host: Option<&str>, port: u16) -> Alternative {
        Alternative {
            host: host.map(str::to_owned),
            port,
        }
    }

    #[test]
    fn parses_h3_only() {
        assert_eq!(
            parse(r#"h3-29=":443"; ma=10, h3=":8443"; ma=60; persist=1"#, &|_| true),
            Parsed::H3(alt(None, 8443), Duration::from_secs(60))
        );
        assert_eq!(
            parse(r#"h3="alt.example.com:443""#, &|_| true),
            Parsed::H3(alt(Some("alt.example.com"), 443), DEFAULT_MAX_AGE)
        );
        assert_eq!(
            parse(r#"quic=":443"; ma=2592000; v="46,43""#, &|_| true),
            Parsed::Nothing
        );
        assert_eq!(parse(r#"h2=":443""#, &|_| true), Parsed::Nothing);
        assert_eq!(parse(r#"h3=":0""#, &|_| true), Parsed::Nothing);
        assert_eq!(parse(r#"h3="nonsense""#, &|_| true), Parsed::Nothing);
        assert_eq!(parse(" Clear ", &|_| true), Parsed::Clear);
    }

    #[test]
    fn other_hosts_must_pass_the_url_policy() {
        let listed = policy::AllowedDomain::parse("https://alt.example.com", DomainKind::Request).expect("entry");
        let api = policy::AllowedDomain::parse("https://api.example.com", DomainKind::Request).expect("entry");
        let mut p = Policy {
            url_check: true,
            allow_lan: false,
            domains: Default::default(),
        };
        p.domains[DomainKind::Request as usize] = vec![api, listed];
        let cache = AltSvcCache::new(p);
        let t0 = Instant::now();
        let learn = |v: &str| {
            cache.learn("api.example.com", 443, std::iter::once(v.as_bytes()), t0);
            cache.lookup("api.example.com", 443, t0)
        };
        assert_eq!(learn(r#"h3="evil.example.net:443""#), None);
        assert_eq!(learn(r#"h3="10.0.0.7:443""#), None, "LAN needs allowLan");
        assert_eq!(learn(r#"h3="127.0.0.1:443""#), None);
        assert_eq!(learn(r#"h3="[::1]:443""#), None);
        assert_eq!(learn(r#"h3="evil.example.net/@alt.example.com:443""#), None);
        assert_eq!(
            learn(r#"h3="evil.example.net:443", h3="alt.example.com:8443""#),
            Some(alt(Some("alt.example.com"), 8443)),
            "the first acceptable alternative"
        );
        assert_eq!(
            learn(r#"h3="API.example.com.:9443""#),
            Some(alt(Some("API.example.com."), 9443))
        );
        assert_eq!(learn(r#"h3=":7443""#), Some(alt(None, 7443)));
    }

    #[test]
    fn expiry_clear_and_broken() {
        let cache = AltSvcCache::default();
        let t0 = Instant::now();
        let learn =
            |v: &'static str, at: Instant| cache.learn("API.example.com.", 443, std::iter::once(v.as_bytes()), at);
        learn(r#"h3=":8443"; ma=10"#, t0);
        assert_eq!(cache.lookup("api.example.com", 443, t0), Some(alt(None, 8443)));
        assert_eq!(cache.lookup("api.example.com", 8443, t0), None);
        assert_eq!(cache.lookup("api.example.com", 443, t0 + Duration::from_secs(11)), None);
        learn(r#"h3=":8443"; ma=10"#, t0);
        cache.mark_broken("api.example.com", 443, t0);
        assert_eq!(cache.lookup("api.example.com", 443, t0 + Duration::from_secs(1)), None);
        cache.mark_working("api.example.com", 443);
        assert!(cache
            .lookup("api.example.com", 443, t0 + Duration::from_secs(1))
            .is_some());
        // A response without Alt-Svc changes nothing; `clear` forgets.
        cache.learn("api.example.com", 443, std::iter::empty(), t0);
        assert!(cache.lookup("api.example.com", 443, t0).is_some());
        learn("clear", t0);
        assert_eq!(cache.lookup("api.example.com", 443, t0), None);
        // A server's largest `ma` is capped at a year, not added to the clock as is.
        learn(r#"h3=":8443"; ma=18446744073709551615"#, t0);
        assert!(cache
            .lookup("api.example.com", 443, t0 + MAX_MAX_AGE - Duration::from_secs(1))
            .is_some());
        assert_eq!(cache.lookup("api.example.com", 443, t0 + MAX_MAX_AGE), None);
    }
}
