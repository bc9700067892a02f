//! One HTTP exchange for every wx HTTP API (request, uploadFile,
//! downloadFile): redirects with a policy check per hop, the transport of
//! each hop (cache, HTTP/3, TCP), response decoding and the `profile`.
//! Knows nothing of tasks, events or the app above it.

pub mod body;
pub mod decode;
pub mod exchange;
pub mod multipart;
pub mod profile;
pub mod transport;

pub use body::BodySource;
pub use exchange::{Exchange, Redirect, Response};
