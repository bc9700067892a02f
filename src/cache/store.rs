//! The cache's files: one `<key>.entry` file per URL in the cache directory,
//! an in-memory index of sizes and last use, and least-recently-used
//! eviction under a size cap. Blocking IO: callers run it on tokio's
//! blocking pool.
//!
//! Writes go to a uniquely named temporary file in the same directory and are
//! then renamed over the entry: a reader sees the old file or the new one,
//! never a mix, and two writers of one entry each rename a complete file (the
//! last one wins). A crash mid-write leaves a `.tmp` file, removed at the next
//! open; a file damaged any other way fails its checksum and is deleted when
//! read (see [`super::entry`]). Last use survives restarts as the file's
//! modification time.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::entry::Entry;

const SUFFIX: &str = ".entry";
const TMP_SUFFIX: &str = ".tmp";
/// A temporary file older than this at open is a crash leftover (a younger
/// one may belong to another instance writing right now).
const STALE_TMP: Duration = Duration::from_secs(60);
/// Room for an entry's URL and fields beyond its body when reading it back:
/// response fields are at most 256 KiB, the URL 8 KiB, request fields only
/// the few a response varies on.
const MAX_META_BYTES: u64 = 1024 * 1024;

/// The file's bytes, or `None` when it holds more than `limit` (it was not
/// written by this store: never read into memory whole).
fn read_at_most(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    fs::File::open(path)?.take(limit + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    size: u64,
    last_used: u64,
}

#[derive(Debug, Default)]
struct Index {
    slots: HashMap<String, Slot>,
    total: u64,
    clock: u64,
}

impl Index {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn set(&mut self, key: &str, size: u64) {
        let last_used = self.tick();
        if let Some(old) = self.slots.insert(key.to_owned(), Slot { size, last_used }) {
            self.total -= old.size;
        }
        self.total += size;
    }

    fn remove(&mut self, key: &str) {
        if let Some(old) = self.slots.remove(key) {
            self.total -= old.size;
        }
    }
}

/// The files of one cache directory.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    cap: u64,
    index: Mutex<Index>,
}

impl Store {
    /// Opens (creating) `dir`, indexes its entries, removes crash leftovers
    /// and evicts down to `cap` bytes.
    pub fn open(dir: &Path, cap: u64) -> io::Result<Store> {
        fs::create_dir_all(dir)?;
        let mut found = Vec::new();
        for item in fs::read_dir(dir)? {
            let item = item?;
            let name = item.file_name().to_string_lossy().into_owned();
            let Ok(meta) = item.metadata() else {
                continue;
            };
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if name.ends_with(TMP_SUFFIX) {
                let age = SystemTime::now().duration_since(modified).unwrap_or_default();
                if age > STALE_TMP {
                    let _ = fs::remove_file(item.path());
                }
            } else if let Some(key) = name.strip_suffix(SUFFIX) {
                found.push((modified, key.to_owned(), meta.len()));
            }
        }
        found.sort();
        let mut index = Index::default();
        for (_, key, size) in found {
            index.set(&key, size);
        }
        let store = Store {
            dir: dir.to_owned(),
            cap,
            index: Mutex::new(index),
        };
        store.evict(None);
        Ok(store)
    }

    /// The largest body worth storing (an eighth of the cap).
    pub fn max_entry(&self) -> u64 {
        self.cap / 8
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}{SUFFIX}"))
    }

    /// Reads an entry; a damaged one is deleted and reads as `None`.
    pub fn read(&self, key: &str) -> Option<Entry> {
        let path = self.path(key);
        let bytes = match read_at_most(&path, self.max_entry() + MAX_META_BYTES) {
            Ok(b) => b,
            Err(_) => {
                self.lock().remove(key);
                return None;
            }
        };
        let Some(entry) = bytes.and_then(Entry::decode) else {
            log::warn!("cache: damaged entry removed");
            let _ = fs::remove_file(&path);
            self.lock().remove(key);
            return None;
        };
        let mut index = self.lock();
        let tick = index.tick();
        if let Some(slot) = index.slots.get_mut(key) {
            slot.last_used = tick;
        }
        drop(index);
        // Best effort: keeps the LRU order across restarts.
        if let Ok(file) = fs::File::options().write(true).open(&path) {
            let _ = file.set_modified(SystemTime::now());
        }
        Some(entry)
    }

    /// Writes an entry (temporary file + rename), then evicts down to the cap.
    pub fn write(&self, key: &str, entry: &Entry) -> io::Result<()> {
        static SERIAL: AtomicU64 = AtomicU64::new(0);
        let bytes = entry.encode();
        if bytes.len() as u64 > self.cap {
            return Ok(());
        }
        let tmp = self.dir.join(format!(
            "{key}.{}.{}{TMP_SUFFIX}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            drop(file);
            fs::rename(&tmp, self.path(key))
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        self.lock().set(key, bytes.len() as u64);
        self.evict(Some(key));
        Ok(())
    }

    /// Deletes an entry.
    pub fn remove(&self, key: &str) {
        let _ = fs::remove_file(self.path(key));
        self.lock().remove(key);
    }

    /// Bytes the index holds.
    #[cfg(test)]
    pub fn total(&self) -> u64 {
        self.lock().total
    }

    /// Removes least recently used entries (never `keep`) until under the cap.
    fn evict(&self, keep: Option<&str>) {
        loop {
            let victim = {
                let index = self.lock();
                if index.total <= self.cap {
                    return;
                }
                index
                    .slots
                    .iter()
                    .filter(|(k, _)| Some(k.as_str()) != keep)
                    .min_by_key(|(_, s)| s.last_used)
                    .map(|(k, _)| k.clone())
            };
            let Some(victim) = victim else {
                return;
            };
            self.remove(&victim);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().expect("cache index lock poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::entry::tests::sample;
    use std::sync::Arc;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static N: AtomicU64 = AtomicU64::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("wxnet-store-{tag}-{}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn entry_of_size(n: usize) -> Entry {
        let mut e = sample(b"");
        e.body = bytes::Bytes::from(vec![b'x'; n]);
        e
    }

    #[test]
    fn lru_eviction_under_the_cap_survives_reopen() {
        let dir = TempDir::new("lru");
        let size = entry_of_size(1000).encode().len() as u64;
        let store = Store::open(&dir.0, size * 3).expect("open");
        for key in ["a", "b", "c"] {
            store.write(key, &entry_of_size(1000)).expect("write");
        }
        assert!(store.read("a").is_some(), "a used: now b is the oldest");
        store.write("d", &entry_of_size(1000)).expect("write");
        assert!(store.read("b").is_none(), "b evicted");
        for key in ["a", "c", "d"] {
            std::thread::sleep(Duration::from_millis(5));
            assert!(store.read(key).is_some(), "{key} kept");
        }
        assert_eq!(store.total(), size * 3);
        assert!(!dir.0.join("b.entry").exists());
        drop(store);
        // Modification times carry the use order over a restart: reopened
        // with a smaller cap, the least recently used (a) goes first.
        let store = Store::open(&dir.0, size * 2).expect("reopen");
        assert_eq!(store.total(), size * 2);
        assert!(store.read("a").is_none());
        assert!(store.read("c").is_some() && store.read("d").is_some());
    }

    #[test]
    fn damaged_and_torn_files_are_never_served() {
        let dir = TempDir::new("damage");
        let store = Store::open(&dir.0, 1 << 20).expect("open");
        store.write("k", &sample(b"good body")).expect("write");
        let path = dir.0.join("k.entry");
        let mut bytes = fs::read(&path).expect("file");
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x40;
        fs::write(&path, &bytes).expect("damage");
        assert!(store.read("k").is_none());
        assert!(!path.exists(), "damaged file deleted");
        store.write("k", &sample(b"good body")).expect("write");
        let full = fs::read(&path).expect("file");
        fs::write(&path, &full[..full.len() - 5]).expect("tear");
        assert!(store.read("k").is_none());
        // A file larger than any entry the store writes is neither read whole nor kept.
        store.write("k", &sample(b"good body")).expect("write");
        let limit = store.max_entry() + MAX_META_BYTES;
        fs::File::options()
            .write(true)
            .open(&path)
            .expect("entry")
            .set_len(limit + 1)
            .expect("grow");
        assert!(store.read("k").is_none());
        assert!(!path.exists(), "oversized file deleted");
        assert_eq!(
            read_at_most(&dir.0.join("missing"), 1).map_err(|e| e.kind()),
            Err(io::ErrorKind::NotFound)
        );
        // A crash leftover: an old temporary file is removed at open.
        let tmp = dir.0.join("k.1.1.tmp");
        fs::write(&tmp, b"half").expect("tmp");
        let old = SystemTime::now() - Duration::from_secs(3600);
        fs::File::options()
            .write(true)
            .open(&tmp)
            .expect("tmp")
            .set_modified(old)
            .expect("mtime");
        drop(store);
        let _store = Store::open(&dir.0, 1 << 20).expect("reopen");
        assert!(!tmp.exists());
    }

    #[test]
    fn concurrent_writers_of_one_entry_leave_one_whole_entry() {
        let dir = TempDir::new("race");
        let store = Arc::new(Store::open(&dir.0, 1 << 26).expect("open"));
        let bodies: Vec<Vec<u8>> = (0..8u8).map(|i| vec![b'a' + i; 200_000 + usize::from(i)]).collect();
        let threads: Vec<_> = bodies
            .iter()
            .cloned()
            .map(|body| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for _ in 0..5 {
                        let mut e = sample(b"");
                        e.body = bytes::Bytes::from(body.clone());
                        store.write("same", &e).expect("write");
                        if let Some(read) = store.read("same") {
                            assert!(bodies_contains(&read.body), "a whole body");
                        }
                    }
                })
            })
            .collect();
        fn bodies_contains(b: &[u8]) -> bool {
            !b.is_empty() && b.iter().all(|x| *x == b[0]) && b.len() == 200_000 + usize::from(b[0] - b'a')
        }
        for t in threads {
            t.join().expect("writer");
        }
        let last = store.read("same").expect("entry");
        assert!(bodies_contains(&last.body));
        let leftovers: Vec<_> = fs::read_dir(&dir.0)
            .expect("dir")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(TMP_SUFFIX))
            .collect();
        assert!(leftovers.is_empty(), "no temporary files left");
    }
}
