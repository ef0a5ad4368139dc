//! A Lambda's code package: where its zip comes from, the zip's bytes and the base64 SHA-256 that
//! Lambda reports as `CodeSha256` (praktika's rule: upload only when they differ).
//!
//! Sources, in the order a `Lambda` declaration is read:
//! - `path` to a `.zip`: used as is;
//! - `path` to a directory: zipped here, with `include_files`, deterministically (sorted entries,
//!   fixed timestamps), so the same tree always has the same SHA and a redeploy uploads nothing;
//! - `crate` (a binary of this workspace), with a package store (`--packages`,
//!   [`crate::packages`]): the zip `pulse infra package` put there, deployed from its S3 key;
//! - `crate` without one: cargo-lambda's `bootstrap.zip`, looked up in
//!   `$PULSE_LAMBDA_ZIP_DIR/<bin>.zip` (prebuilt artifacts, e.g. from CI) or
//!   `$CARGO_TARGET_DIR/lambda/lambda/<bin>/bootstrap.zip`; built with
//!   `cargo lambda build --profile lambda --output-format zip --bin <bin>` at deploy time when
//!   missing. Plans never build: a missing crate zip plans as a code change.
//!
//! Each profile's zips have their own directory, `$CARGO_TARGET_DIR/lambda/<profile>/` (cargo-lambda's
//! `--lambda-dir`): cargo-lambda's default puts every profile's zip in the same place, so a zip
//! built by CI's quick `lambda-ci` profile would be deployed, or published labelled `lambda`, by
//! whoever looked next. A zip found in a profile's directory was built with that profile.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::FunctionCode;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The cargo profile Lambda zips are built with (the workspace's `Cargo.toml` declares it).
pub const PROFILE: &str = "lambda";

/// A function's code as a deploy sends it.
#[derive(Debug, Clone)]
pub enum Code {
    /// A zip sent with the call.
    Zip(Package),
    /// A zip in the package store, named in the call (Lambda reads it from S3).
    S3 { bucket: String, key: String, sha256: String },
}

impl Code {
    /// Lambda's `CodeSha256` of it.
    pub fn sha256(&self) -> &str {
        match self {
            Code::Zip(p) => &p.sha256,
            Code::S3 { sha256, .. } => sha256,
        }
    }

    /// As `CreateFunction` takes it.
    pub fn function_code(&self) -> FunctionCode {
        match self {
            Code::Zip(p) => FunctionCode::builder().zip_file(Blob::new(p.bytes.clone())).build(),
            Code::S3 { bucket, key, .. } => FunctionCode::builder().s3_bucket(bucket).s3_key(key).build(),
        }
    }
}

/// A code package ready to upload.
#[derive(Clone)]
pub struct Package {
    pub bytes: Vec<u8>,
    /// base64(SHA-256(bytes)), as Lambda's `CodeSha256`.
    pub sha256: String,
}

impl std::fmt::Debug for Package {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Package({} bytes, {})", self.bytes.len(), self.sha256)
    }
}

impl Package {
    pub fn new(bytes: Vec<u8>) -> Self {
        let sha256 = code_sha256(&bytes);
        Self { bytes, sha256 }
    }
}

/// Lambda's `CodeSha256` of a zip.
pub fn code_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// Why a package is not available (yet).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageError {
    /// The crate's zip has not been built; a deploy builds it.
    #[error("the zip of crate binary `{bin}` is not built yet (expected at {})", expected.display())]
    NotBuilt { bin: String, expected: PathBuf },
    #[error("{0}")]
    Unavailable(String),
}

/// `PULSE_LAMBDA_ZIP_DIR`, read where a package is looked for (deep in a plan, where no settings
/// are passed; the CLI and the service both declare it).
fn zip_dir() -> Option<String> {
    pulse_core::Settings::from_env().text(&crate::settings::PULSE_LAMBDA_ZIP_DIR).ok().flatten()
}

/// Where a crate binary's zip built with `profile` is (or will be after a build). With
/// `PULSE_LAMBDA_ZIP_DIR` the operator's `<bin>.zip`, whatever built it.
pub fn crate_zip_path(bin: &str, profile: &str) -> PathBuf {
    if let Some(dir) = zip_dir() {
        return Path::new(&dir).join(format!("{bin}.zip"));
    }
    profile_dir(profile).join(bin).join("bootstrap.zip")
}

/// Where cargo-lambda puts the zips of one profile: `$CARGO_TARGET_DIR/lambda/<profile>`.
fn profile_dir(profile: &str) -> PathBuf {
    let target =
        pulse_core::Settings::from_env().text(&crate::settings::CARGO_TARGET_DIR).ok().flatten().unwrap_or_else(|| "target".to_owned());
    Path::new(&target).join("lambda").join(profile)
}

/// Read (or zip) the package of a `path` source.
pub fn from_path(path: &Path, include_files: &[String]) -> Result<Package, PackageError> {
    let meta = std::fs::metadata(path).map_err(|e| PackageError::Unavailable(format!("code path {}: {e}", path.display())))?;
    if meta.is_dir() {
        let mut files = Vec::new();
        collect(path, path, &mut files).map_err(|e| PackageError::Unavailable(format!("reading {}: {e}", path.display())))?;
        for extra in include_files {
            let p = Path::new(extra);
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| extra.clone());
            let data = std::fs::read(p).map_err(|e| PackageError::Unavailable(format!("include file {extra}: {e}")))?;
            files.push((name, data));
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files.dedup_by(|a, b| a.0 == b.0);
        return Ok(Package::new(zip(&files).map_err(|e| PackageError::Unavailable(format!("zipping: {e}")))?));
    }
    let bytes = std::fs::read(path).map_err(|e| PackageError::Unavailable(format!("code path {}: {e}", path.display())))?;
    Ok(Package::new(bytes))
}

/// The package of a crate binary, if built.
pub fn from_crate(bin: &str) -> Result<Package, PackageError> {
    let expected = crate_zip_path(bin, PROFILE);
    match std::fs::read(&expected) {
        Ok(bytes) => Ok(Package::new(bytes)),
        Err(_) => Err(PackageError::NotBuilt { bin: bin.to_owned(), expected }),
    }
}

/// Build a crate binary's zip with cargo-lambda at deploy time (no package store).
pub fn build_crate(bin: &str, arm64: bool, include_files: &[String]) -> Result<(), String> {
    // Prebuilt packages are the operator's to provide: cargo-lambda writes elsewhere.
    if let Some(dir) = zip_dir() {
        return Err(format!(
            "{bin}.zip is not in PULSE_LAMBDA_ZIP_DIR ({dir}): build it with `cargo lambda build --profile {PROFILE} --output-format zip --bin {bin}` and copy its target/lambda/{bin}/bootstrap.zip there as {bin}.zip"
        ));
    }
    build_crates(&Build { bins: &[bin.to_owned()], arm64, profile: PROFILE, include_files })
}

/// What one cargo-lambda run builds: binaries of one architecture with the same included files.
#[derive(Debug, Clone, Copy)]
pub struct Build<'a> {
    pub bins: &'a [String],
    pub arm64: bool,
    /// The cargo profile ([`PROFILE`] ships).
    pub profile: &'a str,
    pub include_files: &'a [String],
}

/// Build zips with cargo-lambda for `provided.al2023`, cross-linked by zig against the glibc
/// Amazon Linux has, into the profile's own directory ([`crate_zip_path`]). cargo-lambda is
/// looked up in the project's virtualenv (`PULSE_VENV`, default `.venv`, where
/// `./infra/lambda-toolchain` installs it and zig), then on `PATH`; the virtualenv's `bin` goes
/// first on the build's `PATH` so cargo-lambda finds that zig. `--disable-optimizations` keeps
/// cargo-lambda's own release settings out: the profile says everything.
pub fn build_crates(build: &Build<'_>) -> Result<(), String> {
    let settings = pulse_core::Settings::from_env();
    let venv = settings.text(&crate::settings::PULSE_VENV).ok().flatten().unwrap_or_else(|| ".venv".to_owned());
    let venv = Path::new(&venv).join("bin");
    let program = if venv.join("cargo-lambda").exists() { venv.join("cargo-lambda") } else { PathBuf::from("cargo-lambda") };
    let mut cmd = Command::new(&program);
    cmd.args(["lambda", "build", "--profile", build.profile, "--disable-optimizations", "--output-format", "zip"]);
    cmd.arg("--lambda-dir").arg(profile_dir(build.profile));
    cmd.arg(if build.arm64 { "--arm64" } else { "--x86-64" });
    for bin in build.bins {
        cmd.args(["--bin", bin]);
    }
    for f in build.include_files {
        cmd.args(["--include", f]);
    }
    if venv.is_dir() {
        let path = settings.text(&crate::settings::PATH).ok().flatten().unwrap_or_default();
        let venv = venv.canonicalize().unwrap_or_else(|_| venv.to_path_buf());
        let joined = std::env::join_paths(std::iter::once(venv).chain(std::env::split_paths(&path))).map_err(|e| e.to_string())?;
        cmd.env("PATH", joined);
    }
    tracing::info!(bins = ?build.bins, profile = build.profile, "building Lambda zips with cargo-lambda");
    let status = cmd.status().map_err(|e| {
        format!(
            "cannot run {} ({e}); install it and zig with `./infra/lambda-toolchain`, or prebuild the zips into PULSE_LAMBDA_ZIP_DIR",
            program.display()
        )
    })?;
    if !status.success() {
        return Err(format!("cargo lambda build --bin {} failed ({status})", build.bins.join(" --bin ")));
    }
    Ok(())
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else {
            let name = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            out.push((name, std::fs::read(&path)?));
        }
    }
    Ok(())
}

/// A deflated zip of `files` with fixed timestamps (1980-01-01) and mode 0755, so the bytes
/// depend only on names and contents.
pub fn zip(files: &[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data)?;
        let packed = enc.finish()?;
        let offset = out.len() as u32;
        let header = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend(sig.to_le_bytes());
            if central {
                h.extend(0x031e_u16.to_le_bytes()); // made by: Unix, spec 3.0
            }
            h.extend(20_u16.to_le_bytes()); // version needed
            h.extend(0_u16.to_le_bytes()); // flags
            h.extend(8_u16.to_le_bytes()); // deflate
            h.extend(0_u16.to_le_bytes()); // time
            h.extend(0x21_u16.to_le_bytes()); // date 1980-01-01
            h.extend(crc.sum().to_le_bytes());
            h.extend((packed.len() as u32).to_le_bytes());
            h.extend((data.len() as u32).to_le_bytes());
            h.extend((name.len() as u16).to_le_bytes());
            h.extend(0_u16.to_le_bytes()); // extra
            if central {
                h.extend(0_u16.to_le_bytes()); // comment
                h.extend(0_u16.to_le_bytes()); // disk
                h.extend(0_u16.to_le_bytes()); // internal attrs
                h.extend(((0o100755_u32) << 16).to_le_bytes()); // external attrs: -rwxr-xr-x
                h.extend(offset.to_le_bytes());
            }
            h.extend(name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend(&packed);
        central.extend(header(0x0201_4b50, true));
    }
    let cd_offset = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50_u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((files.len() as u16).to_le_bytes());
    out.extend((files.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0_u16.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sha_is_lambdas_and_directories_zip_deterministically() {
        // Lambda's CodeSha256 of the empty input, as AWS spells it.
        assert_eq!(code_sha256(b""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        let dir = std::env::temp_dir().join(format!("pulse-lambda-code-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("lib")).unwrap();
        std::fs::write(dir.join("bootstrap"), b"#!/bin/sh\necho hi\n").unwrap();
        std::fs::write(dir.join("lib/data.txt"), b"data").unwrap();
        let extra = dir.with_extension("extra.json");
        std::fs::write(&extra, b"{}").unwrap();
        let include = vec![extra.display().to_string()];
        let a = from_path(&dir, &include).unwrap();
        let b = from_path(&dir, &include).unwrap();
        assert_eq!(a.sha256, b.sha256);
        let names = String::from_utf8_lossy(&a.bytes);
        assert!(names.contains("bootstrap") && names.contains("lib/data.txt") && names.contains("extra.json"));
        std::fs::write(dir.join("lib/data.txt"), b"data2").unwrap();
        assert_ne!(from_path(&dir, &include).unwrap().sha256, a.sha256);
        let missing = from_crate("surely-not-built-binary").unwrap_err();
        assert!(matches!(missing, PackageError::NotBuilt { .. }));
    }
}
