//! The DNS wire format (RFC 1035), just what DNS-over-HTTPS (RFC 8484)
//! needs for A and AAAA lookups: encode one query, decode the addresses
//! of an answer.
//!
//! The answer comes from a server on the network, so the decoder treats it
//! as hostile: every read is bounds-checked, a compression pointer must
//! point strictly backwards (so pointer chains cannot loop) and a name may
//! not exceed 255 bytes, CNAME chains are followed at most
//! [`MAX_CNAME_HOPS`] times, and nothing is allocated beyond what the
//! message itself holds.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Record type A (IPv4 address).
pub(crate) const TYPE_A: u16 = 1;
/// Record type AAAA (IPv6 address).
pub(crate) const TYPE_AAAA: u16 = 28;
const TYPE_CNAME: u16 = 5;
const CLASS_IN: u16 = 1;
const HEADER_LEN: usize = 12;
/// Longest name on the wire (RFC 1035 3.1).
const MAX_NAME_LEN: usize = 255;
/// At most this many CNAME records are followed from the queried name.
pub(crate) const MAX_CNAME_HOPS: usize = 8;

/// Why an answer was not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireError(pub String);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn bad(why: impl Into<String>) -> WireError {
    WireError(why.into())
}

/// The addresses an answer gives for the queried name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    /// RCODE (0: no error, 3: the name does not exist).
    pub rcode: u8,
    pub addrs: Vec<IpAddr>,
    /// The smallest TTL of the records used, in seconds (0 when none).
    pub ttl: u32,
}

/// One query for `name` (a hostname, ASCII, no trailing dot needed) and
/// `qtype`, with ID 0 as RFC 8484 4.1 recommends and recursion desired.
pub(crate) fn encode_query(name: &str, qtype: u16) -> Result<Vec<u8>, WireError> {
    let name = name.trim_end_matches('.');
    let mut out = Vec::with_capacity(HEADER_LEN + name.len() + 6);
    out.extend_from_slice(&[0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    let mut wire_len = 1;
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 || !label.is_ascii() {
            return Err(bad(format!("{name:?} is not a DNS name")));
        }
        wire_len += 1 + label.len();
        if wire_len > MAX_NAME_LEN {
            return Err(bad("name longer than 255 bytes"));
        }
        out.push(label.len() as u8);
        out.extend(label.bytes().map(|b| b.to_ascii_lowercase()));
    }
    out.push(0);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(out)
}

/// A cursor over the message with checked reads.
struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).filter(|end| *end <= self.msg.len());
        let end = end.ok_or_else(|| bad("answer truncated"))?;
        let bytes = &self.msg[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A (possibly compressed) name, lowercased, labels joined with '.';
    /// the cursor ends after the name's bytes at this position.
    fn name(&mut self) -> Result<String, WireError> {
        let (name, end) = read_name(self.msg, self.pos)?;
        self.pos = end;
        Ok(name)
    }
}

/// Reads the name at `start`; returns it and the offset after it (after the
/// first pointer, if it is compressed).
fn read_name(msg: &[u8], start: usize) -> Result<(String, usize), WireError> {
    let mut name = String::new();
    let mut wire_len = 1;
    let mut pos = start;
    let mut end = None;
    loop {
        let len = *msg.get(pos).ok_or_else(|| bad("name runs past the end"))?;
        match len & 0xC0 {
            0x00 if len == 0 => {
                return Ok((name, end.unwrap_or(pos + 1)));
            }
            0x00 => {
                let len = usize::from(len);
                let label = msg
                    .get(pos + 1..pos + 1 + len)
                    .ok_or_else(|| bad("label runs past the end"))?;
                wire_len += 1 + len;
                if wire_len > MAX_NAME_LEN {
                    return Err(bad("name longer than 255 bytes"));
                }
                if !name.is_empty() {
                    name.push('.');
                }
                name.extend(label.iter().map(|b| char::from(b.to_ascii_lowercase())));
                pos += 1 + len;
            }
            0xC0 => {
                let low = *msg.get(pos + 1).ok_or_else(|| bad("pointer runs past the end"))?;
                let target = usize::from(u16::from_be_bytes([len & 0x3F, low]));
                // Strictly backwards: every jump lowers `pos`, so no loop.
                if target >= pos {
                    return Err(bad("compression pointer does not point backwards"));
                }
                end.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err(bad("unknown label type")),
        }
    }
}

/// Decodes a response to [`encode_query`]`(name, qtype)`: the addresses of
/// type `qtype` owned by `name` or by a name it is a CNAME of.
pub(crate) fn decode_answer(msg: &[u8], name: &str, qtype: u16) -> Result<Answer, WireError> {
    let mut r = Reader { msg, pos: 0 };
    let header = r.take(HEADER_LEN)?;
    let flags = u16::from_be_bytes([header[2], header[3]]);
    if flags & 0x8000 == 0 {
        return Err(bad("not a response"));
    }
    if flags & 0x0200 != 0 {
        return Err(bad("answer truncated (TC)"));
    }
    let rcode = (flags & 0x000F) as u8;
    let qdcount = u16::from_be_bytes([header[4], header[5]]);
    let ancount = u16::from_be_bytes([header[6], header[7]]);
    for _ in 0..qdcount {
        r.name()?;
        r.take(4)?;
    }
    let mut cnames: Vec<(String, String, u32)> = Vec::new();
    let mut records: Vec<(String, IpAddr, u32)> = Vec::new();
    for _ in 0..ancount {
        let owner = r.name()?;
        let rtype = r.u16()?;
        let class = r.u16()?;
        let ttl = r.u32()?;
        let rdlength = usize::from(r.u16()?);
        let rdata_start = r.pos;
        let rdata = r.take(rdlength)?;
        if class != CLASS_IN {
            continue;
        }
        match (rtype, rdata.len()) {
            (TYPE_A, 4) | (TYPE_AAAA, 16) if rtype != qtype => {}
            (TYPE_A, 4) => {
                let ip = Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]);
                records.push((owner, IpAddr::V4(ip), ttl));
            }
            (TYPE_AAAA, 16) => {
                let mut b = [0u8; 16];
                b.copy_from_slice(rdata);
                records.push((owner, IpAddr::V6(Ipv6Addr::from(b)), ttl));
            }
            (TYPE_A, _) | (TYPE_AAAA, _) => return Err(bad("address record of the wrong length")),
            (TYPE_CNAME, _) => {
                let (target, end) = read_name(msg, rdata_start)?;
                if end > rdata_start + rdlength {
                    return Err(bad("CNAME runs past its record"));
                }
                cnames.push((owner, target, ttl));
            }
            _ => {}
        }
    }
    // The names that stand for the queried one: it and its CNAME chain.
    let mut owners = vec![name.trim_end_matches('.').to_ascii_lowercase()];
    let mut ttl = u32::MAX;
    for _ in 0..MAX_CNAME_HOPS {
        let current = owners.last().expect("starts with the queried name");
        let Some((_, target, cname_ttl)) = cnames.iter().find(|(owner, _, _)| owner == current) else {
            break;
        };
        if owners.contains(target) {
            break;
        }
        ttl = ttl.min(*cname_ttl);
        owners.push(target.clone());
    }
    let mut addrs = Vec::new();
    for (owner, ip, record_ttl) in records {
        if owners.contains(&owner) && !addrs.contains(&ip) {
            ttl = ttl.min(record_ttl);
            addrs.push(ip);
        }
    }
    if addrs.is_empty() {
        ttl = 0;
    }
    Ok(Answer { rcode, addrs, ttl })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response to `encode_query(name, qtype)` with these answer records
    /// (owner given as a compression pointer to the question's name).
    fn response(name: &str, qtype: u16, answers: &[(u16, u32, &[u8])]) -> Vec<u8> {
        let mut msg = encode_query(name, qtype).expect("query");
        msg[2] = 0x81;
        msg[3] = 0x80;
        msg[7] = answers.len() as u8;
        for (rtype, ttl, rdata) in answers {
            msg.extend_from_slice(&[0xC0, 12]);
            msg.extend_from_slice(&rtype.to_be_bytes());
            msg.extend_from_slice(&CLASS_IN.to_be_bytes());
            msg.extend_from_slice(&ttl.to_be_bytes());
            msg.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            msg.extend_from_slice(rdata);
        }
        msg
    }

    #[test]
    fn query_encoding() {
        let q = encode_query("Api.Example.com.", TYPE_AAAA).expect("query");
        assert_eq!(&q[..12], &[0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&q[12..], b"\x03api\x07example\x03com\x00\x00\x1c\x00\x01");
        assert!(encode_query("a..b", TYPE_A).is_err());
        assert!(encode_query(&"a".repeat(64), TYPE_A).is_err());
        assert!(encode_query(&["abcdefghi"; 30].join("."), TYPE_A).is_err());
        assert!(encode_query("bücher.de", TYPE_A).is_err());
    }

    #[test]
    fn addresses_ttl_and_cname_chains() {
        let msg = response(
            "a.test",
            TYPE_A,
            &[(TYPE_A, 300, &[10, 0, 0, 1]), (TYPE_A, 60, &[10, 0, 0, 2])],
        );
        let a = decode_answer(&msg, "A.test.", TYPE_A).expect("answer");
        assert_eq!(a.rcode, 0);
        assert_eq!(a.addrs, vec![IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2])]);
        assert_eq!(a.ttl, 60);

        let mut six = [0u8; 16];
        six[15] = 1;
        let msg = response("a.test", TYPE_AAAA, &[(TYPE_AAAA, 5, &six), (TYPE_A, 1, &[1, 2, 3, 4])]);
        let a = decode_answer(&msg, "a.test", TYPE_AAAA).expect("answer");
        assert_eq!(a.addrs, vec![IpAddr::V6(Ipv6Addr::LOCALHOST)]);
        assert_eq!(a.ttl, 5);

        // a.test CNAME b.x (written out), b.x A 9.9.9.9 (owner points at the CNAME's rdata).
        let mut msg = response("a.test", TYPE_A, &[(TYPE_CNAME, 100, b"\x01b\x01x\x00")]);
        let cname_rdata = msg.len() - 5;
        msg[7] = 2;
        msg.extend_from_slice(&[0xC0, cname_rdata as u8]);
        msg.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 9, 9, 9, 9]);
        let a = decode_answer(&msg, "a.test", TYPE_A).expect("answer");
        assert_eq!(a.addrs, vec![IpAddr::from([9, 9, 9, 9])]);
        assert_eq!(a.ttl, 30);

        // Records for other names are ignored; NXDOMAIN gives no address.
        let msg = response("a.test", TYPE_A, &[]);
        let mut nx = msg.clone();
        nx[3] = 0x83;
        let a = decode_answer(&nx, "a.test", TYPE_A).expect("answer");
        assert_eq!((a.rcode, a.addrs.len(), a.ttl), (3, 0, 0));
    }

    #[test]
    fn malformed_answers_are_errors_not_panics() {
        let good = response("a.test", TYPE_A, &[(TYPE_A, 300, &[10, 0, 0, 1])]);
        // Every truncation of a good answer is an error, never a panic.
        for len in 0..good.len() {
            assert!(decode_answer(&good[..len], "a.test", TYPE_A).is_err(), "length {len}");
        }
        // Not a response.
        let mut query = good.clone();
        query[2] = 0x01;
        assert!(decode_answer(&query, "a.test", TYPE_A).is_err());
        // A pointer to itself, and a pointer forwards (either could loop).
        let mut self_ptr = response("a.test", TYPE_A, &[]);
        self_ptr[7] = 1;
        let at = self_ptr.len();
        self_ptr.extend_from_slice(&[0xC0, at as u8, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 1, 1, 1]);
        assert!(decode_answer(&self_ptr, "a.test", TYPE_A).is_err());
        let mut fwd = response("a.test", TYPE_A, &[]);
        fwd[7] = 1;
        let at = fwd.len();
        fwd.extend_from_slice(&[0xC0, (at + 2) as u8, 0xC0, at as u8]);
        assert!(decode_answer(&fwd, "a.test", TYPE_A).is_err());
        // A label type 0x40/0x80, a wrong address length, a length past the end.
        let mut ext = good.clone();
        ext[12] = 0x41;
        assert!(decode_answer(&ext, "a.test", TYPE_A).is_err());
        let bad_len = response("a.test", TYPE_A, &[(TYPE_A, 1, &[1, 2, 3])]);
        assert!(decode_answer(&bad_len, "a.test", TYPE_A).is_err());
        let mut long = good.clone();
        let n = long.len();
        long[n - 6] = 0xFF;
        assert!(decode_answer(&long, "a.test", TYPE_A).is_err());
        // A name over 255 bytes via pointers to many labels.
        let mut big = encode_query("a.test", TYPE_A).expect("query");
        big[2] = 0x80;
        big[7] = 1;
        let mut prev = None::<usize>;
        for _ in 0..5 {
            let at = big.len();
            big.push(63);
            big.extend_from_slice(&[b'x'; 63]);
            match prev {
                Some(p) => big.extend_from_slice(&[0xC0 | (p >> 8) as u8, p as u8]),
                None => big.push(0),
            }
            prev = Some(at);
        }
        let p = prev.expect("labels");
        big.extend_from_slice(&[0xC0 | (p >> 8) as u8, p as u8, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 1, 1, 1]);
        assert!(decode_answer(&big, "a.test", TYPE_A).is_err());
        // A CNAME loop ends (and gives no address); a huge count with no records errors.
        let mut lp = response("a.test", TYPE_A, &[(TYPE_CNAME, 1, &[0xC0, 12])]);
        lp[6] = 0;
        assert!(decode_answer(&lp, "a.test", TYPE_A).expect("answer").addrs.is_empty());
        let mut many = good;
        many[6] = 0xFF;
        assert!(decode_answer(&many, "a.test", TYPE_A).is_err());
    }
}
