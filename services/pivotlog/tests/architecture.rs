//! The walls of ARCHITECTURE.md, checked: each crate depends only on the pivotlog crates
//! its row allows, only the binary's `query` and `standalone` commands import the query
//! crate, no crate's top-level modules name each other in a cycle, and no non-test
//! source file outgrows a reader (800 lines).

use std::collections::{BTreeMap, BTreeSet};
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

/// Each top-level module of the crate in `src` (a file, or a directory with its
/// children) and the other top-level modules it names as `crate::name` (in code or in a
/// doc link), its test module left out.
fn module_references(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut modules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = top.trim_end_matches(".rs").to_owned();
        if top == "lib" || top == "main" || file.file_name().is_some_and(|name| name == "tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let named = modules.entry(top.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let name: String = code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name != top && !name.is_empty() {
                named.insert(name);
            }
        }
    }
    modules
}

/// A cycle among `references` (as the modules along it), if there is one.
fn find_cycle(references: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        references: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|seen| seen == module) {
            let mut cycle = path[start..].to_vec();
            cycle.push(module.to_owned());
            return Some(cycle);
        }
        if !done.insert(module.to_owned()) {
            return None;
        }
        path.push(module.to_owned());
        for next in references.get(module).into_iter().flatten() {
            if references.contains_key(next) {
                if let Some(cycle) = visit(next, references, path, done) {
                    return Some(cycle);
                }
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    references
        .keys()
        .find_map(|module| visit(module, references, &mut Vec::new(), &mut done))
}

#[test]
fn no_crate_has_a_module_cycle() {
    for dir in WALLS.iter().map(|(dir, _)| *dir).chain(["services/pivotlog"]) {
        let references = module_references(&workspace().join(dir).join("src"));
        if dir == "index" {
            assert!(
                references.len() > 10,
                "the index's modules not found: {references:?}"
            );
        }
        if let Some(cycle) = find_cycle(&references) {
            panic!(
                "{dir}: its modules name each other in a cycle: {}",
                cycle.join(" → ")
            );
        }
    }
}
