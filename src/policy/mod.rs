//! Every wx URL rule: schemes, domain lists, IP/localhost/LAN, ports, Referer.
//!
//! [`check_url`] decides whether a mini-program may open a URL for a kind of task
//! (spec `wx-network.md` §5). It is pure: no I/O, no DNS, no logging. It returns the
//! [`url::Url`] the WHATWG parser made of the input, and callers must connect to *that*
//! value (its host is lowercased, IDNA-mapped and IPv4-canonical), never re-parse the string.
//!
//! # Always (whatever `urlCheck` says)
//!
//! * At most [`MAX_URL_LEN`] (8 KiB) bytes. No control characters and no whitespace
//!   anywhere (`char::is_control`, `char::is_whitespace`): the WHATWG parser silently drops
//!   tabs and newlines and trims spaces, which lets a URL say one thing and mean another.
//! * The URL is absolute and written literally as `scheme://authority…`. The parser's
//!   leniencies `https:host`, `https:///host` and `https:\\host` are refused.
//! * The authority has no userinfo: any `@` in it is refused, even `https://@host`
//!   (which the parser would quietly turn into `https://host`). A `@` after the
//!   authority (`https://evil.com#@api.example.com`) is just part of the path/query/fragment.
//! * The authority has no `%` (`https://api%2eexample.com` decodes to a listed host;
//!   we refuse rather than guess), ends at `/`, `?` or `#` but not at `\` (the
//!   parser treats `\` as `/`, so `https://evil.com\@api.example.com` is refused), and
//!   has no empty port (`https://host:/`) and no invisible (Default_Ignorable) characters
//!   such as U+00AD or U+200B, which IDNA would silently erase from the host.
//! * The scheme belongs to the kind's family: `http`/`https` for request, uploadFile and
//!   downloadFile; `ws`/`wss` for socket. Anything else is [`PolicyViolation::InvalidUrl`].
//!
//! With `urlCheck` off, that is all: any host, IP, `localhost`, port, `http`, `ws`
//! (userinfo stays refused: credentials in a URL are never sent).
//!
//! # With `urlCheck` on
//!
//! * The secure scheme is required (`https`, or `wss` for sockets). The insecure one of
//!   the same family (`http://`, `ws://`) is a valid URL the app may not use, so it is
//!   [`PolicyViolation::NotInDomainList`], as WeChat reports it.
//! * IP literals in any spelling the parser accepts (`2130706433`, `0x7f000001`, `127.1`,
//!   `0177.0.0.1`, full-width digits, `[::ffff:127.0.0.1]`) are compared after
//!   canonicalization. They are refused unless `allowLan` is on and the address is a LAN
//!   one: 10/8, 172.16/12, 192.168/16, fc00::/7, fe80::/10, or an IPv4-mapped IPv6 form
//!   of those. LAN addresses are then allowed with any port, without a domain list entry.
//!   Everything else is refused: loopback, unspecified, 169.254/16 (not in the spec's
//!   list), broadcast, multicast, public addresses. Zone ids (`[fe80::1%25eth0]`) are not
//!   parsed at all. The device's own LAN addresses cannot be known here; the connector
//!   has to refuse those itself.
//! * `localhost`, `localhost.` and `*.localhost` are refused (case-insensitively).
//! * Otherwise the host must equal a listed domain exactly: no wildcard, no
//!   parent-covers-child. Hosts are compared in their ASCII form (lowercase, punycode
//!   for IDN, as the WHATWG/UTS 46 parser produces it, for URLs and list entries alike),
//!   with one trailing dot removed on both sides. So `https://例子.测试` matches an entry
//!   `xn--fsqu00a.xn--0zwm56d` and vice versa, and `api。example。com` (ideographic
//!   full stops) *is* `api.example.com`. Look-alike letters are different hosts.
//! * Ports: if the entry has a port, the URL's effective port (explicit, or 443 when
//!   none is written) must equal it. If the entry has none, an `https` URL must not write
//!   a port, not even `:443` or `:0443` (the `url` crate forgets a default port, so the
//!   authority is read from the original string). A `wss` URL may use any port when its
//!   entry has none; an entry that names a port pins it for sockets too.
//!   A wrong port is [`PolicyViolation::NotInDomainList`].
//!
//! Refusals of a valid URL (scheme, IP, localhost, host, port) are `NotInDomainList`,
//! whose [`PolicyViolation::reason`] starts with `url not in domain list`; malformed
//! URLs are `InvalidUrl` (`invalid url: …`). Reasons name the host and port at most,
//! never the path or query.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

/// Longest URL [`check_url`] accepts, in bytes (8 KiB, a common server limit for a request line).
pub const MAX_URL_LEN: usize = 8 * 1024;

/// Which wx API a URL is for; selects the domain list and the required scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainKind {
    /// `wx.request`: `https://`.
    Request = 0,
    /// `wx.connectSocket`: `wss://`.
    Socket = 1,
    /// `wx.uploadFile`: `https://`.
    UploadFile = 2,
    /// `wx.downloadFile`: `https://`.
    DownloadFile = 3,
}

impl DomainKind {
    /// Every kind, in index order (`kind as usize`).
    pub const ALL: [DomainKind; 4] = [
        DomainKind::Request,
        DomainKind::Socket,
        DomainKind::UploadFile,
        DomainKind::DownloadFile,
    ];

    /// The key of this kind's list in the config's `domains` object.
    pub fn config_key(self) -> &'static str {
        match self {
            DomainKind::Request => "request",
            DomainKind::Socket => "socket",
            DomainKind::UploadFile => "uploadFile",
            DomainKind::DownloadFile => "downloadFile",
        }
    }

    /// The scheme required under `urlCheck`.
    fn secure_scheme(self) -> &'static str {
        match self {
            DomainKind::Socket => "wss",
            _ => "https",
        }
    }

    /// The other scheme of the same family, allowed only with `urlCheck` off.
    fn insecure_scheme(self) -> &'static str {
        match self {
            DomainKind::Socket => "ws",
            _ => "http",
        }
    }
}

/// One entry of a domain list, parsed once at app start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedDomain {
    /// ASCII host: lowercase, punycode for IDN, no trailing dot.
    host: String,
    /// The port written in the entry, if any (`:443` included).
    port: Option<u16>,
}

impl AllowedDomain {
    /// Parses a config entry such as `"https://api.example.com"`,
    /// `"https://api.example.com:8443"`, `"wss://ws.example.com"` or a bare
    /// `"api.example.com"`. Rejects entries with a path other than `/` or empty, a query,
    /// a fragment, userinfo, a scheme that does not fit the kind (`https` for
    /// request/upload/download, `wss` for socket), IP literals, `localhost`, wildcards,
    /// empty labels, or an empty host. `Err` names the entry and the problem.
    pub fn parse(entry: &str, kind: DomainKind) -> Result<AllowedDomain, String> {
        Self::parse_inner(entry, kind).map_err(|problem| format!("{entry:?}: {problem}"))
    }

    fn parse_inner(entry: &str, kind: DomainKind) -> Result<AllowedDomain, String> {
        let full = if entry.contains("://") {
            entry.to_owned()
        } else {
            format!("{}://{entry}", kind.secure_scheme())
        };
        let raw = RawUrl::split(&full)?;
        if !raw.scheme.eq_ignore_ascii_case(kind.secure_scheme()) {
            return Err(format!(
                "scheme must be {}:// for {} domains",
                kind.secure_scheme(),
                kind.config_key()
            ));
        }
        if !matches!(raw.rest, "" | "/") {
            let what = if raw.rest.contains('?') {
                "a query"
            } else if raw.rest.contains('#') {
                "a fragment"
            } else {
                "a path"
            };
            return Err(format!("{what} is not allowed, only scheme, host and port"));
        }
        if raw.host.contains('*') {
            return Err("wildcards are not supported, list each host".to_owned());
        }
        let parsed = Url::parse(&full).map_err(|e| e.to_string())?;
        let host = match parsed.host() {
            Some(Host::Domain(d)) => d.strip_suffix('.').unwrap_or(d),
            Some(Host::Ipv4(_) | Host::Ipv6(_)) => return Err("IP addresses cannot be listed".to_owned()),
            None => return Err("empty host".to_owned()),
        };
        if host.is_empty() {
            return Err("empty host".to_owned());
        }
        if host.split('.').any(str::is_empty) {
            return Err("empty label in host".to_owned());
        }
        if is_localhost(host) {
            return Err("localhost cannot be listed".to_owned());
        }
        let port = match raw.port {
            None => None,
            Some(_) => Some(parsed.port_or_known_default().ok_or("invalid port")?),
        };
        Ok(AllowedDomain {
            host: host.to_owned(),
            port,
        })
    }

    /// The host, in ASCII lowercase (punycode for IDN), without a trailing dot.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port the entry names, if it names one.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Port rule of §5; `explicit` says whether the URL wrote a port.
    fn allows_port(&self, kind: DomainKind, explicit: bool, effective: u16) -> bool {
        match self.port {
            Some(listed) => effective == listed,
            None => !explicit || kind == DomainKind::Socket,
        }
    }
}

/// The policy part of an app config.
///
/// `Default` is everything off and empty (no URL check): the config layer sets the
/// documented defaults (`urlCheck` and `allowLan` on).
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `urlCheck`: enforce schemes, domain lists, IP and port rules.
    pub url_check: bool,
    /// `allowLan`: with `url_check`, allow LAN IP literals without a list entry.
    pub allow_lan: bool,
    /// The four lists, indexed by `DomainKind as usize`.
    pub domains: [Vec<AllowedDomain>; 4],
}

impl Policy {
    /// The domain list for `kind`.
    pub fn domains(&self, kind: DomainKind) -> &[AllowedDomain] {
        &self.domains[kind as usize]
    }
}

/// Why a URL was refused; maps to errno (InvalidUrl -> 600009, NotInDomainList -> 600002).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyViolation {
    /// Malformed, relative, wrong scheme family, userinfo, control characters, too long.
    /// Holds the whole reason, starting with `invalid url`.
    InvalidUrl(String),
    /// A valid URL the policy refuses. Holds the whole reason, starting with
    /// `url not in domain list`.
    NotInDomainList(String),
}

impl PolicyViolation {
    /// The text after `:fail ` in `errMsg`.
    pub fn reason(&self) -> &str {
        match self {
            PolicyViolation::InvalidUrl(r) | PolicyViolation::NotInDomainList(r) => r,
        }
    }

    fn invalid(detail: impl fmt::Display) -> Self {
        PolicyViolation::InvalidUrl(format!("invalid url: {detail}"))
    }

    fn not_listed(detail: impl fmt::Display) -> Self {
        PolicyViolation::NotInDomainList(format!("url not in domain list: {detail}"))
    }
}

impl fmt::Display for PolicyViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for PolicyViolation {}

/// Checks a URL for a kind of task. Returns the parsed [`Url`] (normalized by the
/// WHATWG parser) on success; callers must use it rather than the input string.
pub fn check_url(policy: &Policy, kind: DomainKind, url: &str) -> Result<Url, PolicyViolation> {
    let raw = RawUrl::split(url).map_err(PolicyViolation::invalid)?;
    let scheme = raw.scheme.to_ascii_lowercase();
    let secure = scheme == kind.secure_scheme();
    if !secure && scheme != kind.insecure_scheme() {
        return Err(PolicyViolation::invalid(format!(
            "scheme \"{scheme}\" is not allowed for {}",
            kind.config_key()
        )));
    }
    let parsed = Url::parse(url).map_err(PolicyViolation::invalid)?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(PolicyViolation::invalid("userinfo is not allowed"));
    }
    let Some(host) = parsed.host() else {
        return Err(PolicyViolation::invalid("missing host"));
    };
    if let Host::Domain(domain) = host {
        if !domain.bytes().all(is_reg_name_byte) {
            return Err(PolicyViolation::invalid(
                "the host has a character no request can carry",
            ));
        }
    }
    if !policy.url_check {
        return Ok(parsed);
    }
    if !secure {
        return Err(PolicyViolation::not_listed(format!(
            "{} requires {}://",
            kind.config_key(),
            kind.secure_scheme()
        )));
    }
    match host {
        Host::Ipv4(ip) => check_ip(policy, IpAddr::V4(ip))?,
        Host::Ipv6(ip) => check_ip(policy, IpAddr::V6(ip))?,
        Host::Domain(domain) => {
            let effective = parsed.port_or_known_default().unwrap_or(443);
            check_domain(policy, kind, domain, raw.port.is_some(), effective)?;
        }
    }
    Ok(parsed)
}

/// A byte RFC 3986 allows in a host name (`reg-name`, once the URL parser
/// has lowercased it and turned any Unicode into punycode). The WHATWG parser
/// of the `url` crate also lets `` ` ``, `{`, `}` and `"` through, which no
/// request line (nor the `http` crate) can carry.
fn is_reg_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b)
}

/// The fixed Referer: `https://servicewechat.com/{appId}/{version}/page-frame.html`.
pub fn referer(app_id: &str, version: &str) -> String {
    format!("https://servicewechat.com/{app_id}/{version}/page-frame.html")
}

fn check_ip(policy: &Policy, ip: IpAddr) -> Result<(), PolicyViolation> {
    match (is_lan(ip), policy.allow_lan) {
        (true, true) => Ok(()),
        (true, false) => Err(PolicyViolation::not_listed(format!("LAN address {ip} needs allowLan"))),
        (false, _) => Err(PolicyViolation::not_listed(format!("IP address {ip} is not allowed"))),
    }
}

fn check_domain(
    policy: &Policy,
    kind: DomainKind,
    domain: &str,
    explicit_port: bool,
    effective_port: u16,
) -> Result<(), PolicyViolation> {
    let host = domain.strip_suffix('.').unwrap_or(domain);
    if is_localhost(host) {
        return Err(PolicyViolation::not_listed("localhost is not allowed"));
    }
    let mut host_listed = false;
    for entry in policy.domains(kind).iter().filter(|e| e.host == host) {
        host_listed = true;
        if entry.allows_port(kind, explicit_port, effective_port) {
            return Ok(());
        }
    }
    Err(PolicyViolation::not_listed(if host_listed {
        format!("port {effective_port} is not allowed for {host}")
    } else {
        format!("{host} is not listed for {}", kind.config_key())
    }))
}

/// LAN per §5: 10/8, 172.16/12, 192.168/16, fc00::/7, fe80::/10 (and IPv4-mapped forms).
fn is_lan(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.is_private(),
            None => {
                let first = v6.segments()[0];
                first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfe80
            }
        },
    }
}

/// `host` is already lowercase and without a trailing dot.
fn is_localhost(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

/// The original string's `scheme://authority` split, read the way the WHATWG parser
/// reads special schemes, so that what it hides (userinfo, default ports) stays visible.
struct RawUrl<'a> {
    scheme: &'a str,
    host: &'a str,
    /// The text after `:` in the authority, if there is a `:`.
    port: Option<&'a str>,
    /// Path, query and fragment, from the first `/`, `?` or `#` on.
    rest: &'a str,
}

impl<'a> RawUrl<'a> {
    fn split(input: &'a str) -> Result<RawUrl<'a>, String> {
        if input.len() > MAX_URL_LEN {
            return Err(format!("longer than {MAX_URL_LEN} bytes"));
        }
        if input.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("contains whitespace or control characters".to_owned());
        }
        let (scheme, after) = input
            .split_once(':')
            .filter(|(s, _)| is_scheme(s))
            .ok_or("not an absolute URL")?;
        let after = after
            .strip_prefix("//")
            .ok_or_else(|| format!("expected \"{scheme}://\""))?;
        let end = after.find(['/', '?', '#', '\\']).unwrap_or(after.len());
        let (authority, rest) = after.split_at(end);
        if rest.starts_with('\\') {
            return Err("backslash after the host".to_owned());
        }
        if authority.contains('@') {
            return Err("userinfo is not allowed".to_owned());
        }
        if authority.contains('%') {
            return Err("percent-encoding in the host is not allowed".to_owned());
        }
        if authority.chars().any(is_default_ignorable) {
            return Err("invisible characters in the host are not allowed".to_owned());
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(inner) => {
                let close = inner.find(']').ok_or("unclosed IPv6 bracket")?;
                let tail = &inner[close + 1..];
                let port = match tail.strip_prefix(':') {
                    Some(p) => Some(p),
                    None if tail.is_empty() => None,
                    None => return Err("junk after IPv6 address".to_owned()),
                };
                (&authority[..close + 2], port)
            }
            None => match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            },
        };
        if host.is_empty() {
            return Err("missing host".to_owned());
        }
        if port == Some("") {
            return Err("empty port".to_owned());
        }
        Ok(RawUrl {
            scheme,
            host,
            port,
            rest,
        })
    }
}

/// Unicode's Default_Ignorable_Code_Point: characters IDNA maps away or forbids, which
/// would make the written host differ from the parsed one (`api.exa\u{AD}mple.com`).
fn is_default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{AD}' | '\u{34F}' | '\u{61C}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

#[cfg(test)]
mod tests;
