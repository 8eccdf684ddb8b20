//! Object stores: the [`ObjectStore`] trait (get / put / put_if_absent / exists / list on
//! [`Key`]s relative to a root) and its local-folder implementation [`LocalStore`].
//!
//! The same keys name the same objects under a local folder and under an S3 prefix
//! (`s3://BUCKET/PREFIX/KEY`), so a datastore can be copied between the two unchanged. The S3
//! implementation (deploy) is written against this trait.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Marker in the names of temporary files of an atomic write; never listed. The same marker
/// as the engine's local S3 integration (`engine::integrations::s3`), so neither lists the
/// other's half-written files.
pub const TMP_MARK: &str = ".flowc-tmp-";

/// A key relative to a store's root: `/`-separated segments, each non-empty, not `.` or
/// `..`, not starting with `.` (reserved for temporary files), without `\`, NUL or other
/// control characters. A key can therefore never escape the root, locally or on S3.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(String);

/// Why a text is not a valid [`Key`] or key segment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid datastore key `{text}`: {reason}")]
pub struct KeyError {
    /// The rejected text.
    pub text: String,
    /// Why.
    pub reason: &'static str,
}

impl Key {
    /// Parses a relative key. Errors: see [`Key`].
    pub fn new(text: &str) -> Result<Key, KeyError> {
        if text.is_empty() {
            return Err(key_error(text, "it is empty"));
        }
        for seg in text.split('/') {
            check_segment(seg).map_err(|reason| key_error(text, reason))?;
        }
        Ok(Key(text.to_string()))
    }

    /// This key with one more segment (`segment` must be a valid single segment).
    pub fn join(&self, segment: &str) -> Result<Key, KeyError> {
        check_segment(segment).map_err(|reason| key_error(segment, reason))?;
        Ok(Key(format!("{}/{segment}", self.0)))
    }

    /// This key with a relative key appended (`rest` is checked like [`Key::new`]).
    pub fn join_path(&self, rest: &str) -> Result<Key, KeyError> {
        let rest = Key::new(rest)?;
        Ok(Key(format!("{}/{}", self.0, rest.0)))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `prefix/`, when this key lies under `prefix`.
    pub fn strip_prefix(&self, prefix: &Key) -> Option<&str> {
        self.0.strip_prefix(prefix.as_str())?.strip_prefix('/')
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn key_error(text: &str, reason: &'static str) -> KeyError {
    KeyError {
        text: text.to_string(),
        reason,
    }
}

/// Checks one key segment (a step name, a run id, a file name…). Errors: the reason.
pub fn check_segment(seg: &str) -> Result<(), &'static str> {
    if seg.is_empty() {
        return Err("it has an empty segment (or a leading, trailing or doubled `/`)");
    }
    if seg == "." || seg == ".." {
        return Err("`.` and `..` segments could leave the datastore");
    }
    if seg.starts_with('.') {
        return Err("a segment starts with `.` (reserved for temporary files)");
    }
    if seg.chars().any(|c| c == '/' || c == '\\' || c.is_control()) {
        return Err("it contains `/`, `\\` or a control character");
    }
    if seg.len() > 255 {
        return Err("a segment is longer than 255 bytes");
    }
    Ok(())
}

/// A failed store operation, naming the object.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O error on `location` (a path or `s3://` URL).
    #[error("{op} {location}: {source}")]
    Io {
        /// What was being done (`reading`, `writing`, `listing`).
        op: &'static str,
        /// Where.
        location: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Any other backend error (e.g. an S3 API error), already worded.
    #[error("{0}")]
    Backend(String),
}

/// Keys relative to a root, holding bytes. Writes are atomic: a reader sees the old object,
/// the new one, or none, never a part. Implementations: [`LocalStore`]; S3 (deploy).
pub trait ObjectStore: Send + Sync {
    /// The object's bytes, `None` when it does not exist.
    fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes (or replaces) the object.
    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError>;
    /// Writes the object unless it exists; `true` when this call wrote it (S3: `PutObject`
    /// with `If-None-Match: *`).
    fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<bool, StoreError>;
    /// Whether the object exists.
    fn exists(&self, key: &Key) -> Result<bool, StoreError>;
    /// Every key under `prefix/` (at any depth), sorted; empty when there is none.
    fn list(&self, prefix: &Key) -> Result<Vec<Key>, StoreError>;
    /// Where `key` lives, for messages: a path or an `s3://` URL.
    fn location(&self, key: &Key) -> String;
    /// Writes the object from a local file (the default reads it whole; S3 may stream).
    fn put_file(&self, key: &Key, path: &Path) -> Result<(), StoreError> {
        let bytes = std::fs::read(path).map_err(|source| StoreError::Io {
            op: "reading",
            location: path.display().to_string(),
            source,
        })?;
        self.put(key, &bytes)
    }
    /// [`ObjectStore::put_file`] for a file the caller no longer needs (a task's scratch
    /// file): a store on the same file system may move it into place instead of copying.
    fn put_file_owned(&self, key: &Key, path: &Path) -> Result<(), StoreError> {
        self.put_file(key, path)
    }
}

/// An [`ObjectStore`] on a local folder: key `a/b` is the file `ROOT/a/b`. Writes go to a
/// temporary file in the target folder, then a rename (atomic on POSIX file systems).
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store rooted at `root` (created on the first write).
    pub fn new(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore { root: root.into() }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of `key`.
    pub fn path(&self, key: &Key) -> PathBuf {
        key.as_str()
            .split('/')
            .fold(self.root.clone(), |p, seg| p.join(seg))
    }

    fn io(&self, op: &'static str, path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            op,
            location: path.display().to_string(),
            source,
        }
    }

    /// Writes `bytes` to a new temporary file beside `path`; returns it (not yet renamed).
    ///
    /// No fsync: the rename makes each write atomic for every reader and survives the
    /// writer being killed (SIGKILL), which is the consistency the datastore promises; an
    /// fsync per object only adds durability against a power loss, at the cost of tens of
    /// milliseconds per task on a journaling file system.
    fn write_temp(&self, path: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile, StoreError> {
        let dir = path.parent().unwrap_or(&self.root);
        let builder = || tempfile::Builder::new().prefix(TMP_MARK).tempfile_in(dir);
        // The folder usually exists (a task writes several files into it): create it only
        // when the first try says it is missing.
        let mut tmp = match builder() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(|e| self.io("creating", dir, e))?;
                builder()
            }
            other => other,
        }
        .map_err(|e| self.io("writing", dir, e))?;
        tmp.write_all(bytes)
            .map_err(|e| self.io("writing", path, e))?;
        Ok(tmp)
    }

    fn list_into(&self, dir: &Path, prefix: &str, out: &mut Vec<Key>) -> Result<(), StoreError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(()),
            Err(e) => return Err(self.io("listing", dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| self.io("listing", dir, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if check_segment(&name).is_err() {
                continue; // temporary files and names no key can have
            }
            let key = format!("{prefix}/{name}");
            let kind = entry.file_type().map_err(|e| self.io("listing", dir, e))?;
            if kind.is_dir() {
                self.list_into(&entry.path(), &key, out)?;
            } else if kind.is_file() {
                out.push(Key(key));
            }
        }
        Ok(())
    }
}

impl ObjectStore for LocalStore {
    fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(key);
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Ok(None),
            Err(e) => Err(self.io("reading", &path, e)),
        }
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path(key);
        let tmp = self.write_temp(&path, bytes)?;
        tmp.persist(&path)
            .map_err(|e| self.io("writing", &path, e.error))?;
        Ok(())
    }

    fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<bool, StoreError> {
        let path = self.path(key);
        let tmp = self.write_temp(&path, bytes)?;
        match tmp.persist_noclobber(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(self.io("writing", &path, e.error)),
        }
    }

    fn exists(&self, key: &Key) -> Result<bool, StoreError> {
        Ok(self.path(key).is_file())
    }

    /// A rename when the file is on the store's file system (atomic, no copy); a copy
    /// otherwise.
    fn put_file_owned(&self, key: &Key, path: &Path) -> Result<(), StoreError> {
        let target = self.path(key);
        let dir = target.parent().unwrap_or(&self.root);
        let moved = match std::fs::rename(path, &target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && path.exists() => {
                std::fs::create_dir_all(dir).map_err(|e| self.io("creating", dir, e))?;
                std::fs::rename(path, &target)
            }
            other => other,
        };
        match moved {
            Ok(()) => Ok(()),
            Err(_) => self.put_file(key, path),
        }
    }

    fn list(&self, prefix: &Key) -> Result<Vec<Key>, StoreError> {
        let mut out = vec![];
        self.list_into(&self.path(prefix), prefix.as_str(), &mut out)?;
        out.sort();
        Ok(out)
    }

    fn location(&self, key: &Key) -> String {
        self.path(key).display().to_string()
    }
}

/// Where a datastore lives, from `--datastore`: a local folder, or `s3://BUCKET/PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// A local folder.
    Local(PathBuf),
    /// An S3 bucket and key prefix (without trailing `/`; may be empty).
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix.
        prefix: String,
    },
}

/// Environment variable mapping `s3://BUCKET/PREFIX` to the local folder
/// `$FLOWC_S3_ROOT/BUCKET/PREFIX` (the engine's local S3 integration uses the same mapping:
/// bucket = subfolder of its `--s3-root`).
pub const S3_ROOT_ENV: &str = "FLOWC_S3_ROOT";

impl StoreSpec {
    /// Parses `--datastore`: `s3://BUCKET[/PREFIX]` or a path. Errors: a malformed S3 URL
    /// (empty bucket, `..` in the prefix…).
    pub fn parse(text: &str) -> Result<StoreSpec, String> {
        let Some(rest) = text.strip_prefix("s3://") else {
            return Ok(StoreSpec::Local(PathBuf::from(text)));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_end_matches('/');
        if bucket.is_empty() || check_segment(bucket).is_err() {
            return Err(format!(
                "invalid datastore `{text}`: expected s3://BUCKET/PREFIX"
            ));
        }
        if !prefix.is_empty() {
            Key::new(prefix).map_err(|e| format!("invalid datastore `{text}`: {}", e.reason))?;
        }
        Ok(StoreSpec::S3 {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// Opens the store. `s3_root` is the value of [`S3_ROOT_ENV`]: with it an S3 spec maps to
    /// a [`LocalStore`] on `S3_ROOT/BUCKET/PREFIX`; without it, to the bucket itself
    /// ([`crate::aws::store::S3Store::from_env`]). Errors: the S3 client cannot be set up (no
    /// region…).
    pub fn open(&self, s3_root: Option<&Path>) -> Result<Box<dyn ObjectStore>, String> {
        match (self, s3_root) {
            (StoreSpec::Local(dir), _) => Ok(Box::new(LocalStore::new(dir))),
            (StoreSpec::S3 { bucket, prefix }, Some(root)) => {
                let mut dir = root.join(bucket);
                for seg in prefix.split('/').filter(|s| !s.is_empty()) {
                    dir = dir.join(seg);
                }
                Ok(Box::new(LocalStore::new(dir)))
            }
            (StoreSpec::S3 { bucket, prefix }, None) => {
                let store = crate::aws::store::S3Store::from_env(bucket, prefix)
                    .map_err(|e| e.to_string())?;
                Ok(Box::new(store))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owned_file_is_moved_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("ds"));
        let scratch = dir.path().join("stdout.log");
        std::fs::write(&scratch, b"hello\n").unwrap();
        let key = Key::new("f/runs/r/s/attempt-0.stdout.log").unwrap();
        store.put_file_owned(&key, &scratch).unwrap();
        assert!(!scratch.exists(), "moved, not copied");
        assert_eq!(store.get(&key).unwrap().unwrap(), b"hello\n");
    }

    #[test]
    fn keys_cannot_escape() {
        for bad in [
            "", "/a", "a/", "a//b", "..", "a/../b", "./a", "a\\b", ".hidden", "a/\0",
        ] {
            assert!(Key::new(bad).is_err(), "{bad:?} accepted");
        }
        let k = Key::new("Flow/runs/r1").unwrap();
        assert!(k.join("..").is_err());
        assert!(k.join("a/b").is_err());
        assert!(k.join_path("a/../b").is_err());
        assert_eq!(k.join_path("a/b").unwrap().as_str(), "Flow/runs/r1/a/b");
    }

    #[test]
    fn local_store_round_trip_and_list() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::new(dir.path());
        let k = Key::new("F/runs/r/a.json").unwrap();
        assert_eq!(s.get(&k).unwrap(), None);
        assert!(!s.exists(&k).unwrap());
        s.put(&k, b"1").unwrap();
        assert_eq!(s.get(&k).unwrap().as_deref(), Some(&b"1"[..]));
        assert!(!s.put_if_absent(&k, b"2").unwrap());
        assert_eq!(s.get(&k).unwrap().as_deref(), Some(&b"1"[..]));
        s.put(&k, b"3").unwrap();
        assert_eq!(s.get(&k).unwrap().as_deref(), Some(&b"3"[..]));
        let k2 = Key::new("F/runs/r/x/b").unwrap();
        assert!(s.put_if_absent(&k2, b"").unwrap());
        let listed = s.list(&Key::new("F/runs").unwrap()).unwrap();
        assert_eq!(listed, vec![k, k2]);
        assert!(s.list(&Key::new("nothing").unwrap()).unwrap().is_empty());
    }

    #[test]
    fn temp_files_are_not_listed() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::new(dir.path());
        s.put(&Key::new("a/b").unwrap(), b"x").unwrap();
        std::fs::write(dir.path().join("a").join(".flowc-tmp-123"), b"half").unwrap();
        assert_eq!(s.list(&Key::new("a").unwrap()).unwrap().len(), 1);
    }

    #[test]
    fn store_specs() {
        assert_eq!(
            StoreSpec::parse("s3://b/p/q/").unwrap(),
            StoreSpec::S3 {
                bucket: "b".into(),
                prefix: "p/q".into()
            }
        );
        assert!(StoreSpec::parse("s3://").is_err());
        assert!(StoreSpec::parse("s3://b/../x").is_err());
        assert_eq!(
            StoreSpec::parse(".flowc").unwrap(),
            StoreSpec::Local(".flowc".into())
        );
        let spec = StoreSpec::parse("s3://b/p").unwrap();
        assert!(spec.open(None).is_err());
        let root = tempfile::tempdir().unwrap();
        let s = spec.open(Some(root.path())).unwrap();
        s.put(&Key::new("k").unwrap(), b"v").unwrap();
        assert!(root.path().join("b/p/k").is_file());
    }
}
