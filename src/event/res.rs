//! Builders for the wx `res` JSON objects, every event's in one place, each
//! built once: a `Serialize` struct of borrowed data, except the SUCCESS
//! objects with their `profile`, which are written field by field
//! ([`Object`]) and tested against what the `Serialize` derive writes.

use serde::Serialize;

use crate::errors::{Api, WxError};
pub use crate::http::profile::Profile;

/// A field name as [`Object`] takes it: quoted, with its colon. Names are
/// literals that need no escaping.
macro_rules! key {
    ($name:literal) => {
        concat!("\"", $name, "\":")
    };
}

/// FAIL `{errMsg, errno}`.
pub fn fail_json(api: Api, err: &WxError) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Fail {
        err_msg: String,
        errno: i32,
    }
    to_json(&Fail {
        err_msg: err.err_msg(api),
        errno: err.errno as i32,
    })
}

/// SOCKET_CLOSE `{code, reason}`.
pub fn close_json(code: u16, reason: &str) -> String {
    #[derive(Serialize)]
    struct Close<'a> {
        code: u16,
        reason: &'a str,
    }
    to_json(&Close { code, reason })
}

/// `{errMsg}` (SOCKET_ERROR).
pub fn err_msg_json(msg: &str) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ErrMsg<'a> {
        err_msg: &'a str,
    }
    to_json(&ErrMsg { err_msg: msg })
}

/// `{errMsg: "<api>:ok"}` (connectSocket's SUCCESS).
pub fn ok_json(api: Api) -> String {
    err_msg_json(&format!("{}:ok", api.name()))
}

/// CHUNK_RECEIVED `{}` (the chunk is the event's data).
pub fn chunk_json() -> String {
    #[derive(Serialize)]
    struct Empty {}
    to_json(&Empty {})
}

/// SOCKET_MESSAGE `{dataKind}` (the message is the event's data).
pub fn message_json(binary: bool) -> String {
    data_kind_json(if binary { "arraybuffer" } else { "text" })
}

fn data_kind_json(data_kind: &str) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct DataKind<'a> {
        data_kind: &'a str,
    }
    to_json(&DataKind { data_kind })
}

/// SOCKET_OPEN `{header, profile}`.
pub fn socket_open_json<P: Serialize>(headers: &Headers, profile: &P) -> String {
    let mut out = Vec::with_capacity(512 + headers.header.len());
    let mut o = Object::open(&mut out);
    o.raw(key!("header"), &headers.header);
    o.serialized(key!("profile"), profile);
    o.close();
    into_string(out)
}

/// wx.request's SUCCESS `{errMsg, statusCode, header, cookies, profile,
/// dataKind}` (the body is the event's data). Written by hand ([`Object`]):
/// it is built once per request, and serde's per-field work on the 28 fields
/// of `profile` was a tenth of a small request's instructions. The tests
/// hold it to the bytes the `Serialize` derive writes.
pub fn request_success_json(status: u16, headers: &Headers, profile: &Profile, data_kind: &str) -> String {
    let mut out = Vec::with_capacity(1536 + headers.header.len());
    let mut o = Object::open(&mut out);
    o.str(key!("errMsg"), "request:ok");
    o.uint(key!("statusCode"), status.into());
    o.raw(key!("header"), &headers.header);
    o.serialized(key!("cookies"), &headers.cookies);
    o.profile(profile);
    o.str(key!("dataKind"), data_kind);
    o.close();
    into_string(out)
}

/// wx.uploadFile's SUCCESS `{errMsg, statusCode, profile}` (the response
/// text is the event's data).
pub fn upload_success_json(status: u16, profile: &Profile) -> String {
    let mut out = Vec::with_capacity(1536);
    let mut o = Object::open(&mut out);
    o.str(key!("errMsg"), "uploadFile:ok");
    o.uint(key!("statusCode"), status.into());
    o.profile(profile);
    o.close();
    into_string(out)
}

/// Where a download was saved: `filePath` (a user file the host chose) or
/// `tempFilePath`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved<'a> {
    FilePath(&'a str),
    TempFilePath(&'a str),
}

/// wx.downloadFile's SUCCESS `{errMsg, statusCode, filePath|tempFilePath,
/// profile}`.
pub fn download_success_json(status: u16, saved: Saved<'_>, profile: &Profile) -> String {
    let mut out = Vec::with_capacity(2048);
    let mut o = Object::open(&mut out);
    o.str(key!("errMsg"), "downloadFile:ok");
    o.uint(key!("statusCode"), status.into());
    match saved {
        Saved::FilePath(p) => o.str(key!("filePath"), p),
        Saved::TempFilePath(p) => o.str(key!("tempFilePath"), p),
    }
    o.profile(profile);
    o.close();
    into_string(out)
}

/// A JSON object written field by field into a buffer, for the `res`
/// objects built once per task (the SUCCESS events and their `profile`).
/// Keys are static names that need no escaping; string values are escaped
/// by serde_json.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    /// Where the object's `{` is: a key after it gets no comma.
    start: usize,
}

impl<'a> Object<'a> {
    fn open(out: &'a mut Vec<u8>) -> Object<'a> {
        let start = out.len();
        out.push(b'{');
        Object { out, start }
    }

    /// `key` is `"name":` (see [`key!`]).
    fn key(&mut self, key: &'static str) {
        if self.out.len() > self.start + 1 {
            self.out.push(b',');
        }
        self.out.extend_from_slice(key.as_bytes());
    }

    fn str(&mut self, key: &'static str, value: &str) {
        self.key(key);
        write_json_str(self.out, value);
    }

    fn uint(&mut self, key: &'static str, value: u64) {
        self.key(key);
        write_u64(self.out, value);
    }

    fn ms(&mut self, key: &'static str, value: f64) {
        self.key(key);
        write_ms(self.out, value);
    }

    fn bool(&mut self, key: &'static str, value: bool) {
        self.key(key);
        self.out.extend_from_slice(if value { b"true" } else { b"false" });
    }

    /// The `profile` field of the SUCCESS objects.
    fn profile(&mut self, profile: &Profile) {
        self.key(key!("profile"));
        write_profile(self.out, profile);
    }

    /// A value serde writes (string lists, the socket's profile).
    fn serialized<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) {
        self.key(key);
        serde_json::to_writer(&mut *self.out, value).expect("res values always serialize");
    }

    /// `value` must be JSON text already.
    fn raw(&mut self, key: &'static str, value: &str) {
        self.key(key);
        self.out.extend_from_slice(value.as_bytes());
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

fn into_string(json: Vec<u8>) -> String {
    String::from_utf8(json).expect("JSON written from str is UTF-8")
}

/// The `profile` object, field for field as its `Serialize` derive names
/// and orders them (a test compares the two).
fn write_profile(out: &mut Vec<u8>, p: &Profile) {
    let mut o = Object::open(out);
    o.ms(key!("invokeStart"), p.invoke_start);
    o.ms(key!("queueStart"), p.queue_start);
    o.ms(key!("queueEnd"), p.queue_end);
    o.ms(key!("fetchStart"), p.fetch_start);
    o.ms(key!("redirectStart"), p.redirect_start);
    o.ms(key!("redirectEnd"), p.redirect_end);
    o.ms(key!("domainLookUpStart"), p.domain_look_up_start);
    o.ms(key!("domainLookUpEnd"), p.domain_look_up_end);
    o.ms(key!("connectStart"), p.connect_start);
    o.ms(key!("connectEnd"), p.connect_end);
    o.ms(key!("SSLconnectionStart"), p.ssl_connection_start);
    o.ms(key!("SSLconnectionEnd"), p.ssl_connection_end);
    o.ms(key!("requestStart"), p.request_start);
    o.ms(key!("requestEnd"), p.request_end);
    o.ms(key!("responseStart"), p.response_start);
    o.ms(key!("responseEnd"), p.response_end);
    o.ms(key!("rtt"), p.rtt);
    o.uint(key!("estimate_nettype"), p.estimate_nettype.into());
    o.ms(key!("httpRttEstimate"), p.http_rtt_estimate);
    o.ms(key!("transportRttEstimate"), p.transport_rtt_estimate);
    o.ms(
        key!("downstreamThroughputKbpsEstimate"),
        p.downstream_throughput_kbps_estimate,
    );
    o.ms(key!("throughputKbps"), p.throughput_kbps);
    o.str(key!("peerIP"), &p.peer_ip);
    o.uint(key!("port"), p.port.into());
    o.str(key!("protocol"), p.protocol);
    o.bool(key!("socketReused"), p.socket_reused);
    o.uint(key!("sendBytesCount"), p.send_bytes_count);
    o.uint(key!("receivedBytedCount"), p.received_byted_count);
    o.close();
}

fn write_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Writes a `profile` number as serde_json does (shortest round-trip form,
/// `.0` on whole numbers). Every timestamp and rounded duration is a whole
/// number of microseconds in ms, i.e. the double nearest to k/1000: below
/// 2^42 ms (the year 2109) doubles are spaced under 0.0005 apart, so no
/// decimal other than k/1000 itself with at most 3 fraction digits rounds to
/// the same double, and k/1000 written without trailing zeros is the
/// shortest form. Anything else goes to serde_json.
fn write_ms(out: &mut Vec<u8>, v: f64) {
    const LIMIT: f64 = (1u64 << 42) as f64;
    if v.is_sign_positive() && v < LIMIT {
        // Rounds half up (v is not negative), without a call to libm's round.
        let k = (v * 1000.0 + 0.5) as u64;
        #[allow(
            clippy::float_cmp,
            reason = "exactness is the point: only a double that is exactly nearest to k/1000 takes this path"
        )]
        if k as f64 / 1000.0 == v {
            write_u64(out, k / 1000);
            let frac = (k % 1000) as u16;
            let digits = [
                b'.',
                b'0' + (frac / 100) as u8,
                b'0' + (frac / 10 % 10) as u8,
                b'0' + (frac % 10) as u8,
            ];
            // ".0" for a whole number, else without trailing zeros.
            let len = if !frac.is_multiple_of(10) {
                4
            } else if !frac.is_multiple_of(100) {
                3
            } else {
                2
            };
            out.extend_from_slice(&digits[..len]);
            return;
        }
    }
    serde_json::to_writer(out, &v).expect("writing a number to a Vec cannot fail");
}

/// uploadFile's PROGRESS `{progress, totalBytesSent, totalBytesExpectedToSend}`.
pub fn upload_progress_json(progress: u64, sent: u64, total: u64) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Progress {
        progress: u64,
        total_bytes_sent: u64,
        total_bytes_expected_to_send: u64,
    }
    to_json(&Progress {
        progress,
        total_bytes_sent: sent,
        total_bytes_expected_to_send: total,
    })
}

/// downloadFile's PROGRESS `{progress, totalBytesWritten,
/// totalBytesExpectedToWrite}`.
pub fn download_progress_json(progress: u64, written: u64, total: u64) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Progress {
        progress: u64,
        total_bytes_written: u64,
        total_bytes_expected_to_write: u64,
    }
    to_json(&Progress {
        progress,
        total_bytes_written: written,
        total_bytes_expected_to_write: total,
    })
}

/// Response headers as wx shows them: an object (repeated headers joined
/// with ", ") plus the raw `Set-Cookie` strings apart. The object is JSON
/// text written once straight from the `HeaderMap` (no map of owned strings)
/// and embedded as is in every event that shows it.
#[derive(Debug)]
pub struct Headers {
    /// The header object as JSON text (written here, so always JSON).
    pub header: String,
    pub cookies: Vec<String>,
}

impl Default for Headers {
    fn default() -> Headers {
        Headers {
            header: "{}".to_owned(),
            cookies: Vec::new(),
        }
    }
}

impl Headers {
    pub fn from_http(map: &http::HeaderMap) -> Headers {
        let mut cookies = Vec::new();
        let mut json = Vec::with_capacity(64 + 48 * map.len());
        json.push(b'{');
        // `keys()` yields each name once, in first-seen order; `get_all`
        // gives its values in order.
        for name in map.keys() {
            if name == http::header::SET_COOKIE {
                cookies.extend(
                    map.get_all(name)
                        .iter()
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
                );
                continue;
            }
            if json.len() > 1 {
                json.push(b',');
            }
            write_json_str(&mut json, name.as_str());
            json.push(b':');
            let mut values = map.get_all(name).iter();
            let first = values.next().expect("a key has at least one value");
            match values.next() {
                None => write_json_str(&mut json, &String::from_utf8_lossy(first.as_bytes())),
                Some(second) => {
                    let mut joined = String::from_utf8_lossy(first.as_bytes()).into_owned();
                    for v in std::iter::once(second).chain(values) {
                        joined.push_str(", ");
                        joined.push_str(&String::from_utf8_lossy(v.as_bytes()));
                    }
                    write_json_str(&mut json, &joined);
                }
            }
        }
        json.push(b'}');
        Headers {
            header: into_string(json),
            cookies,
        }
    }
}

/// Appends `s` as a JSON string literal (quotes and escapes), as
/// serde_json writes it. Most strings (header values, paths) need no
/// escape: they are checked in one pass without an early exit (which the
/// compiler vectorises) and copied; the rest go to serde_json.
fn write_json_str(out: &mut Vec<u8>, s: &str) {
    let plain = s
        .bytes()
        .fold(true, |plain, b| plain & (b >= 0x20) & (b != b'"') & (b != b'\\'));
    if plain {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(out, s).expect("writing a str to a Vec cannot fail");
    }
}

/// HEADERS_RECEIVED `{statusCode, header, cookies}`.
pub fn headers_received_json(status: u16, headers: &Headers) -> String {
    let mut out = Vec::with_capacity(64 + headers.header.len());
    let mut o = Object::open(&mut out);
    o.uint(key!("statusCode"), status.into());
    o.raw(key!("header"), &headers.header);
    o.serialized(key!("cookies"), &headers.cookies);
    o.close();
    into_string(out)
}

/// Serializes a value that cannot fail to serialize (plain structs of
/// strings, numbers and maps with string keys).
pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("res structs always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_object_joins_repeats_keeps_order_and_sets_cookies_apart() {
        let mut map = http::HeaderMap::new();
        map.append("content-type", "application/json".parse().expect("value"));
        map.append("x-multi", "a".parse().expect("value"));
        map.append("set-cookie", "a=1; Path=/".parse().expect("value"));
        map.append(
            "x-quote",
            http::HeaderValue::from_bytes(b"say \"hi\" \\ \xe4").expect("value"),
        );
        map.append("x-multi", "b".parse().expect("value"));
        map.append("set-cookie", "b=2".parse().expect("value"));
        let h = Headers::from_http(&map);
        assert_eq!(
            h.header,
            r#"{"content-type":"application/json","x-multi":"a, b","x-quote":"say \"hi\" \\ �"}"#
        );
        assert_eq!(h.cookies, ["a=1; Path=/", "b=2"]);
        // Valid UTF-8 beyond ASCII is kept as is; a bad sequence in a joined
        // value and in a cookie becomes U+FFFD.
        let mut utf8 = http::HeaderMap::new();
        utf8.append(
            "x-name",
            http::HeaderValue::from_bytes("é中".as_bytes()).expect("value"),
        );
        utf8.append("x-name", http::HeaderValue::from_bytes(b"\xff").expect("value"));
        utf8.append("set-cookie", http::HeaderValue::from_bytes(b"c=\xc3").expect("value"));
        let u = Headers::from_http(&utf8);
        assert_eq!(u.header, "{\"x-name\":\"é中, \u{fffd}\"}");
        assert_eq!(u.cookies, ["c=\u{fffd}"]);
        let value: serde_json::Value = serde_json::from_str(&headers_received_json(204, &h)).expect("JSON");
        assert_eq!(value["statusCode"], 204);
        assert_eq!(value["header"]["x-multi"], "a, b");
        assert_eq!(value["cookies"][1], "b=2");
        // The socket's open event: a nested object, not a string.
        let open: serde_json::Value =
            serde_json::from_str(&socket_open_json(&h, &serde_json::json!({"rtt": 1.5}))).expect("JSON");
        assert_eq!(open["header"]["content-type"], "application/json");
        assert_eq!(open["profile"]["rtt"], 1.5);
        assert_eq!(
            headers_received_json(200, &Headers::default()),
            r#"{"statusCode":200,"header":{},"cookies":[]}"#
        );
    }

    /// The SUCCESS objects as the `Serialize` derive wrote them before they
    /// were written by hand: the reference, byte for byte.
    mod reference {
        use super::super::{Headers, Profile, Saved};
        use serde::Serialize;
        use serde_json::value::RawValue;

        pub fn request(status: u16, headers: &Headers, profile: &Profile, data_kind: &str) -> String {
            #[derive(Serialize)]
            #[serde(rename_all = "camelCase")]
            struct Success<'a> {
                err_msg: &'static str,
                status_code: u16,
                header: &'a RawValue,
                cookies: &'a [String],
                profile: &'a Profile,
                data_kind: &'a str,
            }
            serde_json::to_string(&Success {
                err_msg: "request:ok",
                status_code: status,
                header: &RawValue::from_string(headers.header.clone()).expect("JSON"),
                cookies: &headers.cookies,
                profile,
                data_kind,
            })
            .expect("serializes")
        }

        pub fn upload(status: u16, profile: &Profile) -> String {
            #[derive(Serialize)]
            #[serde(rename_all = "camelCase")]
            struct Success<'a> {
                err_msg: &'static str,
                status_code: u16,
                profile: &'a Profile,
            }
            serde_json::to_string(&Success {
                err_msg: "uploadFile:ok",
                status_code: status,
                profile,
            })
            .expect("serializes")
        }

        pub fn download(status: u16, saved: Saved<'_>, profile: &Profile) -> String {
            #[derive(Serialize)]
            #[serde(rename_all = "camelCase")]
            struct Success<'a> {
                err_msg: &'static str,
                status_code: u16,
                #[serde(skip_serializing_if = "Option::is_none")]
                file_path: Option<&'a str>,
                #[serde(skip_serializing_if = "Option::is_none")]
                temp_file_path: Option<&'a str>,
                profile: &'a Profile,
            }
            let (file_path, temp_file_path) = match saved {
                Saved::FilePath(p) => (Some(p), None),
                Saved::TempFilePath(p) => (None, Some(p)),
            };
            serde_json::to_string(&Success {
                err_msg: "downloadFile:ok",
                status_code: status,
                file_path,
                temp_file_path,
                profile,
            })
            .expect("serializes")
        }
    }

    /// A pseudo-random sequence (no dependency; reproducible).
    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 11
    }

    fn profiles() -> Vec<Profile> {
        let now = crate::runtime::now_ms();
        let mut live = Profile {
            invoke_start: now,
            queue_start: now + 0.001,
            queue_end: now + 0.012,
            fetch_start: now + 0.5,
            domain_look_up_start: now + 0.5,
            domain_look_up_end: now + 1.25,
            connect_start: now + 1.25,
            connect_end: now + 3.1,
            ssl_connection_start: now + 1.9,
            ssl_connection_end: now + 3.1,
            request_start: now + 3.2,
            request_end: now + 3.3,
            response_start: now + 10.0,
            response_end: now + 10.25,
            rtt: 1.85,
            estimate_nettype: 5,
            http_rtt_estimate: 6.8,
            transport_rtt_estimate: 1.85,
            downstream_throughput_kbps_estimate: 1234.567,
            throughput_kbps: 1234.567,
            peer_ip: "127.0.0.1".into(),
            port: 8443,
            protocol: "h2",
            socket_reused: true,
            send_bytes_count: 321,
            received_byted_count: 18_446_744_073_709_551_615,
            ..Profile::default()
        };
        let odd = Profile {
            rtt: 1.0 / 3.0,
            throughput_kbps: -0.5,
            http_rtt_estimate: f64::NAN,
            downstream_throughput_kbps_estimate: 1e300,
            transport_rtt_estimate: 5e-324,
            peer_ip: "say \"hi\" \\ \u{7}".into(),
            ..live.clone()
        };
        live.redirect_start = live.fetch_start;
        vec![Profile::default(), live, odd]
    }

    #[test]
    fn success_objects_are_byte_for_byte_what_the_serialize_derive_writes() {
        let mut map = http::HeaderMap::new();
        map.append("content-type", "application/json".parse().expect("value"));
        map.append("set-cookie", "a=1; Path=/".parse().expect("value"));
        let headers = [Headers::default(), Headers::from_http(&map)];
        for p in profiles() {
            for h in &headers {
                assert_eq!(
                    request_success_json(200, h, &p, "string"),
                    reference::request(200, h, &p, "string")
                );
            }
            assert_eq!(upload_success_json(201, &p), reference::upload(201, &p));
            for saved in [
                Saved::FilePath("wxfile://usr/a \"b\".txt"),
                Saved::TempFilePath("wxfile://tmp_1"),
            ] {
                assert_eq!(
                    download_success_json(200, saved, &p),
                    reference::download(200, saved, &p)
                );
            }
        }
    }

    #[test]
    fn profile_numbers_are_written_as_serde_json_writes_them() {
        let mut state = 42;
        let check = |v: f64| {
            let mut ours = Vec::new();
            write_ms(&mut ours, v);
            assert_eq!(
                String::from_utf8(ours).expect("UTF-8"),
                serde_json::to_string(&v).expect("number"),
                "{v:?}"
            );
        };
        for v in [
            0.0,
            -0.0,
            0.001,
            0.01,
            0.1,
            0.5,
            1.0,
            999.999,
            1e15,
            4398046511103.999,
            4398046511104.0,
        ] {
            check(v);
        }
        for _ in 0..200_000 {
            // Timestamps as now_ms makes them (whole microseconds), up to and
            // past the fast path's limit, and small durations.
            let micros = lcg(&mut state) % (1 << 53);
            check(micros as f64 / 1000.0);
            check((lcg(&mut state) % 10_000_000) as f64 / 1000.0);
            check(f64::from_bits(lcg(&mut state) << 11));
        }
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        let mut all: Vec<String> = [
            "",
            "plain",
            "say \"hi\"",
            "back\\slash",
            "tab\there",
            "\u{7f}\u{80}é中😀",
            "\u{1f}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        all.extend((0u8..128).map(|b| format!("x{}y", b as char)));
        for s in all {
            let mut ours = Vec::new();
            write_json_str(&mut ours, &s);
            assert_eq!(
                String::from_utf8(ours).expect("UTF-8"),
                serde_json::to_string(&s).expect("str"),
                "{s:?}"
            );
        }
    }

    #[test]
    fn u64_digits() {
        for v in [0, 1, 9, 10, 99, 100, 12345, u64::MAX] {
            let mut out = Vec::new();
            write_u64(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
        }
    }
}
