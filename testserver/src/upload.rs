//! `/upload`: a multipart/form-data sink that streams file parts through a digest.

use http::{header, Method, Request, Response, StatusCode};
use http_body_util::BodyDataStream;
use hyper::body::Incoming;
use serde_json::{json, Map, Value};

use crate::body::Body;
use crate::respond::{json_response, text};
use crate::Digest;

/// Text (non-file) fields are collected in memory, so they are capped.
const MAX_TEXT_FIELD: usize = 1024 * 1024;

/// Parses the multipart body part by part without ever holding a whole file: each file is
/// only counted and hashed ([`crate::digest_hex`], SHA-256). Replies
/// `{"fields":{name:value},"files":[{"name","filename","contentType","size","sha256"}]}`;
/// malformed input gets a 400 with `{"error": "..."}`.
pub(crate) async fn handle(req: Request<Incoming>) -> Response<Body> {
    if req.method() != Method::POST {
        return text(StatusCode::METHOD_NOT_ALLOWED, "POST multipart/form-data here");
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = match multer::parse_boundary(content_type) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let mut multipart = multer::Multipart::new(BodyDataStream::new(req.into_body()), boundary);
    let mut fields = Map::new();
    let mut files = Vec::new();
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return error(StatusCode::BAD_REQUEST, e),
        };
        let name = field.name().unwrap_or("").to_owned();
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(|m| m.to_string());
        let mut digest = Digest::new();
        let mut size = 0u64;
        let mut text_value = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    size += chunk.len() as u64;
                    if filename.is_some() {
                        digest.update(&chunk);
                    } else if text_value.len() + chunk.len() > MAX_TEXT_FIELD {
                        return error(StatusCode::PAYLOAD_TOO_LARGE, "text field over 1 MiB");
                    } else {
                        text_value.extend_from_slice(&chunk);
                    }
                }
                Ok(None) => break,
                Err(e) => return error(StatusCode::BAD_REQUEST, e),
            }
        }
        match filename {
            Some(filename) => files.push(json!({
                "name": name,
                "filename": filename,
                "contentType": content_type,
                "size": size,
                "sha256": digest.finish_hex(),
            })),
            None => {
                let value = String::from_utf8_lossy(&text_value).into_owned();
                fields.insert(name, Value::String(value));
            }
        }
    }
    json_response(StatusCode::OK, &json!({ "fields": fields, "files": files }))
}

fn error(status: StatusCode, e: impl std::fmt::Display) -> Response<Body> {
    json_response(status, &json!({ "error": e.to_string() }))
}
