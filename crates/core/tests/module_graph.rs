//! The module graph of `florence2-core` has no cycles: data flows one way, and the façade imports
//! the halves, never the reverse (only live mode, built on the façade, imports it).
//!
//! Reads the crate's sources (test code excluded), takes every `crate::<module>` reference of each
//! top-level module (root re-exports resolved to the module that defines them), and checks the
//! graph is acyclic. `cargo test -p florence2-core --test module_graph -- --nocapture` prints it
//! (ARCHITECTURE.md draws it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its inline test module (which sits at the
/// end; a `#[cfg(test)] mod tests;` declaration is a separate `tests.rs`, skipped).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let inline_tests = text.match_indices("#[cfg(test)]").map(|(at, _)| at).find(|&at| {
        text[at + "#[cfg(test)]".len()..]
            .trim_start()
            .starts_with("mod tests {")
    });
    let text = match inline_tests {
        Some(at) => &text[..at],
        None => &text[..],
    };
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers after each `crate::` in `code` (`crate::a::b` → `a`, `crate::{a, b::c}` →
/// `a`, `b`).
fn crate_references(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name = ident(item.trim());
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

/// Root re-exports: `pub use module::{A, B}` → A, B defined in `module`.
fn root_exports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let flat = lib.replace('\n', " ");
    for statement in flat.split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, names)) = rest.split_once("::") else {
            continue;
        };
        let names = names.trim().trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',') {
            let name = name.trim().rsplit("::").next().unwrap_or("").trim();
            if !name.is_empty() {
                map.insert(name.to_string(), module.trim().to_string());
            }
        }
    }
    map
}

#[test]
fn core_modules_form_a_graph_without_cycles() {
    let root = src();
    let lib = code(&root.join("lib.rs"));
    let exports = root_exports(&lib);
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap();
        if rel == Path::new("lib.rs") || rel.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let module = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let edges = graph.entry(module.clone()).or_default();
        for name in crate_references(&code(file)) {
            let target = exports.get(&name).cloned().unwrap_or(name);
            if target != module {
                edges.insert(target);
            }
        }
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for (module, edges) in &graph {
        for target in edges {
            assert!(
                modules.contains(target),
                "{module} refers to crate::{target}, which is not a module of the crate"
            );
        }
    }
    // Depth-first search for a cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(2) => return None,
            Some(1) => {
                let start = path.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, state, path) {
                return Some(cycle);
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for module in graph.keys() {
        if let Some(cycle) = visit(module, &graph, &mut state, &mut Vec::new()) {
            panic!("module cycle: {}", cycle.join(" -> "));
        }
    }
    for (module, edges) in &graph {
        let edges: Vec<&str> = edges.iter().map(String::as_str).collect();
        println!("{module:>14} -> {}", edges.join(", "));
    }
    // The façade sits on top: only what is built on it (live mode) imports it.
    for (module, edges) in &graph {
        assert!(
            module == "live" || !edges.contains("pipeline"),
            "{module} imports the façade"
        );
    }
    assert!(
        graph["error"]
            .iter()
            .all(|m| ["graph", "provider", "runtime", "task"].contains(&m.as_str()))
    );
}

#[test]
fn the_cycle_finder_sees_crate_paths() {
    let refs = crate_references("use crate::{a, b::c};\nlet x = crate::d::e(); use crate::f::g;");
    assert_eq!(refs.into_iter().collect::<Vec<_>>(), ["a", "b", "d", "f"]);
    let exports = root_exports("pub use x::{A, B};\npub use y::C;");
    assert_eq!(exports["A"], "x");
    assert_eq!(exports["C"], "y");
}
