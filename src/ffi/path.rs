//! `wxfile://` paths <-> real file paths, for hosts (showing a downloaded
//! image, handing a file to the OS), under the app's sandbox rules.

use core::ffi::c_char;
use std::ffi::CString;
use std::path::Path;

use super::app::{app_ref, wxnet_app};
use super::guard::{bytes, guard, non_null, write_out};
use super::wxnet_status;
use crate::errors::{ApiError, Status};

/// Reads a UTF-8 string argument (`(NULL, 0)` is empty, as every byte string).
///
/// # Safety
/// As for [`bytes`].
unsafe fn utf8_arg<'a>(ptr: *const c_char, len: usize, param: &str) -> Result<&'a str, ApiError> {
    // SAFETY: the caller guarantees `len` readable bytes at `ptr`.
    let raw = unsafe { bytes(ptr.cast(), len, param) }?;
    std::str::from_utf8(raw).map_err(|_| ApiError::new(Status::InvalidArgument, format!("{param} is not UTF-8")))
}

/// Hands a string to the caller: `*out` owns it (free with `wxnet_string_free`),
/// `*out_len` (when not NULL) is its length in bytes without the NUL.
///
/// # Safety
/// `out` non-NULL and writable; `out_len` NULL or writable.
unsafe fn give_string(text: String, out: *mut *mut c_char, out_len: *mut usize) -> Result<(), ApiError> {
    let len = text.len();
    let owned = CString::new(text).map_err(|_| ApiError::new(Status::InvalidArgument, "the path contains NUL"))?;
    // SAFETY: checked non-NULL by the caller; writable per the C contract.
    unsafe { write_out(out, owned.into_raw()) };
    if !out_len.is_null() {
        // SAFETY: non-NULL, writable per the C contract.
        unsafe { write_out(out_len, len) };
    }
    Ok(())
}

/// Maps one of this app's `wxfile://` paths (`vpath`, `vpath_len` bytes of
/// UTF-8, copied) to the real file path: `wxfile://tmp_<name>` is in the
/// app's `tempDir`, `wxfile://usr/<path>` in its `userDataDir`. The file need
/// not exist; symlinks are followed and must stay inside their directory.
/// Anything else (other schemes, `..`, `%`, backslashes, control characters,
/// a directory the app has not configured): `WXNET_E_INVALID_ARGUMENT`, with
/// the reason in `wxnet_last_error`.
///
/// On `WXNET_OK`, `*out_path` is a new NUL-terminated UTF-8 string OWNED BY
/// THE CALLER: free it with `wxnet_string_free` (any thread). `*out_len`, when
/// `out_len` is not NULL, is its length without the NUL. Any thread.
///
/// # Safety
/// `app` from `wxnet_app_new` (freed: `WXNET_E_CLOSED`); `vpath` readable for `vpath_len` bytes; `out_path` writable;
/// `out_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_app_resolve_path(
    app: *const wxnet_app,
    vpath: *const c_char,
    vpath_len: usize,
    out_path: *mut *mut c_char,
    out_len: *mut usize,
) -> wxnet_status {
    guard("wxnet_app_resolve_path", || {
        non_null(out_path, "out_path")?;
        let app = app_ref(app)?;
        // SAFETY: per the contract above.
        let vpath = unsafe { utf8_arg(vpath, vpath_len, "vpath") }?;
        let real = app.real_path(vpath)?;
        let text = real
            .to_str()
            .ok_or_else(|| ApiError::new(Status::InvalidArgument, "the real path is not UTF-8"))?
            .to_owned();
        // SAFETY: out_path checked non-NULL; out_len per the contract.
        unsafe { give_string(text, out_path, out_len) }
    })
}

/// The inverse of `wxnet_app_resolve_path`: the `wxfile://` path of a real
/// path (`real_path`, `real_len` bytes of UTF-8, absolute) inside this app's
/// `tempDir` (a `tmp_<name>` file directly in it) or `userDataDir`. Symlinks
/// are followed; anything outside, or a name the `wxfile://` form cannot
/// carry: `WXNET_E_INVALID_ARGUMENT` (reason in `wxnet_last_error`).
///
/// On `WXNET_OK`, `*out_path` is a new NUL-terminated string OWNED BY THE
/// CALLER: free it with `wxnet_string_free`. `*out_len` as above. Any thread.
///
/// # Safety
/// As for `wxnet_app_resolve_path`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_app_virtual_path(
    app: *const wxnet_app,
    real_path: *const c_char,
    real_len: usize,
    out_path: *mut *mut c_char,
    out_len: *mut usize,
) -> wxnet_status {
    guard("wxnet_app_virtual_path", || {
        non_null(out_path, "out_path")?;
        let app = app_ref(app)?;
        // SAFETY: per the contract above.
        let real = unsafe { utf8_arg(real_path, real_len, "real_path") }?;
        let vpath = app.virtual_path(Path::new(real))?;
        // SAFETY: out_path checked non-NULL; out_len per the contract.
        unsafe { give_string(vpath, out_path, out_len) }
    })
}

/// Frees a string the library handed to the caller (`wxnet_app_resolve_path`,
/// `wxnet_app_virtual_path`). NULL is ignored. Any thread.
///
/// # Safety
/// `s` must be NULL or a string from those calls, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: `s` came from CString::into_raw in give_string and is freed once.
        drop(unsafe { CString::from_raw(s) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::{wxnet_app_free, wxnet_app_new, wxnet_last_error, WXNET_E_INVALID_ARGUMENT, WXNET_OK};
    use std::ffi::CStr;

    struct Fixture {
        root: std::path::PathBuf,
        app: *mut wxnet_app,
    }

    impl Fixture {
        fn new() -> Fixture {
            let root = std::env::temp_dir().join(format!("wxnet-path-{}", crate::sandbox::random_hex(8)));
            std::fs::create_dir_all(root.join("tmp")).expect("mkdir tmp");
            std::fs::create_dir_all(root.join("usr/pics")).expect("mkdir usr");
            std::fs::write(root.join("tmp/tmp_0a1b.png"), b"png").expect("write");
            std::fs::write(root.join("usr/pics/cat.jpg"), b"jpg").expect("write");
            std::fs::write(root.join("outside.txt"), b"x").expect("write");
            let root = root.canonicalize().expect("canonical root");
            let config = format!(
                r#"{{"appId":"wxpath","tempDir":{:?},"userDataDir":{:?}}}"#,
                root.join("tmp").display().to_string(),
                root.join("usr").display().to_string()
            );
            let mut app = std::ptr::null_mut();
            // SAFETY: valid config bytes, poll mode, writable out pointer.
            let status = unsafe {
                wxnet_app_new(
                    config.as_ptr().cast(),
                    config.len(),
                    None,
                    std::ptr::null_mut(),
                    &mut app,
                )
            };
            assert_eq!(status, WXNET_OK);
            Fixture { root, app }
        }

        /// Calls one of the two mapping functions; Ok(string) or Err((status, last error)).
        fn call(
            &self,
            f: unsafe extern "C" fn(
                *const wxnet_app,
                *const c_char,
                usize,
                *mut *mut c_char,
                *mut usize,
            ) -> wxnet_status,
            input: &str,
        ) -> Result<String, (wxnet_status, String)> {
            let mut out: *mut c_char = std::ptr::null_mut();
            let mut len = 0usize;
            // SAFETY: live app, valid input bytes, writable outs.
            let status = unsafe { f(self.app, input.as_ptr().cast(), input.len(), &mut out, &mut len) };
            if status != WXNET_OK {
                assert!(out.is_null(), "no string on failure");
                // SAFETY: never NULL, valid until the next call on this thread.
                let detail = unsafe { CStr::from_ptr(wxnet_last_error()) }
                    .to_str()
                    .expect("UTF-8")
                    .to_owned();
                return Err((status, detail));
            }
            // SAFETY: a NUL-terminated string from the library, freed right after.
            let text = unsafe { CStr::from_ptr(out) }.to_str().expect("UTF-8").to_owned();
            assert_eq!(text.len(), len);
            // SAFETY: from the call above, freed once.
            unsafe { wxnet_string_free(out) };
            Ok(text)
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            // SAFETY: the app from wxnet_app_new, freed once.
            assert_eq!(unsafe { wxnet_app_free(self.app) }, WXNET_OK);
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    #[test]
    fn wxfile_paths_map_to_real_paths_and_back() {
        let fx = Fixture::new();
        let tmp = fx.root.join("tmp/tmp_0a1b.png").display().to_string();
        let cat = fx.root.join("usr/pics/cat.jpg").display().to_string();
        let new = fx.root.join("usr/new/later.txt").display().to_string();
        assert_eq!(
            fx.call(wxnet_app_resolve_path, "wxfile://tmp_0a1b.png"),
            Ok(tmp.clone())
        );
        assert_eq!(
            fx.call(wxnet_app_resolve_path, "wxfile://usr/pics/cat.jpg"),
            Ok(cat.clone())
        );
        assert_eq!(
            fx.call(wxnet_app_resolve_path, "wxfile://usr/new/later.txt"),
            Ok(new.clone())
        );
        assert_eq!(
            fx.call(wxnet_app_virtual_path, &tmp),
            Ok("wxfile://tmp_0a1b.png".into())
        );
        assert_eq!(
            fx.call(wxnet_app_virtual_path, &cat),
            Ok("wxfile://usr/pics/cat.jpg".into())
        );
        let dotted = fx.root.join("usr/pics/../pics/cat.jpg").display().to_string();
        assert_eq!(
            fx.call(wxnet_app_virtual_path, &dotted),
            Ok("wxfile://usr/pics/cat.jpg".into())
        );
    }

    #[test]
    fn paths_outside_the_sandbox_are_refused_with_a_reason() {
        let fx = Fixture::new();
        let refused = |f, input: &str, reason: &str| {
            let (status, detail) = fx.call(f, input).expect_err(input);
            assert_eq!(status, WXNET_E_INVALID_ARGUMENT, "{input}");
            assert!(detail.contains(reason), "{input}: {detail:?} should say {reason:?}");
        };
        refused(wxnet_app_resolve_path, "wxfile://usr/../outside.txt", "'..' segment");
        refused(wxnet_app_resolve_path, "/etc/passwd", "not a wxfile:// path");
        refused(wxnet_app_resolve_path, "wxfile://usr/a%2F..", "percent");
        refused(
            wxnet_app_resolve_path,
            "wxfile://other.png",
            "expected wxfile://tmp_<name>",
        );
        let outside = fx.root.join("outside.txt").display().to_string();
        refused(
            wxnet_app_virtual_path,
            &outside,
            "outside the app's tempDir and userDataDir",
        );
        refused(wxnet_app_virtual_path, "relative/path", "not an absolute path");
        std::fs::write(fx.root.join("tmp/plain.png"), b"p").expect("write");
        let plain = fx.root.join("tmp/plain.png").display().to_string();
        refused(wxnet_app_virtual_path, &plain, "expected wxfile://tmp_<name>");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(fx.root.join("outside.txt"), fx.root.join("usr/escape")).expect("symlink");
            refused(wxnet_app_resolve_path, "wxfile://usr/escape", "outside its directory");
        }
        // NULL arguments
        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: NULL input with a length is refused before any read.
        let status = unsafe { wxnet_app_resolve_path(fx.app, std::ptr::null(), 3, &mut out, std::ptr::null_mut()) };
        assert_eq!(status, crate::ffi::WXNET_E_NULL_ARGUMENT);
        // SAFETY: NULL is ignored.
        unsafe { wxnet_string_free(std::ptr::null_mut()) };
    }
}
