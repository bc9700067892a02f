//! `wxfile://` virtual paths <-> real paths, and nothing else.
//!
//! - `wxfile://tmp_<name>` is a file directly inside the app's `tempDir`;
//!   `<name>` is `[A-Za-z0-9_.-]+` (what wxnet itself creates is
//!   `tmp_<32 hex>.<ext>`).
//! - `wxfile://usr/<rel>` is inside the app's `userDataDir`; `<rel>` is one or
//!   more `/`-separated segments, none empty, `.` or `..`.
//!
//! Rejected everywhere: anything not starting with `wxfile://` (absolute host
//! paths included), NUL and other control bytes, backslashes, `%` (no
//! percent-decoding is ever done, and refusing `%` keeps a host that decodes
//! later from being tricked), and any path whose real location, after
//! following symlinks, is outside its directory. A path to write
//! ([`Sandbox::user_file_for_write`]) may not go through a symlink at all,
//! and its missing directories are created only after that was checked.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Why a virtual path was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxError {
    /// Not a valid `wxfile://` path, or it escapes its directory.
    Invalid(String),
    /// The directory it maps to is not configured.
    NoDirectory(&'static str),
    /// The file (for reading) does not exist or cannot be inspected.
    Missing(String),
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SandboxError::Invalid(why) => write!(f, "invalid file path: {why}"),
            SandboxError::NoDirectory(field) => write!(f, "the app has no {field} configured"),
            SandboxError::Missing(why) => write!(f, "file not found: {why}"),
        }
    }
}

pub const USER_DATA_PREFIX: &str = "wxfile://usr/";
const SCHEME: &str = "wxfile://";

/// The app's two directories.
#[derive(Debug, Clone, Default)]
pub struct Sandbox {
    temp_dir: Option<PathBuf>,
    user_data_dir: Option<PathBuf>,
}

enum Place<'a> {
    Temp(&'a str),
    Usr(Vec<&'a str>),
}

impl Sandbox {
    pub fn new(temp_dir: Option<PathBuf>, user_data_dir: Option<PathBuf>) -> Self {
        Sandbox {
            temp_dir,
            user_data_dir,
        }
    }

    fn parse(vpath: &str) -> Result<Place<'_>, SandboxError> {
        let bad = |why: &str| Err(SandboxError::Invalid(why.to_owned()));
        if vpath.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return bad("control characters");
        }
        if vpath.contains('\\') || vpath.contains('%') {
            return bad("backslash or percent sign");
        }
        let Some(rest) = vpath.strip_prefix(SCHEME) else {
            return bad("not a wxfile:// path");
        };
        if let Some(rel) = rest.strip_prefix("usr/") {
            let segments: Vec<&str> = rel.split('/').collect();
            if segments.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
                return bad("empty, '.' or '..' segment");
            }
            return Ok(Place::Usr(segments));
        }
        let name_ok = rest.len() > 4
            && rest.starts_with("tmp_")
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            && !rest.contains("..");
        if name_ok {
            Ok(Place::Temp(rest))
        } else {
            bad("expected wxfile://tmp_<name> or wxfile://usr/<path>")
        }
    }

    fn root(&self, place: &Place<'_>) -> Result<&Path, SandboxError> {
        match place {
            Place::Temp(_) => self.temp_dir.as_deref().ok_or(SandboxError::NoDirectory("tempDir")),
            Place::Usr(_) => self
                .user_data_dir
                .as_deref()
                .ok_or(SandboxError::NoDirectory("userDataDir")),
        }
    }

    fn join(root: &Path, place: &Place<'_>) -> PathBuf {
        match place {
            Place::Temp(name) => root.join(name),
            Place::Usr(segments) => segments.iter().fold(root.to_path_buf(), |p, s| p.join(s)),
        }
    }

    /// An existing regular file to read (uploads). Symlinks are followed and
    /// the target must stay inside the directory.
    pub fn existing_file(&self, vpath: &str) -> Result<PathBuf, SandboxError> {
        let place = Self::parse(vpath)?;
        let root = canonical_root(self.root(&place)?)?;
        let path = Self::join(&root, &place);
        let real = path
            .canonicalize()
            .map_err(|e| SandboxError::Missing(format!("{vpath}: {e}")))?;
        if !real.starts_with(&root) {
            return Err(SandboxError::Invalid("leads outside its directory".into()));
        }
        if !real.is_file() {
            return Err(SandboxError::Missing(format!("{vpath} is not a regular file")));
        }
        Ok(real)
    }

    /// An existing regular file to read (uploads), opened now: the handle is
    /// what every hop of the upload reads, so nothing swapped in at the path
    /// later (a symlink to a file outside, a FIFO) is ever read. Opened
    /// without blocking (a FIFO cannot hold the thread), then checked to be
    /// the very file the path check found: a regular file, the same device
    /// and inode, at a path that still has no symlink in it.
    pub fn open_existing_file(&self, vpath: &str) -> Result<(std::fs::File, u64), SandboxError> {
        let real = self.existing_file(vpath)?;
        let missing = |e: std::io::Error| SandboxError::Missing(format!("{vpath}: {e}"));
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
        let file = options.open(&real).map_err(missing)?;
        let opened = file.metadata().map_err(missing)?;
        if !opened.is_file() {
            return Err(SandboxError::Missing(format!("{vpath} is not a regular file")));
        }
        let still = real.canonicalize().map_err(missing)?;
        let at_path = std::fs::symlink_metadata(&real).map_err(missing)?;
        #[cfg(unix)]
        let same = {
            use std::os::unix::fs::MetadataExt;
            (opened.dev(), opened.ino()) == (at_path.dev(), at_path.ino())
        };
        #[cfg(not(unix))]
        let same = at_path.is_file() && at_path.len() == opened.len();
        if still != real || !same {
            return Err(SandboxError::Invalid("changed while it was being opened".into()));
        }
        Ok((file, opened.len()))
    }

    /// A destination under `wxfile://usr/` to write (downloads with
    /// `filePath`). Missing parent directories are created inside the
    /// directory, one level at a time, and only after the existing part of
    /// the path was checked: no segment may be a symlink (none is followed,
    /// whatever it points at) or anything but a directory. An existing
    /// symlink or directory as the final name is refused.
    ///
    /// Races: each level is checked with `symlink_metadata` before it is
    /// entered, created with a non-recursive `mkdir` (which never follows a
    /// symlink at its last component and fails if anything appeared there),
    /// checked again after creation, and the finished parent is checked once
    /// more through `canonicalize`. Something that swaps a directory for a
    /// symlink between two of these steps makes the call fail; at most one
    /// empty directory can then have been created, and only where the
    /// attacker's own symlink pointed at the moment of the swap.
    pub fn user_file_for_write(&self, vpath: &str) -> Result<PathBuf, SandboxError> {
        let place = Self::parse(vpath)?;
        let Place::Usr(segments) = &place else {
            return Err(SandboxError::Invalid("filePath must be under wxfile://usr/".into()));
        };
        let root = canonical_root(self.root(&place)?)?;
        let (name, dirs) = segments.split_last().expect("parse yields at least one segment");
        let mut parent = root.clone();
        for segment in dirs {
            parent.push(segment);
            enter_or_create_dir(&parent)?;
        }
        let real_parent = parent
            .canonicalize()
            .map_err(|e| SandboxError::Invalid(format!("its directory: {e}")))?;
        if real_parent != parent || !real_parent.starts_with(&root) {
            return Err(SandboxError::Invalid("leads outside its directory".into()));
        }
        let target = real_parent.join(name);
        match std::fs::symlink_metadata(&target) {
            Ok(m) if m.file_type().is_symlink() => Err(SandboxError::Invalid("the destination is a symlink".into())),
            Ok(m) if m.is_dir() => Err(SandboxError::Invalid("the destination is a directory".into())),
            _ => Ok(target),
        }
    }

    /// The real path of a `wxfile://` path, for the host (to show a downloaded
    /// image, to hand a file to the OS). The file need not exist; the deepest
    /// part of the path that exists, after following symlinks, must be inside
    /// its directory. An existing file gives its canonical path.
    pub fn real_path(&self, vpath: &str) -> Result<PathBuf, SandboxError> {
        let place = Self::parse(vpath)?;
        let root = canonical_root(self.root(&place)?)?;
        let path = Self::join(&root, &place);
        let mut probe = path.as_path();
        let real = loop {
            if let Ok(real) = probe.canonicalize() {
                break real;
            }
            probe = probe
                .parent()
                .expect("the canonical root exists, so some ancestor does");
        };
        if !real.starts_with(&root) {
            return Err(SandboxError::Invalid("leads outside its directory".into()));
        }
        Ok(if probe == path { real } else { path })
    }

    /// The `wxfile://` path of a real path inside the app's `tempDir` (a
    /// `tmp_<name>` file directly in it) or `userDataDir` (any depth): the
    /// inverse of [`Sandbox::real_path`], under the same rules (symlinks
    /// followed; names the virtual form cannot carry are refused).
    pub fn virtual_path(&self, real: &Path) -> Result<String, SandboxError> {
        if !real.is_absolute() {
            return Err(SandboxError::Invalid("not an absolute path".into()));
        }
        let canonical = match real.canonicalize() {
            Ok(c) => c,
            Err(_) => {
                let (Some(parent), Some(name)) = (real.parent(), real.file_name()) else {
                    return Err(SandboxError::Invalid("no file name".into()));
                };
                let parent = parent
                    .canonicalize()
                    .map_err(|e| SandboxError::Missing(format!("{}: {e}", parent.display())))?;
                parent.join(name)
            }
        };
        let mut refusal = None;
        let roots = [(&self.temp_dir, "wxfile://"), (&self.user_data_dir, USER_DATA_PREFIX)];
        for (dir, prefix) in roots {
            let Some(dir) = dir else { continue };
            let root = canonical_root(dir)?;
            let Ok(rel) = canonical.strip_prefix(&root) else {
                continue;
            };
            let segments: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
            let Some(segments) = segments else {
                refusal = Some(SandboxError::Invalid("the path is not UTF-8".into()));
                continue;
            };
            let vpath = format!("{prefix}{}", segments.join("/"));
            match Self::parse(&vpath) {
                Ok(Place::Temp(_)) if prefix == SCHEME => return Ok(vpath),
                Ok(Place::Usr(_)) if prefix == USER_DATA_PREFIX => return Ok(vpath),
                Ok(_) => refusal = Some(SandboxError::Invalid("not a tmp_<name> file of the tempDir".into())),
                Err(e) => refusal = Some(e),
            }
        }
        Err(refusal.unwrap_or_else(|| SandboxError::Invalid("outside the app's tempDir and userDataDir".into())))
    }

    /// A fresh, unguessable temp file name: (real path, `wxfile://tmp_…`).
    pub fn new_temp_file(&self, ext: &str) -> Result<(PathBuf, String), SandboxError> {
        let root = canonical_root(self.temp_dir.as_deref().ok_or(SandboxError::NoDirectory("tempDir"))?)?;
        let name = format!("tmp_{}{ext}", random_hex(16));
        Ok((root.join(&name), format!("{SCHEME}{name}")))
    }
}

/// Makes sure `dir` is a real directory (not a symlink, not a file),
/// creating it (one level, its parent must exist) when it is missing.
fn enter_or_create_dir(dir: &Path) -> Result<(), SandboxError> {
    let check = |meta: std::fs::Metadata| {
        if meta.file_type().is_symlink() {
            Err(SandboxError::Invalid("a directory on its path is a symlink".into()))
        } else if !meta.is_dir() {
            Err(SandboxError::Invalid(
                "a directory on its path is not a directory".into(),
            ))
        } else {
            Ok(())
        }
    };
    match std::fs::symlink_metadata(dir) {
        Ok(meta) => return check(meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(SandboxError::Invalid(format!("its directory: {e}"))),
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        // Someone else created it meanwhile: fine if it is a real directory.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(SandboxError::Invalid(format!("cannot create its directory: {e}"))),
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| SandboxError::Invalid(format!("its directory: {e}")))?;
    check(meta)
}

fn canonical_root(dir: &Path) -> Result<PathBuf, SandboxError> {
    dir.canonicalize()
        .map_err(|e| SandboxError::Invalid(format!("configured directory {}: {e}", dir.display())))
}

/// `n` random bytes from the OS, as lowercase hex.
pub fn random_hex(n: usize) -> String {
    use ring::rand::SecureRandom;
    let mut bytes = vec![0u8; n];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| io::Error::other("no OS randomness"))
        .expect("the OS random source works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs() -> (tempdir::Dir, Sandbox) {
        let d = tempdir::Dir::new();
        std::fs::create_dir_all(d.0.join("tmp")).expect("mkdir");
        std::fs::create_dir_all(d.0.join("usr/sub")).expect("mkdir");
        std::fs::write(d.0.join("usr/sub/a.txt"), b"a").expect("write");
        std::fs::write(d.0.join("tmp/tmp_abc.png"), b"p").expect("write");
        std::fs::write(d.0.join("secret"), b"s").expect("write");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(d.0.join("secret"), d.0.join("usr/link")).expect("symlink");
            std::os::unix::fs::symlink(d.0.join("tmp"), d.0.join("usr/dirlink")).expect("symlink");
        }
        let sb = Sandbox::new(Some(d.0.join("tmp")), Some(d.0.join("usr")));
        (d, sb)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                let p = std::env::temp_dir().join(format!("wxnet-sandbox-{}", super::random_hex(8)));
                std::fs::create_dir_all(&p).expect("mkdir");
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn valid_paths_map_inside() {
        let (_d, sb) = dirs();
        assert!(sb
            .existing_file("wxfile://usr/sub/a.txt")
            .expect("ok")
            .ends_with("usr/sub/a.txt"));
        assert!(sb
            .existing_file("wxfile://tmp_abc.png")
            .expect("ok")
            .ends_with("tmp/tmp_abc.png"));
        assert!(sb
            .user_file_for_write("wxfile://usr/new/dir/f.bin")
            .expect("ok")
            .ends_with("usr/new/dir/f.bin"));
        let (path, v) = sb.new_temp_file(".png").expect("temp");
        assert!(v.starts_with("wxfile://tmp_") && v.ends_with(".png") && v.len() == "wxfile://tmp_".len() + 32 + 4);
        assert!(path.starts_with(sb.temp_dir.as_ref().expect("dir").canonicalize().expect("c")));
    }

    #[test]
    fn escape_attempts_are_rejected() {
        let (_d, sb) = dirs();
        let table = [
            "/etc/passwd",
            "../secret",
            "file:///etc/passwd",
            "wxfile://usr/../secret",
            "wxfile://usr/sub/../../secret",
            "wxfile://usr/./sub/a.txt",
            "wxfile://usr//sub/a.txt",
            "wxfile://usr/",
            "wxfile://usr",
            "wxfile://usr/%2e%2e/secret",
            "wxfile://usr/%2E%2E%2Fsecret",
            "wxfile://usr/..%2fsecret",
            "wxfile://usr\\..\\secret",
            "wxfile://usr/sub\\..\\..\\secret",
            "wxfile://usr/a\0b",
            "wxfile://usr/a\nb",
            "wxfile://tmp_../secret",
            "wxfile://tmp_/etc/passwd",
            "wxfile://tmp_",
            "wxfile://tmp_..",
            "wxfile://tmp_a/../../secret",
            "wxfile:///etc/passwd",
            "wxfile://etc/passwd",
            "wxfile://../secret",
            "WXFILE://usr/sub/a.txt",
            "wxfile://usr/link",
            "wxfile://usr/dirlink/tmp_abc.png",
        ];
        for vpath in table {
            assert!(sb.existing_file(vpath).is_err(), "read {vpath:?} must be rejected");
            assert!(
                sb.user_file_for_write(vpath).is_err(),
                "write {vpath:?} must be rejected"
            );
        }
        assert!(
            sb.user_file_for_write("wxfile://tmp_abc.png").is_err(),
            "downloads with filePath go under usr/"
        );
        let none = Sandbox::default();
        assert_eq!(
            none.existing_file("wxfile://usr/a").expect_err("no dir"),
            SandboxError::NoDirectory("userDataDir")
        );
        assert!(none.new_temp_file("").is_err());
    }
}
