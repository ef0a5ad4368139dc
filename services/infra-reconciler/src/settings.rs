//! The infra-reconciler's configuration: what it reads from the environment, declared once (see
//! `pulse_core::settings`). The CLI's `pulse infra` runs the same code and reads the same.

use pulse_core::settings::Var;

pub const PULSE_DEPLOY_CONFIG: Var = Var::new(
    "PULSE_DEPLOY_CONFIG",
    "a path to a deployment file",
    "What the infra-reconciler service deploys on `deploy.requested`; unset means the built-in `infra/examples/pulse-deployment.json`.",
);

pub const PULSE_LAMBDA_ZIP_DIR: Var = Var::new(
    "PULSE_LAMBDA_ZIP_DIR",
    "a directory",
    "Where prebuilt `<bin>.zip` packages of `crate` functions are; unset means cargo-lambda's output under the target directory.",
);

pub const PULSE_LAMBDA_PACKAGES: Var = Var::new(
    "PULSE_LAMBDA_PACKAGES",
    "an S3 location (`s3://BUCKET/PREFIX`)",
    "The Lambda package store `pulse infra package` fills: `crate` functions are deployed from its S3 keys, never built (a deploy from Slack has no toolchain). Unset: local zips.",
);

pub const PULSE_VENV: Var = Var::new(
    "PULSE_VENV",
    "a directory",
    "The virtualenv holding cargo-lambda and zig (`./infra/lambda-toolchain` installs them there), looked in before `PATH`.",
)
.default(".venv");

pub const PATH: Var = Var::new(
    "PATH",
    "a list of directories",
    "Where cargo-lambda is looked up after `PULSE_VENV`; its builds run with the virtualenv's `bin` first on it (so cargo-lambda finds that zig).",
);

pub const CARGO_TARGET_DIR: Var = Var::new(
    "CARGO_TARGET_DIR",
    "a directory",
    "Cargo's target directory, where cargo-lambda writes `lambda/<profile>/<bin>/bootstrap.zip`.",
)
.default("target");

/// Where `crate` functions' packages are.
pub fn declared_packages() -> Vec<Var> {
    vec![PULSE_LAMBDA_PACKAGES, PULSE_LAMBDA_ZIP_DIR, PULSE_VENV, PATH, CARGO_TARGET_DIR]
}

/// Every variable the infra-reconciler service reads.
pub fn declared() -> Vec<Var> {
    let mut vars = vec![PULSE_DEPLOY_CONFIG];
    vars.extend(declared_packages());
    vars.extend(pulse_aws::settings::declared());
    vars.extend(pulse_runtime::settings::declared());
    vars
}
