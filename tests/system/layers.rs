//! The layering of `src/`, checked from the source text (DESIGN §1, STYLE 17).
//!
//! Every file under `src/` is read; comments and string literals are blanked out, then every
//! internal module reference is collected: the leaves of `use crate::…`, `use super::…`,
//! `use self::…` and `use child::…` trees (nested braces, `self`, `as` and globs included),
//! and inline `crate::x::y`, `$crate::x::y` and `super::x` paths. Each reference is resolved
//! through the modules' `use` and `pub use` lists to the module that *defines* the name, and
//! both ends are mapped to a layer of [`LAYERS`]. Three rules, each violation listed with its
//! file and line:
//!
//! 1. **module path**: a re-exported name is not reached through the crate root
//!    (`crate::ReplicaId` must be `crate::causal::ReplicaId`), so the layering shows in the
//!    `use` lines;
//! 2. **layers point one way**: a file never references a layer above its own;
//! 3. **no circles**: modules of one layer do not import each other, directly or round a
//!    longer cycle.
//!
//! Code under `#[cfg(test)]` is held to rule 1 only: unit tests may build their fixtures from
//! higher layers. `src/lib.rs` is the facade that re-exports everything and is not checked.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code reading the repository's own sources"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, lowest first: a module may reference its own layer and the ones before it.
///
/// Each entry is a module path prefix (the longest matching prefix wins) and its layer. The
/// order is DESIGN §1's diagram, adapted to the modules that exist.
const LAYERS: &[(&str, &str)] = &[
    // The target switches and the code-size substitutes (sort, CRC-32, UUID text): no crate
    // dependency.
    ("platform", "platform"),
    // The one lattice trait (`Lattice`, `Delta`) every replicated type implements.
    ("lattice", "lattice"),
    // Sequence decoding that never reserves on the input's word: the value types' serde.
    ("bounded", "bounded"),
    // `ReplicaId`: who. Used by the clock's `Stamp` and by causality.
    ("id", "id"),
    // Hybrid logical time: `Hlc`, `Timestamp`, `Stamp`, the physical clock, the drift bound.
    ("clock", "clock"),
    // Dots, causal contexts and dot stores: who did what.
    ("causal", "causal"),
    // The pure lattices with delta mutators (counters, sets, registers, flags, `OrMap`).
    ("crdt", "crdt"),
    // `Doc`, the dynamically typed document over an `OrMap` root.
    ("document", "document"),
    // Versioned frames, the body writer and reader (replica tables, budgets, timestamps seen)
    // and `DecodeLimits`: bytes <-> values. Above every value layer, which know nothing of it.
    ("codec", "codec"),
    // Channel security (handshake, sealing), sans IO; used by transports.
    ("auth", "auth"),
    // The sans-IO sync engine, its messages, per-peer state and the memory transport.
    ("sync", "sync"),
    // The durable store (snapshot + delta log) and the durable replica over the engine.
    ("durable", "durable"),
    // The tokio transports (TCP, WebSocket) and the async driver; they use sync and durable.
    ("net", "net"),
    // The umbrella `Error`, which wraps the error of every layer below it.
    ("error", "error"),
];

/// One violation, ready to print.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Violation {
    file: String,
    line: usize,
    what: String,
    rule: &'static str,
}

/// A source file: its path for messages, its module path and its text with comments and
/// string literals blanked (same length, newlines kept, so offsets give line numbers).
#[derive(Debug)]
struct SrcFile {
    path: String,
    module: Vec<String>,
    text: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

/// One leaf of a path or a use tree.
#[derive(Debug, Clone)]
struct Leaf {
    /// The path as written, `crate`/`super`/`self` included.
    path: Vec<String>,
    /// The name it binds (the last segment or its alias); `*` for a glob.
    name: String,
    /// Byte offset, for the line number.
    at: usize,
    /// From a `pub`/`pub(crate)`/`pub(super)` use statement.
    public: bool,
    /// A `use` leaf (as opposed to an inline path).
    is_use: bool,
    /// Inside `#[cfg(test)]` code.
    test: bool,
    /// The module (file module plus inline `mod`s) the leaf is written in.
    module: Vec<String>,
}

/// Blanks comments, string and char literals, keeping newlines and byte offsets.
fn blank(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let wipe = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            let end = src[i..].find('\n').map_or(b.len(), |n| i + n);
            wipe(&mut out, i, end);
            i = end;
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let (mut depth, mut j) = (0usize, i);
            while j < b.len() {
                if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                    depth += 1;
                    j += 2;
                } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            wipe(&mut out, i, j);
            i = j;
        } else if (c == b'r' || (c == b'b' && b.get(i + 1) == Some(&b'r')))
            && (i == 0 || !ident(b[i - 1]))
            && {
                let k = if c == b'b' { i + 2 } else { i + 1 };
                let hashes = b[k..].iter().take_while(|&&h| h == b'#').count();
                b.get(k + hashes) == Some(&b'"')
            }
        {
            let k = if c == b'b' { i + 2 } else { i + 1 };
            let hashes = b[k..].iter().take_while(|&&h| h == b'#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let body = k + hashes + 1;
            let end = src[body..]
                .find(&close)
                .map_or(b.len(), |n| body + n + close.len());
            wipe(&mut out, i, end);
            i = end;
        } else if c == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(b.len());
            wipe(&mut out, i, end);
            i = end;
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a): only the former is wiped.
            let end = if b.get(i + 1) == Some(&b'\\') {
                src[i + 2..].find('\'').map(|n| i + 2 + n + 1)
            } else {
                let ch_len = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + ch_len) == Some(&b'\'')).then_some(i + 2 + ch_len)
            };
            match end {
                Some(end) => {
                    wipe(&mut out, i, end);
                    i = end;
                }
                None => i += 1,
            }
        } else if ident(c) && (i == 0 || !ident(b[i - 1])) {
            // Skip whole identifiers so `r`/`b` inside one never start a raw string.
            while i < b.len() && ident(b[i]) {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

fn tokenize(text: &str) -> Vec<(Tok, usize)> {
    let b = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() || !c.is_ascii() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            toks.push((Tok::Ident(text[start..i].to_owned()), start));
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
        } else if c == b':' && b.get(i + 1) == Some(&b':') {
            toks.push((Tok::PathSep, i));
            i += 2;
        } else {
            toks.push((Tok::Punct(c as char), i));
            i += 1;
        }
    }
    toks
}

fn is_ident(t: Option<&(Tok, usize)>, name: &str) -> bool {
    matches!(t, Some((Tok::Ident(s), _)) if s == name)
}

fn is_punct(t: Option<&(Tok, usize)>, p: char) -> bool {
    matches!(t, Some((Tok::Punct(c), _)) if *c == p)
}

/// The index just past the group opened at `open` (a `{`, `(` or `[`).
fn close_of(toks: &[(Tok, usize)], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, (t, _)) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct('{' | '(' | '[') => depth += 1,
            Tok::Punct('}' | ')' | ']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

/// A byte range of a file.
type Span = (usize, usize);

/// The byte range of an inline `mod name { … }` and its name.
type ModSpan = (usize, usize, String);

/// Byte ranges of `#[cfg(test)]` items (an attribute, then the item up to its `;` or the end
/// of its first brace group) and of inline `mod name { … }` blocks with their names.
fn regions(toks: &[(Tok, usize)], len: usize) -> (Vec<Span>, Vec<ModSpan>) {
    let mut tests = Vec::new();
    let mut mods = Vec::new();
    let end_of = |k: usize| toks.get(k).map_or(len, |t| t.1);
    for i in 0..toks.len() {
        if is_punct(toks.get(i), '#') && is_punct(toks.get(i + 1), '[') {
            let close = close_of(toks, i + 1);
            let attr: Vec<&Tok> = toks[i + 2..close.saturating_sub(1)]
                .iter()
                .map(|t| &t.0)
                .collect();
            let is_cfg = matches!(attr.first(), Some(Tok::Ident(s)) if s == "cfg");
            let names_test = attr
                .iter()
                .any(|t| matches!(t, Tok::Ident(s) if s == "test"));
            let negated = attr
                .iter()
                .any(|t| matches!(t, Tok::Ident(s) if s == "not"));
            if is_cfg && names_test && !negated {
                let mut k = close;
                while k < toks.len() {
                    match &toks[k].0 {
                        Tok::Punct(';') => {
                            k += 1;
                            break;
                        }
                        Tok::Punct('{') => {
                            k = close_of(toks, k);
                            break;
                        }
                        Tok::Punct('#') if is_punct(toks.get(k + 1), '[') => {
                            k = close_of(toks, k + 1);
                        }
                        _ => k += 1,
                    }
                }
                tests.push((toks[i].1, end_of(k)));
            }
        }
        if is_ident(toks.get(i), "mod")
            && is_punct(toks.get(i + 2), '{')
            && let Some((Tok::Ident(name), _)) = toks.get(i + 1)
        {
            let close = close_of(toks, i + 2);
            mods.push((toks[i].1, end_of(close), name.clone()));
        }
    }
    (tests, mods)
}

/// Parses one use tree at `i` under `prefix`; returns the index after it.
fn use_tree(
    toks: &[(Tok, usize)],
    mut i: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, String, usize)>,
) -> usize {
    if matches!(toks.get(i), Some((Tok::PathSep, _))) {
        i += 1;
    }
    loop {
        match toks.get(i) {
            Some((Tok::Punct('{'), _)) => {
                i += 1;
                while i < toks.len() && !is_punct(toks.get(i), '}') {
                    i = use_tree(toks, i, prefix.clone(), out);
                    if is_punct(toks.get(i), ',') {
                        i += 1;
                    } else if !is_punct(toks.get(i), '}') {
                        // Not a use tree we understand: skip to the closing brace.
                        while i < toks.len() && !is_punct(toks.get(i), '}') {
                            i += 1;
                        }
                    }
                }
                return i + 1;
            }
            Some((Tok::Punct('*'), at)) => {
                out.push((prefix, "*".to_owned(), *at));
                return i + 1;
            }
            Some((Tok::Ident(seg), at)) => {
                let at = *at;
                if seg == "self" && !prefix.is_empty() {
                    // `a::{self}` names `a` itself.
                } else {
                    prefix.push(seg.clone());
                }
                i += 1;
                if matches!(toks.get(i), Some((Tok::PathSep, _))) {
                    i += 1;
                    continue;
                }
                let mut name = prefix.last().cloned().unwrap_or_default();
                if is_ident(toks.get(i), "as") {
                    if let Some((Tok::Ident(alias), _)) = toks.get(i + 1) {
                        name = alias.clone();
                    }
                    i += 2;
                }
                out.push((prefix, name, at));
                return i;
            }
            _ => return i,
        }
    }
}

/// Every `use` leaf and inline `crate::`/`$crate::`/`super::` path of a file.
fn leaves(file: &SrcFile) -> Vec<Leaf> {
    let toks = tokenize(&file.text);
    let (tests, mods) = regions(&toks, file.text.len());
    let module_at = |at: usize| {
        let mut m = file.module.clone();
        let mut inner: Vec<&(usize, usize, String)> = mods
            .iter()
            .filter(|(s, e, _)| *s <= at && at < *e)
            .collect();
        inner.sort_by_key(|(s, _, _)| *s);
        m.extend(inner.into_iter().map(|(_, _, n)| n.clone()));
        m
    };
    let in_test = |at: usize| tests.iter().any(|(s, e)| *s <= at && at < *e);
    let mut out = Vec::new();
    let mut in_use = vec![false; toks.len()];
    for i in 0..toks.len() {
        if !is_ident(toks.get(i), "use")
            || matches!(toks.get(i.wrapping_sub(1)), Some((Tok::PathSep, _)))
        {
            continue;
        }
        let public = is_ident(toks.get(i.wrapping_sub(1)), "pub")
            || (is_punct(toks.get(i.wrapping_sub(1)), ')')
                && (2..=5).any(|back| {
                    i > back
                        && is_punct(toks.get(i - back), '(')
                        && is_ident(toks.get(i - back - 1), "pub")
                }));
        let mut tree = Vec::new();
        let end = use_tree(&toks, i + 1, Vec::new(), &mut tree);
        for flag in in_use.iter_mut().take(end.min(toks.len())).skip(i) {
            *flag = true;
        }
        for (path, name, at) in tree {
            out.push(Leaf {
                path,
                name,
                at,
                public,
                is_use: true,
                test: in_test(at),
                module: module_at(at),
            });
        }
    }
    for i in 0..toks.len() {
        let Some((Tok::Ident(first), at)) = toks.get(i) else {
            continue;
        };
        if in_use.get(i).copied().unwrap_or(true)
            || !(first == "crate" || first == "super")
            || !matches!(toks.get(i + 1), Some((Tok::PathSep, _)))
            || matches!(toks.get(i.wrapping_sub(1)), Some((Tok::PathSep, _)))
        {
            continue;
        }
        let mut path = vec![first.clone()];
        let mut k = i + 1;
        while matches!(toks.get(k), Some((Tok::PathSep, _))) {
            match toks.get(k + 1) {
                Some((Tok::Ident(seg), _)) => {
                    path.push(seg.clone());
                    k += 2;
                }
                _ => break,
            }
        }
        out.push(Leaf {
            name: path.last().cloned().unwrap_or_default(),
            path,
            at: *at,
            public: false,
            is_use: false,
            test: in_test(*at),
            module: module_at(*at),
        });
    }
    out
}

/// The module path of a file under `src/`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    parts
}

fn read_src(dir: &Path, root: &Path, out: &mut Vec<SrcFile>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_src(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap();
            let text = fs::read_to_string(&path).unwrap();
            out.push(SrcFile {
                path: format!("src/{}", rel.display()).replace('\\', "/"),
                module: module_of(rel),
                text: blank(&text),
            });
        }
    }
}

/// What a path resolves to.
#[derive(Debug)]
struct Resolved {
    /// The module that defines the name (or the module named).
    module: Vec<String>,
    /// The path through a crate-root re-export, and the module path to use instead.
    via_root: Option<String>,
}

struct Crate {
    modules: BTreeSet<Vec<String>>,
    /// Per module, the names its `use` statements bind, as absolute paths.
    imports: BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>>,
}

impl Crate {
    /// Turns a written path into an absolute one (from the crate root), or `None` when it
    /// leaves the crate (std, dependencies).
    fn absolute(&self, module: &[String], path: &[String]) -> Option<Vec<String>> {
        let mut cur: Vec<String>;
        let mut rest = path;
        match path.first().map(String::as_str) {
            Some("crate") => {
                cur = Vec::new();
                rest = &path[1..];
            }
            Some("self") => {
                cur = module.to_vec();
                rest = &path[1..];
            }
            Some("super") => {
                cur = module.to_vec();
                while rest.first().is_some_and(|s| s == "super") {
                    cur.pop()?;
                    rest = &rest[1..];
                }
            }
            Some(first) => {
                let mut child = module.to_vec();
                child.push(first.to_owned());
                if !self.modules.contains(&child) {
                    // A name imported into this module, or an outside crate.
                    let target = self.imports.get(module)?.get(first)?;
                    let mut abs = target.clone();
                    abs.extend(path[1..].iter().cloned());
                    return Some(abs);
                }
                cur = module.to_vec();
            }
            None => return None,
        }
        cur.extend(rest.iter().cloned());
        Some(cur)
    }

    /// Follows an absolute path through modules and re-exports to the defining module.
    fn resolve(&self, abs: &[String], depth: usize) -> Option<Resolved> {
        let mut cur: Vec<String> = Vec::new();
        for (k, seg) in abs.iter().enumerate() {
            let mut child = cur.clone();
            child.push(seg.clone());
            if self.modules.contains(&child) {
                cur = child;
                continue;
            }
            let Some(target) = self.imports.get(&cur).and_then(|m| m.get(seg)) else {
                // Defined here (or not a name we can follow): this module.
                return Some(Resolved {
                    module: cur,
                    via_root: None,
                });
            };
            if depth > 16 {
                return None;
            }
            let mut next = target.clone();
            next.extend(abs[k + 1..].iter().cloned());
            let mut resolved = self.resolve(&next, depth + 1)?;
            if cur.is_empty() && depth == 0 {
                resolved.via_root = Some(format!("crate::{}", target.join("::")));
            }
            return Some(resolved);
        }
        Some(Resolved {
            module: cur,
            via_root: None,
        })
    }
}

/// The layer of a module: index into `layers` of its longest matching prefix.
fn layer(layers: &[(&str, &str)], module: &[String]) -> Option<usize> {
    let joined = module.join("::");
    layers
        .iter()
        .enumerate()
        .filter(|(_, (prefix, _))| joined == *prefix || joined.starts_with(&format!("{prefix}::")))
        .max_by_key(|(_, (prefix, _))| prefix.len())
        .map(|(i, _)| i)
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// All violations of the three rules in the sources under `src`, with `layers` lowest first.
fn violations(src: &Path, layers: &[(&str, &str)]) -> Vec<Violation> {
    let mut files = Vec::new();
    read_src(src, src, &mut files);
    let all: Vec<(usize, Leaf)> = files
        .iter()
        .enumerate()
        .flat_map(|(f, file)| leaves(file).into_iter().map(move |l| (f, l)))
        .collect();
    let mut krate = Crate {
        modules: BTreeSet::new(),
        imports: BTreeMap::new(),
    };
    for file in &files {
        for k in 0..=file.module.len() {
            krate.modules.insert(file.module[..k].to_vec());
        }
    }
    for (_, leaf) in &all {
        krate.modules.insert(leaf.module.clone());
    }
    // Imports in two passes: absolute first-segment forms, then those relative to imports.
    for _ in 0..2 {
        for (_, leaf) in all.iter().filter(|(_, l)| l.is_use && l.name != "*") {
            // A name bound to itself (`use self::x as x`) would resolve forever: skip it.
            if let Some(abs) = krate.absolute(&leaf.module, &leaf.path)
                && !(abs.len() == leaf.module.len() + 1
                    && abs.starts_with(&leaf.module)
                    && abs.last() == Some(&leaf.name))
            {
                krate
                    .imports
                    .entry(leaf.module.clone())
                    .or_default()
                    .insert(leaf.name.clone(), abs);
            }
        }
    }

    let mut found = BTreeSet::new();
    let mut edges: BTreeMap<(Vec<String>, Vec<String>), (String, usize)> = BTreeMap::new();
    for (f, leaf) in &all {
        let file = &files[*f];
        if file.module.is_empty() {
            continue; // src/lib.rs, the facade
        }
        let line = line_of(&file.text, leaf.at);
        let written = leaf.path.join("::");
        let Some(abs) = krate.absolute(&leaf.module, &leaf.path) else {
            continue;
        };
        let Some(resolved) = krate.resolve(&abs, 0) else {
            continue;
        };
        let root_form = !abs.is_empty() && !krate.modules.contains(&abs[..1]);
        if let (Some(instead), true) = (&resolved.via_root, root_form) {
            found.insert(Violation {
                file: file.path.clone(),
                line,
                what: format!("`{written}` reaches a re-exported name through the crate root; write `{instead}`"),
                rule: "module path",
            });
        }
        if leaf.test {
            continue;
        }
        // A module's `pub use` of its own children is its facade, not a dependency.
        let facade = leaf.is_use && leaf.public && resolved.module.starts_with(&leaf.module);
        let from = &file.module;
        if facade || resolved.module.is_empty() || resolved.module == *from {
            continue;
        }
        let (Some(own), Some(theirs)) = (layer(layers, from), layer(layers, &resolved.module))
        else {
            continue;
        };
        if theirs > own {
            found.insert(Violation {
                file: file.path.clone(),
                line,
                what: format!(
                    "`{written}` (layer `{}`, in `{}`) from layer `{}`",
                    layers[theirs].1,
                    resolved.module.join("::"),
                    layers[own].1
                ),
                rule: "layers point one way",
            });
        } else if theirs == own {
            edges
                .entry((from.clone(), resolved.module.clone()))
                .or_insert((format!("{}:{line}", file.path), line));
        }
    }

    // Circles: strongly connected groups of modules within one layer.
    let nodes: BTreeSet<&Vec<String>> = edges.keys().flat_map(|(a, b)| [a, b]).collect();
    let reach = |start: &Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.clone()];
        while let Some(n) = stack.pop() {
            for ((a, b), _) in edges.range((n.clone(), Vec::new())..) {
                if *a != n {
                    break;
                }
                if seen.insert(b.clone()) {
                    stack.push(b.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&Vec<String>, BTreeSet<Vec<String>>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut reported = BTreeSet::new();
    for n in &nodes {
        let group: BTreeSet<&Vec<String>> = nodes
            .iter()
            .copied()
            .filter(|m| reach[n].contains(*m) && reach[*m].contains(*n))
            .collect();
        if group.len() < 2 || !reported.insert(group.clone()) {
            continue;
        }
        let names: Vec<String> = group.iter().map(|m| m.join("::")).collect();
        for ((a, b), (place, _)) in &edges {
            if group.contains(a) && group.contains(b) {
                let (file, line) = place.rsplit_once(':').unwrap();
                found.insert(Violation {
                    file: file.to_owned(),
                    line: line.parse().unwrap(),
                    what: format!(
                        "`{}` imports `{}`, in the circle {{{}}}",
                        a.join("::"),
                        b.join("::"),
                        names.join(", ")
                    ),
                    rule: "no circles",
                });
            }
        }
    }
    found.into_iter().collect()
}

fn report(list: &[Violation]) -> String {
    let mut out = format!("{} layering violation(s) in src/:\n", list.len());
    for v in list {
        let _ = writeln!(out, "{}:{}: [{}] {}", v.file, v.line, v.rule, v.what);
    }
    out
}

fn repo_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Known upward references, each with its reason: `(file, what the reference names)`. Keep it
/// short; every entry is a debt.
const EXCEPTIONS: &[(&str, &str, &str)] = &[(
    "src/durable/replica.rs",
    "`crate::error::Error`",
    "DurableReplica::open/open_dir return the crate-wide Error (a store or a clock failure), a \
     public signature callers match on (`Error::Store(..)`); a durable open error of its own \
     would end it",
)];

#[test]
fn src_layers_point_one_way_and_imports_name_their_module() {
    let mut list = violations(&repo_src(), LAYERS);
    list.retain(|v| {
        !EXCEPTIONS
            .iter()
            .any(|(file, what, _)| v.file == *file && v.what.starts_with(what))
    });
    assert!(list.is_empty(), "{}", report(&list));
}

/// Writes `files` (path under `src/`, contents) to a fresh directory and returns it.
fn fixture(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deltacrdt-layers-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    for (path, text) in files {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

/// The check itself, on a small crate with one violation of each rule planted (an upward
/// import, a crate-root import, a circle) and look-alikes that are not violations: the same
/// paths in comments, strings, `#[cfg(test)]` code and facade re-exports.
#[test]
fn the_check_finds_each_planted_violation_and_nothing_else() {
    const TABLE: &[(&str, &str)] = &[("low", "low"), ("high", "high")];
    let dir = fixture(
        "planted",
        &[
            (
                "lib.rs",
                "mod high;\nmod low;\npub use high::Big;\npub use low::{Thing, helper as help};\n",
            ),
            (
                "low/mod.rs",
                "mod a;\nmod b;\npub use a::Thing;\npub use b::helper;\n",
            ),
            (
                "low/a.rs",
                "use super::b::helper;\nuse crate::high::Big;\n// use crate::high::Big;\n\
                 pub struct Thing;\nfn f() -> &'static str { helper(); \"crate::high::Big\" }\n",
            ),
            (
                "low/b.rs",
                "use super::{a::Thing, self as me};\npub fn helper() -> Option<Thing> { None }\n\
                 #[cfg(test)]\nmod tests {\n    use crate::high::Big;\n}\n",
            ),
            (
                "high.rs",
                "use crate::low::{\n    Thing,\n};\npub struct Big;\n\
                 fn f() { let _ = crate::help(); let _: Option<Thing> = None; }\n",
            ),
        ],
    );
    let found: Vec<(String, usize, &str)> = violations(&dir, TABLE)
        .into_iter()
        .map(|v| (v.file, v.line, v.rule))
        .collect();
    let _ = fs::remove_dir_all(&dir);
    let expected = [
        ("src/high.rs", 5, "module path"),
        ("src/low/a.rs", 1, "no circles"),
        ("src/low/a.rs", 2, "layers point one way"),
        ("src/low/b.rs", 1, "no circles"),
    ];
    let expected: Vec<(String, usize, &str)> = expected
        .iter()
        .map(|(f, l, r)| ((*f).to_owned(), *l, *r))
        .collect();
    assert_eq!(found, expected);
}
