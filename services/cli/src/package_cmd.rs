//! `pulse infra package`: build the deployment file's `crate` functions into Lambda zips with
//! cargo-lambda, upload the zips the package store lacks and record them in its manifest, so that
//! `pulse infra deploy --packages` (and the infra-reconciler in Lambda, asked from Slack) deploy
//! from S3 keys with no toolchain.
//!
//! The build uses cargo profile `lambda` (the workspace's `Cargo.toml` says why each setting is
//! there); `--profile lambda-ci` is CI's cheaper one. cargo-lambda and zig come from PyPI at the
//! versions `localstack/lib.sh` pins, installed into `.venv` by `./infra/lambda-toolchain`.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use clap::Args;
use pulse_infra_reconciler::kinds::ResourceSpec;
use pulse_infra_reconciler::kinds::lambda_code::{self, Build};
use pulse_infra_reconciler::packages::{self, PackageStore, Published, Zip};
use pulse_infra_reconciler::{Clients, StackConfig};

use crate::infra_cmd::{StackArgs, load};

#[derive(Debug, Args)]
pub struct PackageArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// The cargo profile to build with: `lambda` ships; `lambda-ci` is quicker to build and
    /// bigger.
    #[arg(long, value_name = "NAME", default_value = lambda_code::PROFILE)]
    pub profile: String,
    /// Only these crate binaries (all the file's `crate` functions when absent); repeatable.
    #[arg(long = "crate", value_name = "BIN")]
    pub crates: Vec<String>,
    /// Do not build: publish the zips already built with --profile (cargo-lambda's output for
    /// that profile, `target/lambda/<profile>/`), or the ones in `PULSE_LAMBDA_ZIP_DIR`, which
    /// are recorded as built with --profile.
    #[arg(long, conflicts_with = "build_only")]
    pub no_build: bool,
    /// Only build (and report the zips' sizes); upload nothing. No --packages needed.
    #[arg(long)]
    pub build_only: bool,
}

/// One crate binary to package, and how its functions are declared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Target {
    architecture: String,
    include_files: Vec<String>,
    krate: String,
}

pub async fn run(args: &PackageArgs) -> anyhow::Result<()> {
    let store = match (&args.stack.packages, args.build_only) {
        (Some(store), false) => Some(store.clone()),
        (None, false) => bail!("say where the packages go: --packages s3://BUCKET/PREFIX (or PULSE_LAMBDA_PACKAGES), or pass --build-only"),
        (_, true) => None,
    };
    if !args.stack.only.is_empty() {
        bail!("package takes --crate BIN to choose functions, not --only");
    }
    let stack = load(&args.stack)?;
    let targets = targets(&stack, &args.crates)?;
    let clients = match store {
        Some(_) => Some(Clients::from_env().await),
        None => None,
    };
    let mut built = Vec::new();
    let mut published = Vec::new();
    // One cargo-lambda run per architecture and set of included files; each group's zips are read
    // before the next group's build overwrites cargo-lambda's output.
    let mut groups: BTreeMap<(String, Vec<String>), Vec<String>> = BTreeMap::new();
    for t in &targets {
        groups.entry((t.architecture.clone(), t.include_files.clone())).or_default().push(t.krate.clone());
    }
    for ((architecture, include_files), bins) in &groups {
        if !args.no_build {
            eprintln!("building {} for {architecture} with cargo-lambda (profile {})", bins.join(", "), args.profile);
            lambda_code::build_crates(&Build { bins, arm64: architecture == "arm64", profile: &args.profile, include_files })
                .map_err(anyhow::Error::msg)?;
        }
        let zips = bins
            .iter()
            .map(|bin| {
                let path = lambda_code::crate_zip_path(bin, &args.profile);
                let bytes = std::fs::read(&path).with_context(|| {
                    format!("reading the zip of {bin} at {} (build it with profile {}: drop --no-build)", path.display(), args.profile)
                })?;
                Ok(Zip { krate: bin.clone(), architecture: architecture.clone(), profile: args.profile.clone(), bytes })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        match (&clients, &store) {
            (Some(clients), Some(store)) => published.extend(packages::publish(clients, store, &zips).await?),
            _ => built.extend(zips),
        }
    }
    match (&store, args.stack.json) {
        (Some(store), true) => {
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({"store": store.to_string(), "packages": published}))?)
        }
        (Some(store), false) => print!("{}", table(store, &published)),
        (None, json) => print!("{}", built_table(&built, json)),
    }
    Ok(())
}

/// The file's `crate` functions (each binary once per architecture), or the ones asked for.
fn targets(stack: &StackConfig, only: &[String]) -> anyhow::Result<Vec<Target>> {
    let mut targets: Vec<Target> = stack
        .resources
        .iter()
        .filter_map(|d| match &d.spec {
            ResourceSpec::Lambda(l) => l.krate.as_ref().map(|krate| Target {
                architecture: l.architecture.as_str().to_owned(),
                include_files: l.include_files.clone(),
                krate: krate.clone(),
            }),
            _ => None,
        })
        .filter(|t| only.is_empty() || only.contains(&t.krate))
        .collect();
    targets.sort();
    targets.dedup();
    for wanted in only {
        if !targets.iter().any(|t| &t.krate == wanted) {
            bail!("no function of {} is built from crate {wanted}", stack.origin);
        }
    }
    if targets.is_empty() {
        bail!("{} declares no `crate` function: nothing to package (pass the deployment file with --config)", stack.origin);
    }
    Ok(targets)
}

/// What was built (`--build-only`), a line per zip: where it is and its size.
fn built_table(built: &[Zip], json: bool) -> String {
    if json {
        let rows: Vec<_> = built
            .iter()
            .map(|z| {
                serde_json::json!({"crate": z.krate, "architecture": z.architecture, "profile": z.profile,
                    "size": z.bytes.len(), "path": lambda_code::crate_zip_path(&z.krate, &z.profile)})
            })
            .collect();
        return format!("{}\n", serde_json::Value::Array(rows));
    }
    let mut out = String::from("Lambda zips built:\n");
    for z in built {
        out += &format!(
            "  {:<18} {:<7} {:>8.2} MiB  {:<10} {}\n",
            z.krate,
            z.architecture,
            z.bytes.len() as f64 / (1024.0 * 1024.0),
            z.profile,
            lambda_code::crate_zip_path(&z.krate, &z.profile).display()
        );
    }
    out
}

/// What was published, a line per zip, sizes in MiB.
fn table(store: &PackageStore, published: &[Published]) -> String {
    let mut out = format!("Lambda packages in {store}:\n");
    for p in published {
        out += &format!(
            "  {:<18} {:<7} {:>8.2} MiB  {:<10} {}  {}\n",
            p.krate,
            p.architecture,
            p.packaged.size as f64 / (1024.0 * 1024.0),
            p.packaged.profile,
            p.packaged.key,
            if p.uploaded { "uploaded" } else { "already there" }
        );
    }
    let uploaded = published.iter().filter(|p| p.uploaded).count();
    out += &format!(
        "{} package(s): {uploaded} uploaded, {} already there; manifest s3://{}/{}\n",
        published.len(),
        published.len() - uploaded,
        store.bucket,
        store.manifest_key()
    );
    out
}
