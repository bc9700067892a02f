//! Limits that hold the same whichever protocol carries a response.

/// The largest response header section accepted, over HTTP/1.1, HTTP/2 and
/// HTTP/3 alike: 256 KiB, counted as HTTP/2 and HTTP/3 count it (each
/// field's name and value lengths plus 32 bytes, RFC 9113 6.5.2 and RFC
/// 9114 4.2.2). The number of fields is not limited otherwise. A larger
/// header section fails the request (errno 600001).
/// HTTP/3 also announces it to the server in `SETTINGS_MAX_FIELD_SECTION_SIZE`.
pub(crate) const MAX_RESPONSE_HEADER_BYTES: usize = 256 * 1024;

/// The size of a header section as HTTP/2 and HTTP/3 count it (RFC 9113
/// 6.5.2): name and value lengths plus 32 per field. hyper bounds an
/// HTTP/1.1 head by its raw size; this makes the limit the same number on
/// every protocol.
pub(crate) fn header_section_size(headers: &http::HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 32)
        .sum()
}
