//! wx.uploadFile: POST multipart/form-data with one file part streamed from
//! the sandbox, form fields, progress `{progress, totalBytesSent,
//! totalBytesExpectedToSend}`, and success `{errMsg, statusCode, profile}`
//! with the response text as the event's data.

use std::sync::{Arc, Mutex};

use http::{header, HeaderValue, Method};

use super::mime::mime_for;
use super::progress::Throttle;
use crate::core::{emit_headers, run_queued, Admission, AppCore};
use crate::errors::{Api, WxError};
use crate::event::res::{self, Profile};
use crate::event::EventKind;
use crate::http::multipart::Multipart;
use crate::http::{decode, profile, BodySource, Exchange, Redirect};
use crate::options::Opts;
use crate::policy::DomainKind;
use crate::runtime::now_ms;
use crate::task::TaskShared;

/// The whole life of one wx.uploadFile task.
pub async fn run(app: Arc<AppCore>, task: Arc<TaskShared>, opts: Opts, admission: Admission) {
    if let Err(e) = run_inner(&app, &task, &opts, admission).await {
        log::debug!("upload {} failed: errno {}", task.id, e.errno as i32);
        task.fail(&e);
    }
}

async fn run_inner(app: &AppCore, task: &Arc<TaskShared>, opts: &Opts, admission: Admission) -> Result<(), WxError> {
    admission.foreground.clone()?;
    let url = app.url(opts, DomainKind::UploadFile)?;
    let vpath = opts.required_str("filePath")?;
    let field = opts.required_str("name")?;
    let mut headers = app.headers(opts)?;
    let form = opts.object("formData")?;
    let timeout = app.timeout(opts, Api::UploadFile)?;
    let (sandbox, path) = (app.sandbox.clone(), vpath.to_owned());
    let (file, file_len) =
        super::off_worker_within(Api::UploadFile, timeout, move || sandbox.open_existing_file(&path))
            .await?
            .map_err(|e| super::sandbox_error(vpath, e))?;
    let filename = vpath.rsplit('/').next().unwrap_or("file");

    let throttle = Arc::new(Mutex::new(Throttle::new(None)));
    let on_sent = {
        let (task, throttle) = (task.clone(), throttle.clone());
        Arc::new(move |sent: u64| {
            let mut t = throttle.lock().expect("throttle lock poisoned");
            if let Some(pct) = t.update(sent) {
                task.emit(
                    EventKind::Progress,
                    res::upload_progress_json(pct, sent, t.total()),
                    None,
                );
            }
        })
    };
    let body = Multipart::new(field, file, file_len, filename, mime_for(filename), form, on_sent);
    let total = body.content_length();
    *throttle.lock().expect("throttle lock poisoned") = Throttle::new(Some(total));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&body.content_type()).expect("boundary is ASCII"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    let exchange = Exchange {
        url,
        method: Method::POST,
        headers,
        body: BodySource::Multipart(Arc::new(body)),
        http2: false,
        redirect: Redirect::Follow,
    };
    log::debug!(
        "upload {} start: {} bytes to {}",
        task.id,
        total,
        exchange.url.host_str().unwrap_or("")
    );
    run_queued(admission, timeout, |profile| send(app, task, exchange, total, profile)).await
}

async fn send(
    app: &AppCore,
    task: &TaskShared,
    exchange: Exchange,
    total: u64,
    mut profile: Profile,
) -> Result<(), WxError> {
    let clients = app.http();
    let response = exchange
        .send(
            clients.pick(false),
            &app.config.policy,
            DomainKind::UploadFile,
            &mut profile,
        )
        .await?;
    task.emit_when_room(EventKind::Progress, res::upload_progress_json(100, total, total), None)
        .await;
    let status = response.status.as_u16();
    emit_headers(task, &response);
    let content_type = response.header(header::CONTENT_TYPE).map(str::to_owned);
    let encoding = response.header(header::CONTENT_ENCODING).map(str::to_owned);
    let announced = response.content_length();
    let mut stream = decode::decoded_stream(response.body, encoding.as_deref());
    let body = decode::read_all(&mut stream, app.config.max_download_bytes, announced).await?;
    profile.response_end = now_ms();
    profile::finish(&mut profile, &response.conn);
    let text = decode::to_utf8(body, content_type.as_deref())?;
    let json = res::upload_success_json(status, &profile);
    task.finish_when_room(EventKind::Success, json, (!text.is_empty()).then_some(text))
        .await;
    Ok(())
}
