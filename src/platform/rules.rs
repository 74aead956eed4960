//! The rule of [`crate::platform`], checked over the source tree: std's sorts and raw target
//! predicates appear nowhere in library code outside `src/platform/`.

use std::fs;
use std::path::{Path, PathBuf};

/// What may not appear on a code line (comment lines are skipped), and what to write instead.
const FORBIDDEN: &[(&str, &str)] = &[
    (".sort(", "std's sort: call crate::platform::sort::sort"),
    (
        ".sort_by(",
        "std's sort: call crate::platform::sort::sort_by",
    ),
    (
        ".sort_by_key(",
        "std's sort: call crate::platform::sort::sort_by_key",
    ),
    (
        ".sort_by_cached_key(",
        "std's sort: call crate::platform::sort::sort_by_key",
    ),
    (
        ".sort_unstable(",
        "std's sort: call crate::platform::sort::sort_unstable",
    ),
    (
        ".sort_unstable_by(",
        "std's sort: call crate::platform::sort::sort_by",
    ),
    (
        ".sort_unstable_by_key(",
        "std's sort: call crate::platform::sort::sort_unstable_by_key",
    ),
    ("]>::sort", "std's sort: call crate::platform::sort"),
    (
        "target_arch",
        "raw target predicate: use cfg(small_code) or cfg(no_os)",
    ),
    (
        "target_os",
        "raw target predicate: use cfg(small_code) or cfg(no_os)",
    ),
    (
        "target_family",
        "raw target predicate: use cfg(small_code) or cfg(no_os)",
    ),
];

/// `(line number, reason)` for every forbidden form on a code line of `source`.
fn violations(source: &str) -> Vec<(usize, &'static str)> {
    source
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .flat_map(|(i, line)| {
            FORBIDDEN
                .iter()
                .filter(move |(pattern, _)| line.contains(pattern))
                .map(move |&(_, reason)| (i + 1, reason))
        })
        .collect()
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn sorts_and_target_predicates_live_in_platform() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let platform = root.join("src/platform");
    let bindings = root.join("bindings/wasm/src");
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&bindings, &mut files);
    files.retain(|file| !file.starts_with(&platform));
    // Not vacuous: the walk found the library and the bindings.
    assert!(files.len() > 60, "only {} files found", files.len());
    assert!(files.iter().any(|file| file.starts_with(&bindings)));
    assert!(
        files
            .iter()
            .any(|file| file.ends_with("src/codec/frame.rs"))
    );

    let mut found = Vec::new();
    for file in &files {
        let source = fs::read_to_string(file).unwrap();
        for (line, reason) in violations(&source) {
            let shown = file.strip_prefix(root).unwrap_or(file).display();
            found.push(format!("{shown}:{line}: {reason}"));
        }
    }
    assert!(
        found.is_empty(),
        "outside src/platform/ (see its module docs for the rule):\n{}",
        found.join("\n")
    );
}

/// The scanner catches each forbidden form and lets through what the rule allows.
#[test]
fn scanner_catches_each_forbidden_form() {
    for (pattern, _) in FORBIDDEN {
        let source = format!("fn f() {{\n    v{pattern}\n}}\n");
        assert_eq!(violations(&source), [(2, reason_for(pattern))], "{pattern}");
    }
    let allowed = "crate::platform::sort::sort(&mut v);\n\
                   crate::platform::sort::sort_unstable_by_key(&mut v, |x| x.0);\n\
                   v.dedup();\n\
                   /// v.sort(); in a doc example\n\
                   // #[cfg(target_arch = \"wasm32\")] in a comment\n\
                   #[cfg(all(small_code, not(target_feature = \"atomics\")))]\n\
                   #[cfg(not(no_os))]\n";
    assert_eq!(violations(allowed), []);
}

/// The reason listed for `pattern`.
fn reason_for(pattern: &str) -> &'static str {
    FORBIDDEN
        .iter()
        .find(|(p, _)| *p == pattern)
        .map_or("", |&(_, reason)| reason)
}
