//! wx.downloadFile: GET streamed into a `.part` file next to the
//! destination, renamed when complete. Any status is a success. The size
//! limit is enforced on the bytes received, whatever Content-Length says.
//! Abort, timeout, size overflow, disk errors and app free leave no file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt;
use http::{header, Method};
use tokio::io::AsyncWriteExt;

use super::mime::ext_for;
use super::progress::Throttle;
use crate::core::{emit_headers, run_queued, Admission, AppCore};
use crate::errors::{Api, Errno, WxError};
use crate::event::res::{self, Profile};
use crate::event::EventKind;
use crate::http::{decode, profile, BodySource, Exchange, Redirect};
use crate::options::Opts;
use crate::policy::DomainKind;
use crate::runtime::now_ms;
use crate::task::TaskShared;

/// The whole life of one wx.downloadFile task.
pub async fn run(app: Arc<AppCore>, task: Arc<TaskShared>, opts: Opts, admission: Admission) {
    if let Err(e) = run_inner(&app, &task, &opts, admission).await {
        log::debug!("download {} failed: errno {}", task.id, e.errno as i32);
        task.fail(&e);
    }
}

/// Where the body goes: a user file chosen up front, or a temp file named
/// once the response says what it is.
enum Destination {
    User { real: PathBuf, vpath: String },
    Temp,
}

async fn run_inner(app: &AppCore, task: &TaskShared, opts: &Opts, admission: Admission) -> Result<(), WxError> {
    admission.foreground.clone()?;
    let url = app.url(opts, DomainKind::DownloadFile)?;
    let headers = app.headers(opts)?;
    let timeout = app.timeout(opts, Api::DownloadFile)?;
    let destination = match opts.str("filePath")? {
        Some(vpath) => {
            let (sandbox, path) = (app.sandbox.clone(), vpath.to_owned());
            let real = super::off_worker_within(Api::DownloadFile, timeout, move || sandbox.user_file_for_write(&path))
                .await?
                .map_err(|e| super::sandbox_error(vpath, e))?;
            Destination::User {
                real,
                vpath: vpath.to_owned(),
            }
        }
        None => Destination::Temp,
    };
    let exchange = Exchange {
        url,
        method: Method::GET,
        headers,
        body: BodySource::empty(),
        http2: false,
        redirect: Redirect::Follow,
    };
    log::debug!("download {} start: {}", task.id, exchange.url.host_str().unwrap_or(""));
    run_queued(admission, timeout, |profile| {
        fetch(app, task, exchange, destination, profile)
    })
    .await
}

async fn fetch(
    app: &AppCore,
    task: &TaskShared,
    exchange: Exchange,
    dest: Destination,
    mut profile: Profile,
) -> Result<(), WxError> {
    let url_ext = extension_of(exchange.url.path());
    let clients = app.http();
    let response = exchange
        .send(
            clients.pick(false),
            &app.config.policy,
            DomainKind::DownloadFile,
            &mut profile,
        )
        .await?;
    let status = response.status.as_u16();
    emit_headers(task, &response);
    let limit = app.config.max_download_bytes;
    let announced = response.content_length();
    let encoding = response.header(header::CONTENT_ENCODING).map(str::to_owned);
    if announced.is_some_and(|n| n > limit) && encoding.is_none() {
        return Err(too_big());
    }
    let temp_ext = match dest {
        Destination::User { .. } => None,
        Destination::Temp => {
            Some(url_ext.unwrap_or_else(|| ext_for(response.header(header::CONTENT_TYPE).unwrap_or("")).to_owned()))
        }
    };
    let sandbox = app.sandbox.clone();
    let (real, vpath, part) = super::off_worker(Api::DownloadFile, move || {
        let (real, vpath) = match (dest, temp_ext) {
            (Destination::User { real, vpath }, _) => (real, vpath),
            (Destination::Temp, ext) => sandbox
                .new_temp_file(ext.as_deref().unwrap_or(""))
                .map_err(|e| save_error(&e.to_string()))?,
        };
        let part = PartFile::create(&real)?;
        Ok::<_, WxError>((real, vpath, part))
    })
    .await??;
    let mut part = part.owned_by(task)?;
    // Progress counts decoded bytes against Content-Length only when the
    // body is not encoded (else the total is unknown).
    let mut throttle = Throttle::new(if encoding.is_none() { announced } else { None });
    let mut stream = decode::decoded_stream(response.body, encoding.as_deref());
    let mut written: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(decode::read_error)?;
        written += chunk.len() as u64;
        if written > limit {
            return Err(too_big());
        }
        part.write(&chunk).await?;
        if let Some(pct) = throttle.update(written) {
            task.emit_when_room(
                EventKind::Progress,
                res::download_progress_json(pct, written, throttle.total()),
                None,
            )
            .await;
        }
    }
    part.flush().await?;
    task.emit_when_room(
        EventKind::Progress,
        res::download_progress_json(100, written, throttle.total().max(written)),
        None,
    )
    .await;
    profile.response_end = now_ms();
    profile::finish(&mut profile, &response.conn);
    let saved = if vpath.starts_with(crate::sandbox::USER_DATA_PREFIX) {
        res::Saved::FilePath(&vpath)
    } else {
        res::Saved::TempFilePath(&vpath)
    };
    let json = res::download_success_json(status, saved, &profile);
    // The rename happens only if the task is still alive, atomically with
    // its SUCCESS: an abort either wins (no file) or comes too late.
    let committed = task.finish_with(|| {
        part.commit(&real)?;
        Ok((EventKind::Success, json, None))
    });
    // The rename is on the disk once its directory is synced. Not inside the
    // task's critical section (an abort from the host would wait for the
    // disk) and not on the network worker: the SUCCESS may reach the host
    // first; a power loss before the sync can cost the new name, never the
    // file's bytes (synced before the rename; the `.part` is kept and swept).
    #[cfg(unix)]
    if committed {
        if let Some(dir) = real.parent().map(Path::to_path_buf) {
            let _ = super::off_worker(Api::DownloadFile, move || {
                let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
            })
            .await;
        }
    }
    #[cfg(not(unix))]
    let _ = committed;
    Ok(())
}

fn too_big() -> WxError {
    WxError::new(Errno::MaxFileSize, "exceed max file size")
}

fn save_error(detail: &str) -> WxError {
    WxError::new(Errno::SaveFile, format!("download save file error: {detail}"))
}

/// `.ext` of the URL path's last segment when it looks like one (1-8
/// alphanumerics), else None.
fn extension_of(path: &str) -> Option<String> {
    let last = path.rsplit('/').next()?;
    let (_, ext) = last.rsplit_once('.')?;
    (!ext.is_empty() && ext.len() <= 8 && ext.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| format!(".{}", ext.to_ascii_lowercase()))
}

/// A `.part` file's name: this, 16 lowercase hex digits, [`PART_SUFFIX`].
const PART_PREFIX: &str = ".wxnet-";
const PART_SUFFIX: &str = ".part";
/// A `.part` file this old belongs to no download still running.
const STALE_PART: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// The sweep looks at most this deep and at this many entries.
const SWEEP_DEPTH: usize = 32;
const SWEEP_ENTRIES: usize = 100_000;

fn is_part_name(name: &std::ffi::OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    name.strip_prefix(PART_PREFIX)
        .and_then(|rest| rest.strip_suffix(PART_SUFFIX))
        .is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// Removes the `.part` files that downloads of a killed process left in
/// `dirs` (a download in flight removes its own on every other path): only
/// names of [`PART_PREFIX`]'s form, only files older than [`STALE_PART`]
/// (another app or process may be downloading into the same directory),
/// never through a symlink, at most [`SWEEP_DEPTH`] levels and
/// [`SWEEP_ENTRIES`] entries. Blocking: run it off the network workers.
/// Returns how many it removed.
pub(crate) fn sweep_stale_parts(dirs: &[&Path]) -> usize {
    let mut removed = 0;
    let mut seen = 0;
    let mut pending: Vec<(PathBuf, usize)> = dirs.iter().map(|d| (d.to_path_buf(), 0)).collect();
    while let Some((dir, depth)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > SWEEP_ENTRIES {
                return removed;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if depth < SWEEP_DEPTH {
                    pending.push((entry.path(), depth + 1));
                }
            } else if kind.is_file() && is_part_name(&entry.file_name()) {
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age >= STALE_PART);
                if old && std::fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
        }
    }
    removed
}

/// The `.part` file being written. It is created synchronously inside the
/// task's future (so an abort cannot leave a creation running behind it), and
/// its removal is registered as the task's cleanup, which runs before any
/// FAIL is queued (abort, timeout, background, app free, errors). Dropping it
/// uncommitted removes it too.
struct PartFile {
    path: PathBuf,
    file: Option<tokio::fs::File>,
}

/// The destination's directory is still the one the sandbox check found: a
/// canonical path (no symlink in it now; the check returned a canonical
/// one, inside the sandbox). Checked again right before the `.part` file is
/// created and right before it is renamed, since a download may wait long
/// between its check and those steps (in the queue, for the response).
fn still_checked_dir(dest: &Path) -> Result<(), WxError> {
    let dir = dest.parent().expect("destinations have a directory");
    match dir.canonicalize() {
        Ok(real) if real == dir => Ok(()),
        _ => Err(save_error("the destination's directory changed while downloading")),
    }
}

impl PartFile {
    /// Creates the `.part` file next to `dest`. Blocking: run it off the
    /// network worker. Dropped, it removes the file.
    fn create(dest: &Path) -> Result<PartFile, WxError> {
        still_checked_dir(dest)?;
        // A fixed-length name of our own, not the destination's name plus a
        // suffix: any name the file system allows can be downloaded, and a
        // part left by a killed process is recognisable (see `sweep_stale_parts`).
        let path = dest.with_file_name(format!("{PART_PREFIX}{}{PART_SUFFIX}", crate::sandbox::random_hex(8)));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| save_error(&e.to_string()))?;
        Ok(PartFile {
            path,
            file: Some(tokio::fs::File::from_std(file)),
        })
    }

    /// Has `task` remove the file when it ends without committing it (abort
    /// and app free end a task from other threads, without dropping this).
    /// Fails (and the file goes with `self`) when the task has already ended.
    fn owned_by(self, task: &TaskShared) -> Result<PartFile, WxError> {
        let doomed = self.path.clone();
        if !task.set_cleanup(Box::new(move || {
            let _ = std::fs::remove_file(&doomed);
        })) {
            return Err(WxError::abort(Api::DownloadFile));
        }
        Ok(self)
    }

    async fn write(&mut self, chunk: &[u8]) -> Result<(), WxError> {
        let file = self.file.as_mut().expect("open until flushed");
        file.write_all(chunk).await.map_err(|e| save_error(&e.to_string()))
    }

    /// Waits until every byte is written and on the disk (so that a power
    /// loss after the rename cannot leave a short file where a good one
    /// was), and closes the file.
    async fn flush(&mut self) -> Result<(), WxError> {
        let mut file = self.file.take().expect("open until flushed");
        file.flush().await.map_err(|e| save_error(&e.to_string()))?;
        file.sync_all().await.map_err(|e| save_error(&e.to_string()))
    }

    /// Renames onto the destination (called inside the task's critical
    /// section: two metadata operations, no sync; `fetch` syncs the
    /// directory afterwards).
    fn commit(&mut self, dest: &Path) -> Result<(), WxError> {
        still_checked_dir(dest)?;
        std::fs::rename(&self.path, dest).map_err(|e| save_error(&e.to_string()))?;
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        drop(self.file.take());
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{extension_of, is_part_name, PART_PREFIX, PART_SUFFIX};

    #[test]
    fn part_names_are_recognised_and_nothing_else() {
        let name = format!("{PART_PREFIX}{}{PART_SUFFIX}", crate::sandbox::random_hex(8));
        assert!(is_part_name(name.as_ref()), "{name}");
        for other in [
            ".wxnet-0123456789abcdeF.part",
            ".wxnet-0123456789abcde.part",
            "x.wxnet-0123456789abcdef.part",
            ".wxnet-0123456789abcdef.part.txt",
            "photo.jpg.part",
        ] {
            assert!(!is_part_name(other.as_ref()), "{other}");
        }
    }

    #[test]
    fn temp_file_extension_from_the_url_path() {
        assert_eq!(extension_of("/img/cat.PNG").as_deref(), Some(".png"));
        assert_eq!(extension_of("/a.tar.gz").as_deref(), Some(".gz"));
        for none in ["/bytes/100", "/dir.d/file", "/x.", "/x.toolongext", "/x.p%6eg", "/"] {
            assert_eq!(extension_of(none), None, "{none}");
        }
    }
}
