//! Where media bytes live: a local folder by default, any S3-compatible store by configuration.
//! Writes stream in parts, so memory grows with the number of uploads, never with file size.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};

/// Where the store is.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A folder on this machine (created if missing).
    Folder(std::path::PathBuf),
    /// A bucket of an S3-compatible service.
    S3 {
        bucket: String,
        /// The service's address; `None` is AWS itself.
        endpoint: Option<String>,
        region: String,
        access_key_id: String,
        secret_access_key: String,
    },
}

/// Never shows the secret key.
impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Folder(path) => f.debug_tuple("Folder").field(path).finish(),
            Location::S3 {
                bucket,
                endpoint,
                region,
                ..
            } => f
                .debug_struct("S3")
                .field("bucket", bucket)
                .field("endpoint", endpoint)
                .field("region", region)
                .finish_non_exhaustive(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no such object")]
    NotFound,
    #[error("object store: {0}")]
    Other(#[from] object_store::Error),
    #[error("object store: {0}")]
    Io(#[from] std::io::Error),
}

fn classify(error: object_store::Error) -> StoreError {
    match error {
        object_store::Error::NotFound { .. } => StoreError::NotFound,
        other => StoreError::Other(other),
    }
}

/// Parts of a streamed write to S3: 5 MiB is its smallest part.
const S3_PART_SIZE: usize = 5 * 1024 * 1024;
/// Parts of a streamed write to a folder, which takes parts of any size.
const FOLDER_PART_SIZE: usize = 1024 * 1024;
/// Parts in flight per write: with one part filling, at most three parts of one upload are in
/// memory at once.
const PARTS_IN_FLIGHT: usize = 2;

#[derive(Clone, Debug)]
pub struct MediaStore {
    inner: Arc<dyn ObjectStore>,
    part_size: usize,
}

/// An object being read: its bytes (or the asked range of them) and its whole size.
pub struct Reading {
    pub size: u64,
    pub range: Range<u64>,
    pub body: BoxStream<'static, Result<Bytes, StoreError>>,
}

impl MediaStore {
    pub fn open(location: &Location) -> Result<MediaStore, StoreError> {
        let (inner, part_size): (Arc<dyn ObjectStore>, usize) = match location {
            Location::Folder(path) => {
                std::fs::create_dir_all(path)?;
                // Empty folders left by deleted objects go too.
                let folder = LocalFileSystem::new_with_prefix(path)?.with_automatic_cleanup(true);
                (Arc::new(folder), FOLDER_PART_SIZE)
            }
            Location::S3 {
                bucket,
                endpoint,
                region,
                access_key_id,
                secret_access_key,
            } => {
                let mut builder = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(access_key_id)
                    .with_secret_access_key(secret_access_key);
                if let Some(endpoint) = endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                (Arc::new(builder.build()?), S3_PART_SIZE)
            }
        };
        Ok(MediaStore { inner, part_size })
    }

    /// Starts a streamed write to `key`; nothing is visible there until [`Writer::finish`].
    pub async fn writer(&self, key: &str) -> Result<Writer, StoreError> {
        let upload = self.inner.put_multipart(&Path::from(key)).await?;
        Ok(Writer {
            upload: WriteMultipart::new_with_chunk_size(upload, self.part_size),
            written: 0,
        })
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.inner.put(&Path::from(key), bytes.into()).await?;
        Ok(())
    }

    /// Reads `key`, or the bytes of it in `range` (clamped to its end).
    pub async fn read(&self, key: &str, range: Option<Range<u64>>) -> Result<Reading, StoreError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self
            .inner
            .get_opts(&Path::from(key), options)
            .await
            .map_err(classify)?;
        Ok(Reading {
            size: result.meta.size,
            range: result.range.clone(),
            body: result
                .into_stream()
                .map(|chunk| chunk.map_err(classify))
                .boxed(),
        })
    }

    /// The whole object, for files small enough to hold (images being re-encoded).
    pub async fn read_all(&self, key: &str) -> Result<Bytes, StoreError> {
        let result = self.inner.get(&Path::from(key)).await.map_err(classify)?;
        result.bytes().await.map_err(classify)
    }

    pub async fn size(&self, key: &str) -> Result<u64, StoreError> {
        let meta = self.inner.head(&Path::from(key)).await.map_err(classify)?;
        Ok(meta.size)
    }

    /// Deletes `key`; one already gone counts as deleted.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.inner.delete(&Path::from(key)).await.map_err(classify) {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(error) => Err(error),
        }
    }

    pub async fn rename(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.inner
            .rename(&Path::from(from), &Path::from(to))
            .await
            .map_err(classify)
    }

    /// Every key under `prefix` (tests check that nothing was left behind).
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let prefix = Path::from(prefix);
        let mut keys = Vec::new();
        let mut listing = self.inner.list(Some(&prefix));
        while let Some(meta) = listing.next().await {
            keys.push(meta?.location.to_string());
        }
        Ok(keys)
    }
}

/// A streamed write in progress. Dropping it without [`Writer::finish`] leaves nothing visible,
/// but [`Writer::abort`] also frees the parts an S3 store already holds.
pub struct Writer {
    upload: WriteMultipart,
    written: u64,
}

impl Writer {
    /// Adds bytes, waiting while too many parts are still being sent.
    pub async fn write(&mut self, bytes: Bytes) -> Result<(), StoreError> {
        self.upload.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        self.written += bytes.len() as u64;
        self.upload.put(bytes);
        Ok(())
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub async fn finish(self) -> Result<u64, StoreError> {
        self.upload.finish().await?;
        Ok(self.written)
    }

    pub async fn abort(self) {
        if let Err(error) = self.upload.abort().await {
            tracing::warn!(%error, "could not abort a media upload");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn streams_in_reads_ranges_and_deletes() {
        let folder = tempfile::tempdir().unwrap();
        let store = MediaStore::open(&Location::Folder(folder.path().join("media"))).unwrap();
        let mut writer = store.writer("media/1").await.unwrap();
        for chunk in [&b"hello, "[..], b"world"] {
            writer.write(Bytes::copy_from_slice(chunk)).await.unwrap();
        }
        assert_eq!(writer.finish().await.unwrap(), 12);
        assert_eq!(store.size("media/1").await.unwrap(), 12);
        let reading = store.read("media/1", Some(7..12)).await.unwrap();
        assert_eq!((reading.size, reading.range.clone()), (12, 7..12));
        let bytes: Vec<Bytes> = reading.body.map(Result::unwrap).collect().await;
        assert_eq!(bytes.concat(), b"world");
        assert_eq!(
            &store.read_all("media/1").await.unwrap()[..],
            b"hello, world"
        );

        let mut abandoned = store.writer("media/2").await.unwrap();
        abandoned.write(Bytes::from_static(b"half")).await.unwrap();
        abandoned.abort().await;
        assert_eq!(store.list("").await.unwrap(), ["media/1"]);

        store.delete("media/1").await.unwrap();
        store.delete("media/1").await.unwrap();
        assert!(matches!(
            store.read("media/1", None).await,
            Err(StoreError::NotFound)
        ));
        assert!(store.list("").await.unwrap().is_empty());
    }
}
