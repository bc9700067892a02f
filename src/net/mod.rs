//! Our connector: DNS (with the app's `resolve` pins), TCP, TLS, and the
//! timings and peer data that `profile` reports. hyper's client (HTTP) and
//! the WebSocket client use the same path, so policy-relevant behaviour and
//! measurements are shared. With the `quic` feature, HTTP/3 goes over
//! QUIC beside them ([`h3`], told where by [`alt_svc`]).

#[cfg(feature = "quic")]
pub mod alt_svc;
pub mod body;
pub mod client;
pub mod conn_info;
pub mod connector;
pub(crate) mod dns_wire;
pub(crate) mod doh;
#[cfg(feature = "quic")]
pub mod h3;
#[cfg(feature = "quic")]
pub(crate) mod h3_guard;
pub(crate) mod limits;
pub mod stream;
pub mod tls;

pub use conn_info::{ConnInfo, ConnectTimings};
pub use connector::{ConnectError, Connector};
pub use stream::{Conn, MaybeTls};
