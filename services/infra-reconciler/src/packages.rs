//! Lambda packages in S3: where `pulse infra package` puts the functions' zips, and where plans and
//! deploys take them from, so that a deploy needs no toolchain (the infra-reconciler running in
//! Lambda, asked from Slack, has no cargo).
//!
//! The layout under `s3://BUCKET/PREFIX/`:
//! - `<crate>/<architecture>/<sha256 hex>.zip`: one object per distinct zip, named by its content,
//!   so an upload is idempotent and a zip already there is never uploaded again;
//! - `manifest.json`: for each crate binary and architecture, the object its functions run now
//!   (key, Lambda's `CodeSha256`, size, the cargo profile it was built with). Plans compare a
//!   function's `CodeSha256` with it; deploys point `CreateFunction`/`UpdateFunctionCode` at the
//!   key. It is written after the zips, so it never names a missing object.
//!
//! With no store set (`--packages` / `PULSE_LAMBDA_PACKAGES`), `crate` functions are deployed from
//! local zips as before ([`super::kinds::lambda_code`]).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clients::Clients;
use crate::error::{Error, Result, error_is};
use crate::kinds::lambda_code::code_sha256;

/// The manifest's name under the store's prefix.
pub const MANIFEST: &str = "manifest.json";

/// Where the packages live: `s3://BUCKET[/PREFIX]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackageStore {
    pub bucket: String,
    /// Without leading or trailing slashes; may be empty.
    pub prefix: String,
}

impl FromStr for PackageStore {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let rest = s.trim().strip_prefix("s3://").ok_or_else(|| format!("{s:?} is not an S3 location such as s3://my-bucket/lambda"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid =
            (3..=63).contains(&bucket.len()) && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c));
        if !valid {
            return Err(format!("{bucket:?} is not an S3 bucket name (3 to 63 of a-z 0-9 . -)"));
        }
        Ok(Self { bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned() })
    }
}

impl fmt::Display for PackageStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix.as_str() {
            "" => write!(f, "s3://{}", self.bucket),
            prefix => write!(f, "s3://{}/{prefix}", self.bucket),
        }
    }
}

impl PackageStore {
    fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() { name.to_owned() } else { format!("{}/{name}", self.prefix) }
    }

    /// The manifest's key.
    pub fn manifest_key(&self) -> String {
        self.key(MANIFEST)
    }

    /// The content-addressed key of a zip.
    pub fn zip_key(&self, krate: &str, architecture: &str, bytes: &[u8]) -> String {
        self.key(&format!("{krate}/{architecture}/{}.zip", hex(&Sha256::digest(bytes))))
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::Packages { store: self.to_string(), message: message.into() }
    }
}

/// One packaged zip, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packaged {
    /// The object's key in the store's bucket.
    pub key: String,
    /// base64(SHA-256(zip)), as Lambda reports `CodeSha256`.
    pub code_sha256: String,
    /// The zip's size in bytes.
    pub size: u64,
    /// The cargo profile it was built with (`lambda` for what ships).
    pub profile: String,
}

/// What the store's functions run now: crate binary → architecture → zip.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub functions: BTreeMap<String, BTreeMap<String, Packaged>>,
}

impl Manifest {
    pub fn find(&self, krate: &str, architecture: &str) -> Option<&Packaged> {
        self.functions.get(krate)?.get(architecture)
    }
}

/// A store and its manifest, as a plan read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packages {
    pub store: PackageStore,
    pub manifest: Manifest,
}

/// Why a crate function has no package in the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Missing {
    #[error("crate {krate} is not packaged in {store} (run `pulse infra package --packages {store}`)")]
    Crate { krate: String, store: String },
    #[error("crate {krate} is packaged in {store} for {packaged}, not {wanted} (run `pulse infra package` again)")]
    Architecture { krate: String, store: String, packaged: String, wanted: String },
}

impl Packages {
    /// The zip `krate` runs on `architecture`.
    pub fn find(&self, krate: &str, architecture: &str) -> std::result::Result<&Packaged, Missing> {
        let store = self.store.to_string();
        match self.manifest.functions.get(krate) {
            None => Err(Missing::Crate { krate: krate.to_owned(), store }),
            Some(by_arch) => by_arch.get(architecture).ok_or_else(|| Missing::Architecture {
                krate: krate.to_owned(),
                store,
                packaged: by_arch.keys().cloned().collect::<Vec<_>>().join(", "),
                wanted: architecture.to_owned(),
            }),
        }
    }
}

/// Read the store's manifest (an absent one is empty: nothing packaged yet).
pub async fn load(clients: &Clients, store: &PackageStore) -> Result<Packages> {
    let got = clients.s3.get_object().bucket(&store.bucket).key(store.manifest_key()).send().await;
    let manifest = match got {
        Ok(out) => {
            let bytes = out.body.collect().await.map_err(|e| store.error(format!("reading {}: {e}", store.manifest_key())))?;
            serde_json::from_slice(&bytes.into_bytes())
                .map_err(|e| store.error(format!("{} is not a packages manifest: {e}", store.manifest_key())))?
        }
        Err(err) if error_is(&err, &["NoSuchKey", "NoSuchBucket", "404"]) => Manifest::default(),
        Err(err) => return Err(store.error(format!("reading {}: {}", store.manifest_key(), aws_sdk_s3::error::DisplayErrorContext(&err)))),
    };
    Ok(Packages { store: store.clone(), manifest })
}

/// A zip to publish: what cargo-lambda built for one crate binary.
#[derive(Debug, Clone)]
pub struct Zip {
    pub krate: String,
    pub architecture: String,
    pub profile: String,
    pub bytes: Vec<u8>,
}

/// What publishing did with one zip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    #[serde(rename = "crate")]
    pub krate: String,
    pub architecture: String,
    #[serde(flatten)]
    pub packaged: Packaged,
    /// False when the store already held this very zip.
    pub uploaded: bool,
}

/// Upload the zips the store lacks (by content: a zip already there is not sent again), then
/// record them in the manifest (written only when it changes). Creates the bucket if absent.
pub async fn publish(clients: &Clients, store: &PackageStore, zips: &[Zip]) -> Result<Vec<Published>> {
    ensure_bucket(clients, store).await?;
    let mut current = load(clients, store).await?;
    let before = current.manifest.clone();
    let mut published = Vec::new();
    for zip in zips {
        let key = store.zip_key(&zip.krate, &zip.architecture, &zip.bytes);
        let exists = match clients.s3.head_object().bucket(&store.bucket).key(&key).send().await {
            Ok(_) => true,
            Err(err) if error_is(&err, &["NotFound", "NoSuchKey", "404"]) => false,
            Err(err) => return Err(store.error(format!("looking for {key}: {}", aws_sdk_s3::error::DisplayErrorContext(&err)))),
        };
        if !exists {
            clients
                .s3
                .put_object()
                .bucket(&store.bucket)
                .key(&key)
                .content_type("application/zip")
                .body(ByteStream::from(zip.bytes.clone()))
                .send()
                .await
                .map_err(|e| store.error(format!("uploading {key}: {}", aws_sdk_s3::error::DisplayErrorContext(&e))))?;
        }
        let packaged = Packaged { key, code_sha256: code_sha256(&zip.bytes), size: zip.bytes.len() as u64, profile: zip.profile.clone() };
        current.manifest.functions.entry(zip.krate.clone()).or_default().insert(zip.architecture.clone(), packaged.clone());
        published.push(Published { krate: zip.krate.clone(), architecture: zip.architecture.clone(), packaged, uploaded: !exists });
    }
    if current.manifest != before {
        let body = serde_json::to_vec_pretty(&current.manifest).expect("a manifest serialises");
        clients
            .s3
            .put_object()
            .bucket(&store.bucket)
            .key(store.manifest_key())
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| store.error(format!("writing {}: {}", store.manifest_key(), aws_sdk_s3::error::DisplayErrorContext(&e))))?;
    }
    Ok(published)
}

/// The bucket, created (private, in the clients' region) when it does not exist yet: like a
/// deployment tool's bootstrap bucket, it must exist before the functions that read from it.
async fn ensure_bucket(clients: &Clients, store: &PackageStore) -> Result<()> {
    match clients.s3.head_bucket().bucket(&store.bucket).send().await {
        Ok(_) => return Ok(()),
        Err(err) if error_is(&err, &["NotFound", "NoSuchBucket", "404"]) => {}
        Err(err) => return Err(store.error(format!("looking for the bucket: {}", aws_sdk_s3::error::DisplayErrorContext(&err)))),
    }
    let mut create = clients.s3.create_bucket().bucket(&store.bucket);
    if let Some(region) = clients.s3.config().region().map(|r| r.to_string()).filter(|r| r != "us-east-1") {
        use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::from(region.as_str())).build(),
        );
    }
    create.send().await.map_err(|e| store.error(format!("creating the bucket: {}", aws_sdk_s3::error::DisplayErrorContext(&e))))?;
    tracing::info!(bucket = %store.bucket, "created the Lambda packages bucket");
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_is_an_s3_location() {
        let store: PackageStore = "s3://pulse-packages/lambda/".parse().unwrap();
        assert_eq!((store.bucket.as_str(), store.prefix.as_str()), ("pulse-packages", "lambda"));
        assert_eq!(store.to_string(), "s3://pulse-packages/lambda");
        assert_eq!(store.manifest_key(), "lambda/manifest.json");
        let root: PackageStore = "s3://pulse-packages".parse().unwrap();
        assert_eq!((root.manifest_key().as_str(), root.to_string().as_str()), ("manifest.json", "s3://pulse-packages"));
        assert!("pulse-packages/lambda".parse::<PackageStore>().unwrap_err().contains("not an S3 location"));
        assert!("s3://Pulse_Packages".parse::<PackageStore>().unwrap_err().contains("not an S3 bucket name"));
    }

    #[test]
    fn a_zip_is_named_by_its_content() {
        let store: PackageStore = "s3://bkt/p".parse().unwrap();
        let a = store.zip_key("ingress", "x86_64", b"one");
        assert_eq!(a, store.zip_key("ingress", "x86_64", b"one"));
        assert_ne!(a, store.zip_key("ingress", "x86_64", b"two"));
        assert!(a.starts_with("p/ingress/x86_64/") && a.ends_with(".zip") && a.len() == "p/ingress/x86_64/".len() + 64 + 4, "{a}");
    }

    #[test]
    fn a_missing_package_says_what_to_run() {
        let packaged = Packaged { key: "k".into(), code_sha256: "s".into(), size: 1, profile: "lambda".into() };
        let mut manifest = Manifest::default();
        manifest.functions.entry("ingress".into()).or_default().insert("arm64".into(), packaged.clone());
        let packages = Packages { store: "s3://bkt/p".parse().unwrap(), manifest };
        assert_eq!(packages.find("ingress", "arm64"), Ok(&packaged));
        let other = packages.find("notifier", "arm64").unwrap_err().to_string();
        assert_eq!(other, "crate notifier is not packaged in s3://bkt/p (run `pulse infra package --packages s3://bkt/p`)");
        let arch = packages.find("ingress", "x86_64").unwrap_err().to_string();
        assert!(arch.contains("packaged in s3://bkt/p for arm64, not x86_64"), "{arch}");
    }
}
