//! The code package: a deterministic `tar.gz` of the flow's folder, named by its SHA-256.
//!
//! Deterministic means the same files give the same bytes on any machine: entries sorted by
//! path (bytewise, `/`-separated), regular files only, mtime 0, uid/gid 0 with empty owner
//! names, mode 0644 (0755 when any execute bit is set), gzip header without file name or
//! time. `.gitignore` (also outside a git repository) and `.flowcignore` are honoured;
//! `.git/` and the local datastore folder `.flowc/` are never packed. Machine-specific
//! ignore files (global gitignore, `.git/info/exclude`) are not read.

use super::{Error, Result};
use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Folders never packed: git metadata and the local datastore.
pub const EXCLUDED_DIRS: [&str; 2] = [".git", ".flowc"];
/// Name of flowc's own ignore file (gitignore syntax).
pub const IGNORE_FILE: &str = ".flowcignore";

/// A built code package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The `tar.gz` bytes.
    pub bytes: Vec<u8>,
    /// Lower-case hex SHA-256 of `bytes`.
    pub sha256: String,
    /// The packed paths, relative, `/`-separated, sorted.
    pub files: Vec<String>,
}

impl Package {
    /// The S3 key of this package under the datastore prefix: `PREFIX/FLOW/code/SHA256.tar.gz`.
    pub fn key(&self, prefix: &str, flow: &str) -> String {
        let name = format!("{flow}/code/{}.tar.gz", self.sha256);
        match prefix {
            "" => name,
            p => format!("{p}/{name}"),
        }
    }
}

/// The files of `dir` to pack, relative and sorted.
///
/// Errors: [`Error::Io`] when the folder cannot be walked.
pub fn list_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut files = vec![];
    let walker = ignore::WalkBuilder::new(dir)
        .hidden(false)
        .git_ignore(true)
        .require_git(false)
        .git_global(false)
        .git_exclude(false)
        .parents(false)
        .follow_links(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            !(e.depth() > 0 && EXCLUDED_DIRS.contains(&name.as_ref()))
        })
        .build();
    for entry in walker {
        let entry = entry.map_err(|e| Error::Io(format!("cannot list {}: {e}", dir.display())))?;
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .map_err(|e| Error::Io(e.to_string()))?;
        let name: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        files.push((name.join("/"), entry.path().to_path_buf()));
    }
    files.sort();
    Ok(files)
}

/// Packs `dir` (see the module documentation).
///
/// Errors: [`Error::Io`] when a file cannot be read.
pub fn build(dir: &Path) -> Result<Package> {
    let files = list_files(dir)?;
    let gz = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for (name, path) in &files {
        let io = |e: std::io::Error| Error::Io(format!("cannot pack {}: {e}", path.display()));
        let data = std::fs::read(path).map_err(io)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(if executable(path) { 0o755 } else { 0o644 });
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, data.as_slice())
            .map_err(io)?;
    }
    let io = |e: std::io::Error| Error::Io(format!("cannot write the code package: {e}"));
    let bytes = tar.into_inner().map_err(io)?.finish().map_err(io)?;
    Ok(Package {
        sha256: hex::encode(Sha256::digest(&bytes)),
        files: files.into_iter().map(|(n, _)| n).collect(),
        bytes,
    })
}

#[cfg(unix)]
fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn executable(_: &Path) -> bool {
    false
}

/// Uploads `pkg` to `s3://bucket/key` unless an object is already there (HEAD first; the key
/// is the content hash, so an existing object has the same bytes). Returns whether it
/// uploaded.
///
/// Errors: [`Error::Aws`] when HEAD fails other than "not found", or the upload fails.
pub async fn upload(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    pkg: &Package,
) -> Result<bool> {
    if exists(s3, bucket, key).await? {
        return Ok(false);
    }
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/gzip")
        .body(pkg.bytes.clone().into())
        .send()
        .await
        .map_err(|e| super::clients::aws_error("s3:PutObject", &e))?;
    Ok(true)
}

/// Whether `s3://bucket/key` exists (`HeadObject`).
///
/// Errors: [`Error::Aws`] for any failure other than "not found".
pub async fn exists(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<bool> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => Ok(true),
        Err(e) => {
            if e.as_service_error().is_some_and(|s| s.is_not_found()) {
                Ok(false)
            } else {
                Err(super::clients::aws_error("s3:HeadObject", &e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn ignores_and_excluded_folders() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "flow.flow", "flow");
        write(d.path(), "src/a.py", "a");
        write(d.path(), "out.log", "x");
        write(d.path(), "secret.txt", "x");
        write(d.path(), ".gitignore", "*.log\n");
        write(d.path(), ".flowcignore", "secret.txt\n");
        write(d.path(), ".flowc/runs/x.json", "{}");
        write(d.path(), ".git/HEAD", "ref");
        let pkg = build(d.path()).unwrap();
        assert_eq!(
            pkg.files,
            [".flowcignore", ".gitignore", "flow.flow", "src/a.py"]
        );
    }

    #[test]
    fn same_content_same_bytes_regardless_of_times() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write(a.path(), "x/y.txt", "1");
        write(a.path(), "z.txt", "2");
        write(b.path(), "z.txt", "2");
        std::thread::sleep(std::time::Duration::from_millis(10));
        write(b.path(), "x/y.txt", "1");
        let (pa, pb) = (build(a.path()).unwrap(), build(b.path()).unwrap());
        assert_eq!(pa.sha256, pb.sha256);
        write(b.path(), "z.txt", "3");
        assert_ne!(pa.sha256, build(b.path()).unwrap().sha256);
        assert_eq!(pa.key("p", "F"), format!("p/F/code/{}.tar.gz", pa.sha256));
        assert_eq!(pa.key("", "F"), format!("F/code/{}.tar.gz", pa.sha256));
    }

    #[test]
    fn archive_unpacks_with_fixed_metadata() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "a.txt", "hello");
        let pkg = build(d.path()).unwrap();
        let gz = flate2::read::GzDecoder::new(pkg.bytes.as_slice());
        let mut ar = tar::Archive::new(gz);
        let entries: Vec<_> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mtime().unwrap(),
                    h.uid().unwrap(),
                    h.mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(entries, [("a.txt".to_string(), 0, 0, 0o644)]);
    }
}
