//! The walls of ARCHITECTURE.md, checked: each crate depends only on the pivotlog crates
//! its row allows, only the binary's `query` and `standalone` commands import the query
//! crate, and no non-test source file outgrows a reader (800 lines).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// (crate directory, the pivotlog crates its `[dependencies]` may name).
const WALLS: &[(&str, &[&str])] = &[
    ("proto", &[]),
    ("index", &["pivotlog-proto"]),
    ("services/publisher", &["pivotlog-proto"]),
    ("services/indexer", &["pivotlog-proto", "pivotlog-index"]),
    ("services/serve", &["pivotlog-index"]),
    (
        "services/shard",
        &["pivotlog-proto", "pivotlog-index", "pivotlog-serve"],
    ),
    (
        "services/query",
        &[
            "pivotlog-proto",
            "pivotlog-index",
            "pivotlog-serve",
            "pivotlog-shard",
        ],
    ),
];

const MAX_SOURCE_LINES: usize = 800;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The pivotlog crates named in a manifest's `[dependencies]` table.
fn pivotlog_dependencies(manifest: &str) -> BTreeSet<String> {
    let mut in_dependencies = false;
    let mut found = BTreeSet::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
        } else if in_dependencies && line.starts_with("pivotlog-") {
            let name = line.split(['.', ' ', '=']).next().unwrap_or_default();
            found.insert(name.to_owned());
        }
    }
    found
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn crates_depend_only_downstream() {
    for (dir, allowed) in WALLS {
        let manifest = std::fs::read_to_string(workspace().join(dir).join("Cargo.toml")).unwrap();
        let allowed: BTreeSet<String> = allowed.iter().map(|name| name.to_string()).collect();
        let used = pivotlog_dependencies(&manifest);
        let beyond: Vec<&String> = used.difference(&allowed).collect();
        assert!(
            beyond.is_empty(),
            "{dir} depends on {beyond:?}; ARCHITECTURE.md allows {allowed:?}"
        );
    }
}

#[test]
fn only_the_query_commands_import_the_query_crate() {
    let src = workspace().join("services/pivotlog/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for file in files {
        let relative = file.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        if ["cmd/query.rs", "cmd/standalone.rs"].contains(&relative.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("pivotlog_query"),
            "{relative} imports the query crate"
        );
    }
}

#[test]
fn no_source_file_outgrows_a_reader() {
    let mut files = Vec::new();
    for dir in WALLS.iter().map(|(dir, _)| *dir).chain(["services/pivotlog"]) {
        let src = workspace().join(dir).join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    rust_files(&workspace().join("benches"), &mut files);
    for file in files {
        let lines = std::fs::read_to_string(&file).unwrap().lines().count();
        let is_test = file.components().any(|part| part.as_os_str() == "tests")
            || file.file_name().is_some_and(|name| name == "tests.rs");
        assert!(
            is_test || lines <= MAX_SOURCE_LINES,
            "{} has {lines} lines (at most {MAX_SOURCE_LINES})",
            file.display()
        );
    }
}
