//! The `Alt-Svc` advertisement of the HTTP/3 listener on the TCP listeners
//! ([`crate::ServerOptions::h3`], [`crate::ServerOptions::alt_svc`]).
//!
//! A leaf: it imports only the body type.

use http::{header, HeaderValue, Response};

use crate::body::Body;

/// The `Alt-Svc` value advertising HTTP/3 on `port` for 60 s.
pub(crate) fn alt_svc_for(port: u16) -> String {
    format!("h3=\":{port}\"; ma=60")
}

/// Adds the server's `Alt-Svc` (if any) to a TCP response.
pub(crate) async fn advertise<F, E>(response: F, alt_svc: Option<HeaderValue>) -> Result<Response<Body>, E>
where
    F: std::future::Future<Output = Result<Response<Body>, E>>,
{
    let mut resp = response.await?;
    if let Some(value) = alt_svc {
        resp.headers_mut().insert(header::ALT_SVC, value);
    }
    Ok(resp)
}
