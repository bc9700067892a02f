//! wx.request: options, the FIFO queue, redirects, response decoding, and
//! the events HEADERS_RECEIVED, CHUNK_RECEIVED and SUCCESS/FAIL.

pub mod body;

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use http::Method;

use crate::core::{emit_headers, run_queued, Admission, AppCore};
use crate::errors::{Api, Errno, WxError};
use crate::event::res;
use crate::event::EventKind;
use crate::http::{decode, profile, BodySource, Exchange, Redirect};
use crate::options::Opts;
use crate::policy::DomainKind;
use crate::runtime::now_ms;
use crate::task::TaskShared;
use body::Data;

const METHODS: &[&str] = &["OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT"];

/// The validated options of one wx.request.
struct RequestOptions {
    exchange: Exchange,
    timeout: std::time::Duration,
    json_data_type: bool,
    arraybuffer: bool,
    chunked: bool,
    /// `enableQuic`: HTTP/3 when the origin advertised it.
    quic: bool,
    /// `enableCache`: the app's HTTP cache takes part.
    cache: bool,
    /// `enableHttpDNS`: the `httpDNSServiceId` (listed in the app config's
    /// `httpDns`) and `httpDNSTimeout`.
    http_dns: Option<(String, std::time::Duration)>,
}

/// `enableHttpDNS`, `httpDNSServiceId`, `httpDNSTimeout`: the service id
/// must be one the app config's `httpDns` lists.
fn http_dns_option(app: &AppCore, opts: &Opts) -> Result<Option<(String, std::time::Duration)>, WxError> {
    let timeout = opts
        .millis("httpDNSTimeout")?
        .filter(|ms| *ms > 0)
        .map_or(crate::net::doh::DEFAULT_TIMEOUT, std::time::Duration::from_millis);
    let service = opts.str("httpDNSServiceId")?;
    if !opts.bool("enableHttpDNS")? {
        return Ok(None);
    }
    let id = service
        .ok_or_else(|| WxError::parameter("parameter.httpDNSServiceId should be String instead of Undefined"))?;
    if !app.config.http_dns.contains_key(id) {
        return Err(WxError::parameter(format!(
            "parameter.httpDNSServiceId {id:?} is not a service id of the app config's httpDns"
        )));
    }
    Ok(Some((id.to_owned(), timeout)))
}

fn parse(app: &AppCore, opts: &Opts, binary: Option<Bytes>) -> Result<RequestOptions, WxError> {
    // A missing url is reported before any other option.
    opts.required_str("url")?;
    let method_text = opts.str("method")?.unwrap_or("GET").to_ascii_uppercase();
    if !METHODS.contains(&method_text.as_str()) {
        return Err(WxError::parameter(format!(
            "parameter.method {method_text:?} should be one of {METHODS:?}"
        )));
    }
    let method = Method::from_bytes(method_text.as_bytes()).expect("listed methods are valid tokens");
    let mut headers = app.headers(opts)?;
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
    let mut url = app.url(opts, DomainKind::Request)?;
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
        timeout: app.timeout(opts, Api::Request)?,
        json_data_type: data_type == "json",
        arraybuffer: opts.choice("responseType", &["text", "arraybuffer"], "text")? == "arraybuffer",
        chunked: opts.bool("enableChunked")?,
        quic: opts.bool("enableQuic")?,
        cache: opts.bool("enableCache")?,
        http_dns: http_dns_option(app, opts)?,
    })
}

/// Bodies up to this size are converted to UTF-8 and checked for JSON
/// (`dataType: json`) on the network worker; larger ones on tokio's blocking
/// pool, so that a multi-megabyte conversion or validation (milliseconds)
/// does not hold up the I/O of the other tasks on that worker.
const CONVERT_ON_WORKER_MAX_BYTES: usize = 256 * 1024;

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
    let timeout = options.timeout;
    run_queued(admission, timeout, |profile| fetch(app, task, options, profile)).await
}

async fn fetch(
    app: &AppCore,
    task: &TaskShared,
    options: RequestOptions,
    mut profile: res::Profile,
) -> Result<(), WxError> {
    profile.fetch_start = now_ms();
    let clients = app.http();
    let http_dns = options
        .http_dns
        .as_ref()
        .and_then(|(id, timeout)| clients.http_dns(id, *timeout));
    let route = clients
        .pick(options.exchange.http2)
        .with_quic(options.quic)
        .with_http_dns(http_dns);
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
            // Waits while the host is behind: the body stops being read.
            task.emit_when_room(
                EventKind::ChunkReceived,
                res::chunk_json(),
                Some(chunk.map_err(decode::read_error)?),
            )
            .await;
        }
        Bytes::new()
    } else {
        decode::read_all(&mut stream, app.config.max_download_bytes, announced).await?
    };
    profile.response_end = now_ms();
    profile::finish(&mut profile, &response.conn);
    let raw_len = raw.len();

    let (data, kind) = if options.arraybuffer {
        (raw, "arraybuffer")
    } else if options.chunked {
        (raw, "text")
    } else {
        let json_data_type = options.json_data_type;
        let convert = move || {
            let text = decode::to_utf8(raw, content_type.as_deref())?;
            let kind = if json_data_type && decode::is_json(&text) {
                "json"
            } else {
                "text"
            };
            Ok::<_, WxError>((text, kind))
        };
        if raw_len > CONVERT_ON_WORKER_MAX_BYTES {
            // Off the network worker: it keeps the other tasks' I/O going.
            match tokio::task::spawn_blocking(convert).await {
                Ok(converted) => converted?,
                // A panic in the conversion ends the task as one on the worker does.
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => return Err(WxError::new(Errno::Unknown, "unknown network error: internal error")),
            }
        } else {
            convert()?
        }
    };
    let json = res::request_success_json(status, &headers, &profile, kind);
    task.finish_when_room(EventKind::Success, json, (!data.is_empty()).then_some(data))
        .await;
    Ok(())
}
