//! [`S3Store`]: the runtime's [`ObjectStore`] on an S3 prefix (`s3://BUCKET/PREFIX/KEY`), used
//! by `flowc task` on AWS Batch and by `flowc interpret --resume` to read a run of a deployed
//! flow. The keys are exactly those of a local datastore folder (`docs/runtime-layout.md`).
//!
//! The trait is synchronous, the SDK is not: the store owns a Tokio current-thread runtime
//! and blocks on each call. It must therefore never be called from inside an async context
//! (a Tokio worker thread): `block_on` panics there. `flowc task` and the local runner's
//! resume call it from plain threads.

use super::clients::{aws_error, is_not_found, s3_client, sdk_config, CallLog};
use super::config::Settings;
use crate::options::AwsConfig;
use crate::runtime::store::{Key, ObjectStore, StoreError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::path::Path;

/// Most attempts of a conditional `PutObject` that S3 answers with `409
/// ConditionalRequestConflict` (another conditional write of the same key is in flight; S3
/// documents that the request may be retried).
const CONFLICT_RETRIES: usize = 3;

/// An [`ObjectStore`] on `s3://BUCKET/PREFIX`: key `a/b` is the object `PREFIX/a/b`.
///
/// - `get`: `GetObject` (`NoSuchKey` → `None`);
/// - `put`: `PutObject` (atomic on S3: readers see the old or the new object);
/// - `put_if_absent`: `PutObject` with `If-None-Match: *` (S3 conditional writes, GA since
///   August 2024; moto 5.2.5 honours the header too), `412 PreconditionFailed` → `false`;
/// - `exists`: `HeadObject`;
/// - `list`: `ListObjectsV2` on `PREFIX/KEY/`, every page, sorted;
/// - `put_file`: `PutObject` streaming the file (single request: S3 accepts up to 5 GiB).
///
/// Errors are [`StoreError::Backend`] texts naming the operation and the `s3://` location.
pub struct S3Store {
    client: aws_sdk_s3::Client,
    rt: tokio::runtime::Runtime,
    bucket: String,
    prefix: String,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S3Store(s3://{}/{})", self.bucket, self.prefix)
    }
}

impl S3Store {
    /// A store on `s3://bucket/prefix` (`prefix` without leading or trailing `/`, may be
    /// empty) with the SDK configuration of `settings` (see [`sdk_config`]: the AWS chain,
    /// `[aws] region`, `profile`, `endpoint_url`; path-style addressing with an endpoint
    /// URL). Makes no request.
    ///
    /// Errors: [`StoreError::Backend`] when the async runtime cannot start or no region is
    /// configured.
    pub fn connect(settings: &Settings, bucket: &str, prefix: &str) -> Result<S3Store, StoreError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot start the async runtime: {e}")))?;
        let (sdk, _region) = rt
            .block_on(sdk_config(settings))
            .map_err(|e| StoreError::Backend(format!("datastore s3://{bucket}/{prefix}: {e}")))?;
        Ok(S3Store {
            client: s3_client(&sdk, &CallLog::default()),
            rt,
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    /// [`S3Store::connect`] with settings from the environment only: `FLOWC_REGION`,
    /// `FLOWC_PROFILE`, `FLOWC_ENDPOINT_URL` (each else the AWS chain's `AWS_REGION`,
    /// `AWS_PROFILE`, `AWS_ENDPOINT_URL`). What `flowc task` uses in a Batch container, where
    /// no `flowc.toml` is read.
    ///
    /// Errors: as [`S3Store::connect`].
    pub fn from_env(bucket: &str, prefix: &str) -> Result<S3Store, StoreError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let settings = Settings {
            aws: AwsConfig {
                region: var("FLOWC_REGION"),
                profile: var("FLOWC_PROFILE"),
                endpoint_url: var("FLOWC_ENDPOINT_URL"),
            },
            ..Settings::default()
        };
        S3Store::connect(&settings, bucket, prefix)
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The object key of `key`: `PREFIX/KEY` (`KEY` when the prefix is empty).
    pub fn object_key(&self, key: &str) -> String {
        match self.prefix.as_str() {
            "" => key.to_string(),
            p => format!("{p}/{key}"),
        }
    }

    /// Downloads the object at `s3_key` (a full object key, not relative to the prefix) into
    /// `dest`, streaming. Returns `false` when it does not exist.
    ///
    /// Errors: [`StoreError::Backend`] on an S3 error, [`StoreError::Io`] when `dest`
    /// cannot be written.
    pub fn download_object(&self, s3_key: &str, dest: &Path) -> Result<bool, StoreError> {
        let location = format!("s3://{}/{s3_key}", self.bucket);
        self.rt.block_on(async {
            let req = self.client.get_object().bucket(&self.bucket).key(s3_key);
            let out = match req.send().await {
                Ok(o) => o,
                Err(e) if is_not_found(&e) => return Ok(false),
                Err(e) => return Err(backend("s3:GetObject", &location, &e)),
            };
            let io = |source| StoreError::Io {
                op: "writing",
                location: dest.display().to_string(),
                source,
            };
            let mut file = tokio::fs::File::create(dest).await.map_err(io)?;
            let mut body = out.body.into_async_read();
            tokio::io::copy(&mut body, &mut file).await.map_err(io)?;
            Ok(true)
        })
    }

    fn location_of(&self, object_key: &str) -> String {
        format!("s3://{}/{object_key}", self.bucket)
    }

    async fn put_body(&self, key: &Key, body: ByteStream, if_absent: bool) -> PutResult {
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.object_key(key.as_str()))
            .body(body);
        if if_absent {
            req = req.if_none_match("*");
        }
        match req.send().await {
            Ok(_) => PutResult::Written,
            Err(e) if e.code() == Some("PreconditionFailed") || status(&e) == Some(412) => {
                PutResult::Exists
            }
            Err(e) if e.code() == Some("ConditionalRequestConflict") => PutResult::Conflict,
            Err(e) => PutResult::Failed(backend("s3:PutObject", &self.location(key), &e)),
        }
    }

    async fn list_pages(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut out = vec![];
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| backend("s3:ListObjectsV2", &self.location_of(prefix), &e))?;
            out.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
        }
        Ok(out)
    }
}

/// The outcome of one `PutObject`.
enum PutResult {
    Written,
    Exists,
    Conflict,
    Failed(StoreError),
}

/// The HTTP status of a failed request, when it got an answer.
fn status<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// `op LOCATION: CODE: MESSAGE` as a [`StoreError::Backend`].
fn backend<E>(op: &str, location: &str, e: &E) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    StoreError::Backend(format!("{location}: {}", aws_error(op, e)))
}

impl ObjectStore for S3Store {
    fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError> {
        let location = self.location(key);
        self.rt.block_on(async {
            let req = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(self.object_key(key.as_str()));
            let out = match req.send().await {
                Ok(o) => o,
                Err(e) if is_not_found(&e) => return Ok(None),
                Err(e) => return Err(backend("s3:GetObject", &location, &e)),
            };
            let bytes = out.body.collect().await.map_err(|e| {
                StoreError::Backend(format!("{location}: reading the object failed: {e}"))
            })?;
            Ok(Some(bytes.into_bytes().to_vec()))
        })
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        let body = ByteStream::from(bytes.to_vec());
        // Without a condition S3 answers neither 412 nor 409: anything but an error wrote.
        match self.rt.block_on(self.put_body(key, body, false)) {
            PutResult::Failed(e) => Err(e),
            _ => Ok(()),
        }
    }

    fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<bool, StoreError> {
        for _ in 0..CONFLICT_RETRIES {
            let body = ByteStream::from(bytes.to_vec());
            match self.rt.block_on(self.put_body(key, body, true)) {
                PutResult::Written => return Ok(true),
                PutResult::Exists => return Ok(false),
                PutResult::Conflict => continue,
                PutResult::Failed(e) => return Err(e),
            }
        }
        Err(StoreError::Backend(format!(
            "{}: s3:PutObject failed: ConditionalRequestConflict {CONFLICT_RETRIES} times",
            self.location(key)
        )))
    }

    fn exists(&self, key: &Key) -> Result<bool, StoreError> {
        let location = self.location(key);
        self.rt.block_on(async {
            let req = self
                .client
                .head_object()
                .bucket(&self.bucket)
                .key(self.object_key(key.as_str()));
            match req.send().await {
                Ok(_) => Ok(true),
                Err(e) if is_not_found(&e) || status(&e) == Some(404) => Ok(false),
                Err(e) => Err(backend("s3:HeadObject", &location, &e)),
            }
        })
    }

    fn list(&self, prefix: &Key) -> Result<Vec<Key>, StoreError> {
        let object_prefix = format!("{}/", self.object_key(prefix.as_str()));
        let strip = match self.prefix.as_str() {
            "" => String::new(),
            p => format!("{p}/"),
        };
        let names = self.rt.block_on(self.list_pages(&object_prefix))?;
        // Names no key can have (e.g. written by other tools) are skipped, as a local folder
        // skips its temporary files.
        let mut keys: Vec<Key> = names
            .iter()
            .filter_map(|n| n.strip_prefix(&strip))
            .filter_map(|n| Key::new(n).ok())
            .collect();
        keys.sort();
        Ok(keys)
    }

    fn location(&self, key: &Key) -> String {
        self.location_of(&self.object_key(key.as_str()))
    }

    fn put_file(&self, key: &Key, path: &Path) -> Result<(), StoreError> {
        let result = self.rt.block_on(async {
            let body = ByteStream::from_path(path)
                .await
                .map_err(|e| StoreError::Io {
                    op: "reading",
                    location: path.display().to_string(),
                    source: std::io::Error::other(e),
                })?;
            Ok(self.put_body(key, body, false).await)
        })?;
        match result {
            PutResult::Failed(e) => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(prefix: &str) -> S3Store {
        let mut settings = Settings::default();
        settings.aws.region = Some("us-east-1".into());
        settings.aws.endpoint_url = Some("http://127.0.0.1:9".into());
        S3Store::connect(&settings, "b", prefix).unwrap()
    }

    #[test]
    fn keys_map_under_the_prefix() {
        let k = Key::new("F/runs/r/run.json").unwrap();
        assert_eq!(store("p/q").location(&k), "s3://b/p/q/F/runs/r/run.json");
        assert_eq!(store("").location(&k), "s3://b/F/runs/r/run.json");
        assert_eq!(store("/p/").object_key("x"), "p/x");
    }

    #[test]
    fn unreachable_endpoint_is_an_error_naming_the_location() {
        let s = store("p");
        let e = s.get(&Key::new("k").unwrap()).unwrap_err().to_string();
        assert!(e.contains("s3://b/p/k"), "{e}");
        assert!(e.contains("GetObject"), "{e}");
    }
}
