//! Query-string parsing (`application/x-www-form-urlencoded` rules: `+` is a space).

/// The decoded `name=value` pairs of a query string, in order.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(query: &str) -> Query {
        Query(
            query
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(name), decode(value))
                })
                .collect(),
        )
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The first value of `name` parsed as a number: `Ok(None)` when absent, `Err` when
    /// present but not a number (the caller answers 400).
    pub(crate) fn number(&self, name: &str) -> Result<Option<u64>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| format!("query parameter {name} must be a number")),
        }
    }

    /// True when `name` is present (even without a value) and not `0` or `false`.
    pub(crate) fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some(v) if !matches!(v, "0" | "false"))
    }
}

/// Percent-decodes `s` (invalid escapes are kept as they are), `+` meaning a space; invalid
/// UTF-8 in the result is replaced with U+FFFD.
pub(crate) fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes() {
        assert_eq!(decode("a%20b+c%2Fd"), "a b c/d");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%E4%BD%A0"), "你");
        let q = Query::parse("url=https%3A%2F%2Fx%2Fy%3Fa%3D1&status=307&flag&no=0");
        assert_eq!(q.get("url"), Some("https://x/y?a=1"));
        assert_eq!(q.number("status"), Ok(Some(307)));
        assert!(q.number("url").is_err());
        assert_eq!(q.number("missing"), Ok(None));
        assert!(q.flag("flag"));
        assert!(!q.flag("no"));
    }
}
