//! Where a module's bytes come from: [`ComponentSource`], and the first
//! checks on them (empty, magic, WAT syntax) before wasmtime sees them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{ComponentError, ErrorKind};

/// The `\0asm` magic every WebAssembly binary starts with.
pub const WASM_MAGIC: [u8; 4] = *b"\0asm";

/// Where an actor's module comes from.
///
/// Constructors never fail: the source is read and checked on the first
/// [`start`](crate::Child::start), which reports problems as typed errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentSource {
    /// A WebAssembly binary in memory.
    Bytes(Arc<[u8]>),
    /// A file: WebAssembly text if its name ends in `.wat`, else a binary.
    File(PathBuf),
    /// WebAssembly text in memory.
    Wat(Arc<str>),
}

impl ComponentSource {
    /// A WebAssembly binary held in memory.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        ComponentSource::Bytes(bytes.into().into())
    }

    /// A file, read on first start. A name ending in `.wat` is text;
    /// anything else must start with the `\0asm` magic.
    pub fn from_file(path: impl Into<PathBuf>) -> Self {
        ComponentSource::File(path.into())
    }

    /// WebAssembly text, parsed on first start.
    pub fn from_wat(text: impl Into<String>) -> Self {
        ComponentSource::Wat(text.into().into())
    }

    /// Reads the source and returns a WebAssembly binary that starts with the
    /// magic. Does not validate beyond that; compiling does.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Load`] (unreadable file), [`ErrorKind::EmptyModule`],
    /// [`ErrorKind::InvalidWat`] or [`ErrorKind::InvalidMagic`].
    pub fn load(&self, component: &str) -> Result<Arc<[u8]>, ComponentError> {
        match self {
            ComponentSource::Bytes(bytes) => check_binary(component, bytes).map(|()| bytes.clone()),
            ComponentSource::Wat(text) => parse_wat(component, text, None),
            ComponentSource::File(path) => {
                let bytes = std::fs::read(path).map_err(|e| {
                    ComponentError::new(
                        component,
                        ErrorKind::Load,
                        format!("cannot read {}: {e}", path.display()),
                    )
                    .with_source(e)
                })?;
                if is_wat_path(path) {
                    let text = String::from_utf8(bytes).map_err(|e| {
                        ComponentError::new(
                            component,
                            ErrorKind::InvalidWat,
                            format!("{} is not UTF-8 text", path.display()),
                        )
                        .with_source(e)
                    })?;
                    parse_wat(component, &text, Some(path))
                } else {
                    check_binary(component, &bytes)?;
                    Ok(bytes.into())
                }
            }
        }
    }
}

fn is_wat_path(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "wat")
}

fn check_binary(component: &str, bytes: &[u8]) -> Result<(), ComponentError> {
    if bytes.is_empty() {
        return Err(ComponentError::new(
            component,
            ErrorKind::EmptyModule,
            "module is empty (0 bytes)",
        ));
    }
    if !bytes.starts_with(&WASM_MAGIC) {
        let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        return Err(ComponentError::new(
            component,
            ErrorKind::InvalidMagic,
            format!(
                "not a WebAssembly binary: starts with {} instead of 00 61 73 6d (\\0asm)",
                head.join(" ")
            ),
        ));
    }
    Ok(())
}

fn parse_wat(
    component: &str,
    text: &str,
    path: Option<&Path>,
) -> Result<Arc<[u8]>, ComponentError> {
    if text.trim().is_empty() {
        return Err(ComponentError::new(
            component,
            ErrorKind::EmptyModule,
            "module text is empty",
        ));
    }
    let bytes = wat::parse_str(text).map_err(|mut e| {
        if let Some(p) = path {
            e.set_path(p);
        }
        // wat's Display spans several lines (the offending source line and a
        // caret); the first line says what and where.
        let full = e.to_string();
        let first = full.lines().next().unwrap_or("invalid WebAssembly text");
        ComponentError::new(component, ErrorKind::InvalidWat, first.to_string()).with_source(e)
    })?;
    // `wat` accepts a binary module written as text (`(module binary ...)`),
    // so the result is re-checked like any other binary.
    check_binary(component, &bytes)?;
    Ok(bytes.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_bad_sources() {
        let cases: [(ComponentSource, ErrorKind); 6] = [
            (
                ComponentSource::from_bytes(Vec::new()),
                ErrorKind::EmptyModule,
            ),
            (
                ComponentSource::from_bytes(*b"\x7fELF\x01"),
                ErrorKind::InvalidMagic,
            ),
            (
                ComponentSource::from_bytes(*b"\0as"),
                ErrorKind::InvalidMagic,
            ),
            (
                ComponentSource::from_wat("(module (func"),
                ErrorKind::InvalidWat,
            ),
            (ComponentSource::from_wat("  \n"), ErrorKind::EmptyModule),
            (
                ComponentSource::from_file("/nonexistent/x.wasm"),
                ErrorKind::Load,
            ),
        ];
        for (source, kind) in cases {
            let e = source.load("t").unwrap_err();
            assert_eq!(e.kind(), kind, "{source:?}: {e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }

    #[test]
    fn wat_and_bytes_load() {
        let bin = ComponentSource::from_wat("(module)").load("t").unwrap();
        assert_eq!(&bin[..4], &WASM_MAGIC);
        let again = ComponentSource::from_bytes(bin.to_vec()).load("t").unwrap();
        assert_eq!(bin, again);
    }
}
