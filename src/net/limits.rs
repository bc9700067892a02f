//! Size limits on what a server sends, shared by every HTTP version.

/// Largest response header section accepted, in bytes (256 KiB). HTTP/1.1 and
/// h2 count the bytes of the header block; HTTP/3 counts it as RFC 9114 §4.2.2
/// does (each field's name + value + 32) and announces it to the server in
/// `SETTINGS_MAX_FIELD_SECTION_SIZE`. A response over it fails the request.
pub const MAX_RESPONSE_HEADER_BYTES: usize = 256 * 1024;
