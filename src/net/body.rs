//! The body and client types every HTTP path of an app shares: hyper's
//! clients, HTTP/3, DoH and the cache all carry these.

use bytes::Bytes;
use http_body_util::combinators::{BoxBody, UnsyncBoxBody};
use hyper_util::client::legacy::Client;

use super::Connector;

/// Error type of request and response bodies (uploads stream from files).
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;
/// The request body type all of an app's requests use.
pub type ReqBody = BoxBody<Bytes, BodyError>;
/// A response body, whatever it came from (HTTP/1.1, h2, h3, the cache).
pub type RespBody = UnsyncBoxBody<Bytes, BodyError>;
/// A hyper client on our connector (the app's h1 and h2 clients, and the
/// DoH resolver's).
pub type HttpClient = Client<Connector, ReqBody>;
