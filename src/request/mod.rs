//! wx.request: options, the FIFO queue, redirects, response decoding, and
//! the events HEADERS_RECEIVED, CHUNK_RECEIVED and SUCCESS/FAIL.

pub mod body;

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use http::Method;

use crate::core::{emit_headers, run_queued, Admission, AppCore};
use crate::errors::WxError;
use crate::event::res::{self, Headers};
use crate::event::EventKind;
use crate::http::{decode, profile, BodySource, Exchange, Redirect};
use crate::options::{header_map, Opts};
use crate::policy::DomainKind;
use crate::runtime::now_ms;
use crate::task::TaskShared;
use body::Data;

const METHODS: &[&str] = &["OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT"];

/// The validated options of one wx.request.
struct RequestOptions {
    exchange: Exchange,
    timeout_ms: Option<u64>,
    json_data_type: bool,
    arraybuffer: bool,
    chunked: bool,
    /// `enableQuic`: HTTP/3 when the origin advertised it.
    quic: bool,
    /// `enableCache`: the app's HTTP cache takes part.
    cache: bool,
}

fn parse(app: &AppCore, opts: &Opts, binary: Option<Bytes>) -> Result<RequestOptions, WxError> {
    let url = opts.required_str("url")?;
    let method_text = opts.str("method")?.unwrap_or("GET").to_ascii_uppercase();
    if !METHODS.contains(&method_text.as_str()) {
        return Err(WxError::parameter(format!(
            "parameter.method {method_text:?} should be one of {METHODS:?}"
        )));
    }
    let method = Method::from_bytes(method_text.as_bytes()).expect("listed methods are valid tokens");
    let mut headers = header_map(opts.object("header")?, &app.referer)?;
    if !headers.contains_key(http::header::CONTENT_TYPE) {
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
    }
    if !headers.contains_key(http::header::ACCEPT_ENCODING) {
        headers.insert(
            http::header::ACCEPT_ENCODING,
            http::HeaderValue::from_static("gzip, deflate, br"),
        );
    }
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let data = match (binary, opts.data()) {
        (Some(bytes), _) => Data::Binary(bytes),
        (None, Some(raw)) => Data::Json(raw),
        (None, None) => Data::None,
    };
    let placed = body::place(&method, &content_type, data)?;
    let mut url = crate::policy::check_url(&app.config.policy, DomainKind::Request, url)?;
    if let Some(q) = &placed.query {
        body::append_query(&mut url, q);
    }
    let data_type = opts.str("dataType")?.unwrap_or("json");
    Ok(RequestOptions {
        exchange: Exchange {
            url,
            method,
            headers,
            body: BodySource::Bytes(placed.body),
            http2: opts.bool("enableHttp2")?,
            redirect: if opts.choice("redirect", &["follow", "manual"], "follow")? == "manual" {
                Redirect::Manual
            } else {
                Redirect::Follow
            },
        },
        timeout_ms: opts.millis("timeout")?,
        json_data_type: data_type == "json",
        arraybuffer: opts.choice("responseType", &["text", "arraybuffer"], "text")? == "arraybuffer",
        chunked: opts.bool("enableChunked")?,
        quic: opts.bool("enableQuic")?,
        cache: opts.bool("enableCache")?,
    })
}

/// The whole life of one wx.request task; ends it with exactly one terminal event.
pub async fn run(app: Arc<AppCore>, task: Arc<TaskShared>, opts: Opts, binary: Option<Bytes>, admission: Admission) {
    if let Err(e) = run_inner(&app, &task, &opts, binary, admission).await {
        log::debug!("request {} failed: errno {}", task.id, e.errno as i32);
        task.fail(&e);
    }
}

async fn run_inner(
    app: &AppCore,
    task: &TaskShared,
    opts: &Opts,
    binary: Option<Bytes>,
    admission: Admission,
) -> Result<(), WxError> {
    admission.foreground.clone()?;
    let options = parse(app, opts, binary)?;
    log::debug!(
        "request {} start: {} {}",
        task.id,
        options.exchange.method,
        options.exchange.url.host_str().unwrap_or("")
    );
    let timeout = app
        .config
        .effective_timeout(options.timeout_ms, app.config.timeouts.request);
    run_queued(admission, timeout, |profile| fetch(app, task, options, profile)).await
}

async fn fetch(
    app: &AppCore,
    task: &TaskShared,
    options: RequestOptions,
    mut profile: res::Profile,
) -> Result<(), WxError> {
    profile.fetch_start = now_ms();
    let route = app.http.pick(options.exchange.http2).with_quic(options.quic);
    let cache = app.cache.as_deref().filter(|_| options.cache);
    let response = options
        .exchange
        .send_cached(route, cache, &app.config.policy, DomainKind::Request, &mut profile)
        .await?;
    let status = response.status.as_u16();
    let headers = emit_headers(task, &response);

    let content_type = response.header(http::header::CONTENT_TYPE).map(str::to_owned);
    let encoding = response.header(http::header::CONTENT_ENCODING).map(str::to_owned);
    let announced = response.content_length();
    let mut stream = decode::decoded_stream(response.body, encoding.as_deref());
    let raw = if options.chunked {
        while let Some(chunk) = stream.next().await {
            task.emit(
                EventKind::ChunkReceived,
                "{}".to_owned(),
                Some(chunk.map_err(decode::read_error)?),
            );
        }
        Bytes::new()
    } else {
        decode::read_all(&mut stream, app.config.max_download_bytes, announced).await?
    };
    profile.response_end = now_ms();
    profile::finish(&mut profile, &response.conn);

    let (data, kind) = if options.arraybuffer {
        (raw, "arraybuffer")
    } else if options.chunked {
        (raw, "text")
    } else {
        let text = decode::to_utf8(raw, content_type.as_deref())?;
        let kind = if options.json_data_type && decode::is_json(&text) {
            "json"
        } else {
            "text"
        };
        (text, kind)
    };
    let json = success_json(status, &headers, &profile, kind);
    task.finish(EventKind::Success, json, (!data.is_empty()).then_some(data));
    Ok(())
}

fn success_json(status: u16, headers: &Headers, profile: &res::Profile, data_kind: &str) -> String {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Success<'a> {
        err_msg: &'static str,
        status_code: u16,
        header: &'a serde_json::Map<String, serde_json::Value>,
        cookies: &'a [String],
        profile: &'a res::Profile,
        data_kind: &'a str,
    }
    res::to_json(&Success {
        err_msg: "request:ok",
        status_code: status,
        header: &headers.header,
        cookies: &headers.cookies,
        profile,
        data_kind,
    })
}
