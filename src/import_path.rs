//! How an import's exact `(module, name)` pair is written as text
//! (`module::name`, or a TOML table when that would be ambiguous) and read
//! back. A leaf: the manifest parses with it and [`ComponentError`] messages
//! write with it, and neither needs the other for that.
//!
//! [`ComponentError`]: crate::ComponentError

/// The module WASI preview1 functions are imported from.
pub const WASI_MODULE: &str = "wasi_snapshot_preview1";

/// `(module, name)` if `path` is `module::name` with exactly one `::`
/// (overlapping ones count: `a:::b` has two) and something on each side;
/// `None` when it could name more than one pair.
pub(crate) fn split_import_path(path: &str) -> Option<(&str, &str)> {
    // Bytes, not chars: `::` is ASCII, so every position found is a char
    // boundary, whatever the rest of the text holds.
    let bytes = path.as_bytes();
    let mut at = (0..bytes.len()).filter(|&i| bytes[i..].starts_with(b"::"));
    let first = at.next()?;
    if at.next().is_some() || first == 0 || first + 2 == path.len() {
        return None;
    }
    Some((&path[..first], &path[first + 2..]))
}

/// `s` as a TOML basic string (quoted and escaped), which reads back as `s`.
pub(crate) fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An import as messages and manifests write it: `module::name` when that
/// string names exactly this pair (see the TOML form on
/// [`ComponentManifest`](crate::ComponentManifest)), else the table form
/// `{ module = "a::b", name = "c" }`, which names any pair exactly.
pub fn import_label(module: &str, name: &str) -> String {
    let path = format!("{module}::{name}");
    if split_import_path(&path) == Some((module, name)) && !path.chars().any(char::is_control) {
        path
    } else {
        format!(
            "{{ module = {}, name = {} }}",
            toml_string(module),
            toml_string(name)
        )
    }
}

/// An import as one entry of a manifest's `imports = [...]` list, which
/// reads back as exactly this pair: `"module::name"` when unambiguous, else
/// `{ module = "...", name = "..." }`.
pub fn import_toml_entry(module: &str, name: &str) -> String {
    let label = import_label(module, name);
    if label.starts_with('{') {
        label
    } else {
        toml_string(&label)
    }
}
