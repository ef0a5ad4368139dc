//! The Rust types against `contracts/`: every example validates against its schema, parses, and
//! re-serializes to the same JSON; bad documents are refused with messages that name the type,
//! version and field.

#[path = "contracts/catalogue.rs"]
mod catalogue;
#[path = "contracts/compat.rs"]
mod compat;
#[path = "contracts/rejections.rs"]
mod rejections;
#[path = "contracts/wire.rs"]
mod wire;

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn contracts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts")
}

/// `ci.workflow.v1` → `("ci.workflow", 1)`.
fn split_label(label: &str) -> Option<(String, u32)> {
    let (event_type, version) = label.rsplit_once(".v")?;
    Some((event_type.to_owned(), version.parse().ok()?))
}

/// Every example on disk: (directory label, file, document).
fn examples() -> Vec<(String, PathBuf, Value)> {
    let mut out = Vec::new();
    let root = contracts_dir().join("examples");
    let mut dirs: Vec<_> = fs::read_dir(&root).expect("contracts/examples exists").map(|e| e.unwrap().path()).collect();
    dirs.sort();
    for dir in dirs {
        assert!(dir.is_dir(), "{} is not a directory: examples live in <type>.v<version>/", dir.display());
        let label = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let mut files: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files {
            assert_eq!(file.extension().and_then(|e| e.to_str()), Some("json"), "{}", file.display());
            let text = fs::read_to_string(&file).unwrap();
            let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            out.push((label.clone(), file, doc));
        }
    }
    out
}

fn example(label: &str, name: &str) -> Value {
    let path = contracts_dir().join("examples").join(label).join(name);
    serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap()
}
