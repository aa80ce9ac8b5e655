//! No import cycle between the library's modules.
//!
//! Reads every `src/**/*.rs` but the CLI (`src/cli/**`, `src/main.rs`: the
//! binary, not the library), collects each file's `crate::...` and
//! `super::...` paths (in `use` declarations and in code alike; `use
//! crate::{a::X, b::{Y, Z}}` trees are expanded), resolves each to the module
//! it names, and fails on a cycle. A module is a file (`x/mod.rs` is the
//! module `x`); a path names the deepest module file it runs through
//! (`crate::sync::atomic::AtomicU64` is `sync`), and a name the crate root
//! re-exports (`crate::ErrorKind`) is the module it is re-exported from.
//!
//! Not counted: comments (doc links included: they are not compiled, and
//! cargo-modules does not count them either) and each file's
//! `#[cfg(test)] mod tests { ... }`, which may, like an integration test,
//! use the whole crate. Declaring a child module (`mod engine;`) is not a
//! dependency on it.
//!
//! `cargo test --test module_graph -- --nocapture` prints the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn the_library_modules_import_each_other_without_a_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = library_files(&root);
    let graph = graph_of(&files);
    for (from, tos) in &graph {
        for to in tos {
            println!("{from} -> {to}");
        }
    }
    // The scan sees the graph at all: modules, and dependencies known to exist.
    assert!(graph.len() >= 15, "only {} modules found", graph.len());
    for (from, to) in [
        ("check", "runtime::prepare"),
        ("manifest", "error"),
        ("actor::component_actor", "actor::state"),
    ] {
        assert!(
            graph.get(from).is_some_and(|t| t.contains(to)),
            "the scan missed {from} -> {to}: {graph:#?}"
        );
    }
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle: {}", cycle.join(" -> "));
    }
}

/// The detector itself: a cycle through three modules, a grouped `use`, a
/// root re-export, `super::`, a comment and a test module.
#[test]
fn the_scan_finds_a_cycle_through_grouped_uses_and_root_re_exports() {
    let files = vec![
        (
            "crate".to_string(),
            "mod a;\nmod b;\npub use b::inner::Thing;\n".to_string(),
        ),
        (
            "a".to_string(),
            "use crate::{b::{self, X}, c::Y};\n// crate::d::Z in a comment\n".to_string(),
        ),
        ("b".to_string(), "fn f() { super::c::g() }\n".to_string()),
        ("b::inner".to_string(), "pub struct Thing;\n".to_string()),
        (
            "c".to_string(),
            concat!(
                "fn g() -> crate::Thing { let _ = (\"{ crate::d::Z\", '{', r#\"\"crate::d\"#); }\n",
                "#[cfg(test)]\nmod tests {\n    use crate::d::Z;\n    const S: &str = \"}\";\n}\n",
                "/* crate::d::Z */ fn h<'a>(_: &'a str) {}\n",
            )
            .to_string(),
        ),
        ("d".to_string(), "use crate::a::A;\n".to_string()),
    ];
    let graph = graph_of(&files);
    let edges = |m: &str| graph[m].iter().cloned().collect::<Vec<_>>();
    assert_eq!(edges("crate"), ["b::inner"]);
    assert_eq!(edges("a"), ["b", "c"]);
    assert_eq!(edges("b"), ["c"]);
    assert_eq!(edges("c"), ["b::inner"]);
    assert_eq!(edges("d"), ["a"]);
    assert_eq!(find_cycle(&graph), None);

    let mut files = files;
    files[3].1.push_str("use crate::a::X;\n");
    let cycle = find_cycle(&graph_of(&files)).expect("b::inner -> a -> c -> b::inner");
    assert_eq!(cycle.first(), cycle.last(), "{cycle:?}");
    assert!(cycle.contains(&"b::inner".to_string()), "{cycle:?}");
}

/// `(module, source)` of every library file.
fn library_files(src: &Path) -> Vec<(String, String)> {
    let mut paths = Vec::new();
    walk(src, &mut paths);
    paths
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(src).unwrap();
            let parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts[0] == "cli" || parts == ["main.rs"] {
                return None;
            }
            let mut segments: Vec<&str> = parts.iter().map(String::as_str).collect();
            let last = segments.pop().unwrap().trim_end_matches(".rs");
            if last != "mod" && last != "lib" {
                segments.push(last);
            }
            let module = if segments.is_empty() {
                "crate".to_string()
            } else {
                segments.join("::")
            };
            Some((module, std::fs::read_to_string(&path).unwrap()))
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every module's dependencies on other modules.
fn graph_of(files: &[(String, String)]) -> Graph {
    let modules: BTreeSet<&str> = files.iter().map(|(m, _)| m.as_str()).collect();
    // What the crate root re-exports: name -> full path.
    let mut reexports: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let lib = files
        .iter()
        .find(|(m, _)| m == "crate")
        .map(|(_, s)| code(s));
    if let Some(lib) = &lib {
        for at in find_all(lib, "pub use ") {
            for path in use_tree(&lib[at + "pub use ".len()..], &[]) {
                if let Some(name) = path.last() {
                    reexports.insert(name.clone(), path);
                }
            }
        }
    }
    let resolve = |path: &[String]| -> String {
        let mut path = path.to_vec();
        // A root re-export stands for what it re-exports (at most a few hops).
        for _ in 0..4 {
            match reexports.get(&path[0]) {
                Some(full) if !modules.contains(path[0].as_str()) => {
                    path = full.iter().chain(&path[1..]).cloned().collect();
                }
                _ => break,
            }
        }
        (1..=path.len())
            .rev()
            .map(|n| path[..n].join("::"))
            .find(|m| modules.contains(m.as_str()))
            .unwrap_or_else(|| "crate".to_string())
    };
    let mut graph = Graph::new();
    for (module, source) in files {
        let text = code(source);
        let mut deps = BTreeSet::new();
        let mut paths = Vec::new();
        if module == "crate" {
            for at in find_all(&text, "pub use ") {
                paths.extend(use_tree(&text[at + "pub use ".len()..], &[]));
            }
        }
        for at in find_all(&text, "crate::") {
            paths.extend(use_tree(&text[at + "crate::".len()..], &[]));
        }
        for at in find_all(&text, "super::") {
            // The parent of this file's module (`super` in a file `x::y` is `x`).
            let mut parent: Vec<String> = module.split("::").map(String::from).collect();
            parent.pop();
            for mut p in use_tree(&text[at + "super::".len()..], &[]) {
                let mut full = parent.clone();
                full.append(&mut p);
                paths.push(full);
            }
        }
        for path in paths.into_iter().filter(|p| !p.is_empty()) {
            let to = resolve(&path);
            if to != *module {
                deps.insert(to);
            }
        }
        graph.insert(module.clone(), deps);
    }
    graph
}

/// The source as the scan reads it: without comments, with every string
/// and character literal emptied (`""`, `' '`), and without its
/// `#[cfg(test)] mod tests { ... }`.
fn code(source: &str) -> String {
    let text = strip_comments_and_literals(source);
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        let after = rest[at + "#[cfg(test)]".len()..].trim_start();
        let Some(body) = after
            .strip_prefix("mod tests")
            .map(str::trim_start)
            .and_then(|b| b.strip_prefix('{'))
        else {
            out.push_str(&rest[..at + "#[cfg(test)]".len()]);
            rest = &rest[at + "#[cfg(test)]".len()..];
            continue;
        };
        out.push_str(&rest[..at]);
        // Skip to the brace that closes the module (literals are empty,
        // so every brace left is code).
        let mut depth = 1usize;
        let end = body
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map(|(i, _)| i)
            .expect("a `mod tests` whose braces do not balance");
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    out
}

fn strip_comments_and_literals(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev_ident = i > 0 && ident(chars[i - 1]);
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && !prev_ident && matches!(next, Some('"' | '#')) {
            // A raw string: r"..." or r#"..."#, with any number of #.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < chars.len()
                && !(chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')))
            {
                j += 1;
            }
            out.push_str("\"\"");
            i = j + 1 + hashes;
        } else if c == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i = j + 1;
        } else if c == '\'' && next == Some('\\') {
            // A character literal with an escape: '\n', '\u{202e}'.
            let mut j = i + 2;
            while j < chars.len() && chars[j] != '\'' {
                j += 1;
            }
            out.push_str("' '");
            i = j + 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            out.push_str("' '");
            i += 3;
        } else {
            // Anything else, lifetimes ('a) included.
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Where `needle` starts in `text`, not preceded by an identifier character
/// or `$` (so `$crate::` and `my_crate::` do not count).
fn find_all(text: &str, needle: &str) -> Vec<usize> {
    text.match_indices(needle)
        .map(|(i, _)| i)
        .filter(|&i| {
            text[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '$'))
        })
        .collect()
}

/// The paths a use tree (or a plain path) at the start of `text` names,
/// each prefixed with `prefix`: `a::{b, c::{d, self}}` is `a::b`, `a::c::d`
/// and `a::c`.
fn use_tree(text: &str, prefix: &[String]) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    tree(text.trim_start(), prefix.to_vec(), &mut paths);
    paths
}

/// Parses one tree at the start of `text` into `out`; returns the rest.
fn tree<'a>(text: &'a str, mut path: Vec<String>, out: &mut Vec<Vec<String>>) -> &'a str {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(inner) = rest.strip_prefix('{') {
            let mut inner = inner;
            loop {
                inner = inner.trim_start();
                if let Some(after) = inner.strip_prefix('}') {
                    return after;
                }
                if let Some(after) = inner.strip_prefix(',') {
                    inner = after;
                    continue;
                }
                if inner.is_empty() {
                    return inner;
                }
                let before = inner.len();
                inner = tree(inner, path.clone(), out);
                if inner.len() == before {
                    // Not a path: skip a character rather than loop.
                    inner = &inner[inner.chars().next().map_or(0, char::len_utf8)..];
                }
            }
        }
        if let Some(after) = rest.strip_prefix('*') {
            out.push(path);
            return after;
        }
        let len = rest
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map_or(rest.len(), |(i, _)| i);
        if len == 0 {
            if !path.is_empty() {
                out.push(path);
            }
            return rest;
        }
        let ident = &rest[..len];
        rest = &rest[len..];
        if ident != "self" {
            path.push(ident.to_string());
        }
        match rest.strip_prefix("::") {
            Some(after) => rest = after,
            None => {
                out.push(path);
                return rest;
            }
        }
    }
}

/// A cycle, as the modules along it with the first repeated at the end.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        m: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(m.to_string(), Mark::Open);
        stack.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            match marks.get(next).copied().unwrap_or(Mark::New) {
                Mark::Open => {
                    let start = stack.iter().position(|s| s == next).unwrap();
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(next, graph, marks, stack) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks.insert(m.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for m in graph.keys() {
        if marks.get(m).copied().unwrap_or(Mark::New) == Mark::New {
            let mut stack = Vec::new();
            if let Some(c) = visit(m, graph, &mut marks, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}
