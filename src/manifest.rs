//! What a component is allowed to do: [`ComponentManifest`], its
//! [`ResourceLimits`] and its [`PermissionManifest`], in code or as TOML.
//!
//! ```toml
//! [component]
//! name = "echo"
//!
//! [limits]                    # every key optional; defaults shown
//! max_memory_bytes = 16777216 # all linear memories together
//! max_table_elements = 10000  # all tables together
//! max_fuel = 10000000         # per guest call; "none" for no fuel cap
//! max_call_duration_ms = 100  # wall clock per guest call
//!
//! [permissions]
//! imports = ["host::log"]     # `module::name` of each permitted import
//! ```
//!
//! Unknown keys are errors, and so are limits that cannot be meant: zero or
//! more than 4 GiB of memory, zero or more than 100 million table elements,
//! zero fuel, a deadline of zero or over an hour.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{ComponentError, ErrorKind};

/// The largest `max_memory_bytes` a manifest may ask for (4 GiB, the whole
/// 32-bit address space of a linear memory).
pub const MAX_MEMORY_BYTES: u64 = 4 << 30;
/// The largest `max_table_elements` a manifest may ask for.
pub const MAX_TABLE_ELEMENTS: u64 = 100_000_000;
/// The longest `max_call_duration` a manifest may ask for (one hour).
pub const MAX_CALL_DURATION: Duration = Duration::from_secs(3600);

/// Limits enforced on one actor's store and on each of its guest calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceLimits {
    /// Bytes of linear memory, summed over all of the instance's memories.
    /// Instantiation fails with [`ErrorKind::MemoryLimit`] above it;
    /// `memory.grow` past it returns -1 to the guest.
    pub max_memory_bytes: u64,
    /// Table elements, summed over all of the instance's tables.
    pub max_table_elements: u64,
    /// Fuel for each guest call (instantiation, `_start`, `_health`,
    /// `_cleanup`), refilled before every call. `None`: no fuel cap; the
    /// deadline alone bounds each call.
    pub max_fuel: Option<u64>,
    /// Wall-clock time for each guest call, enforced even for a guest that
    /// never returns.
    pub max_call_duration: Duration,
}

impl Default for ResourceLimits {
    /// 16 MiB of memory, 10,000 table elements, 10 million fuel and 100 ms per call.
    fn default() -> Self {
        Self {
            max_memory_bytes: 16 << 20,
            max_table_elements: 10_000,
            max_fuel: Some(10_000_000),
            max_call_duration: Duration::from_millis(100),
        }
    }
}

impl ResourceLimits {
    /// Checks that every limit is one that can be meant.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Manifest`] naming the first absurd limit.
    pub fn validate(&self, component: &str) -> Result<(), ComponentError> {
        let bad = |msg: String| Err(ComponentError::new(component, ErrorKind::Manifest, msg));
        if self.max_memory_bytes == 0 || self.max_memory_bytes > MAX_MEMORY_BYTES {
            return bad(format!(
                "max_memory_bytes = {} is outside 1..={MAX_MEMORY_BYTES}",
                self.max_memory_bytes
            ));
        }
        if self.max_table_elements == 0 || self.max_table_elements > MAX_TABLE_ELEMENTS {
            return bad(format!(
                "max_table_elements = {} is outside 1..={MAX_TABLE_ELEMENTS}",
                self.max_table_elements
            ));
        }
        if self.max_fuel == Some(0) {
            return bad("max_fuel = 0 would stop every call; use \"none\" for no fuel cap".into());
        }
        if self.max_call_duration.is_zero() || self.max_call_duration > MAX_CALL_DURATION {
            return bad(format!(
                "max_call_duration = {:?} is outside 1 ms..=1 h",
                self.max_call_duration
            ));
        }
        Ok(())
    }
}

/// The imports a component may link, each an exact `(module, name)` pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PermissionManifest {
    imports: BTreeSet<(String, String)>,
}

impl PermissionManifest {
    /// Whether `name` may be imported from `module`. The pair is compared
    /// exactly: permitting `("a::b", "c")` does not permit `("a", "b::c")`.
    pub fn allows(&self, module: &str, name: &str) -> bool {
        self.imports.iter().any(|(m, n)| m == module && n == name)
    }

    /// The permitted imports as `(module, name)`, sorted.
    pub fn imports(&self) -> impl Iterator<Item = (&str, &str)> {
        self.imports.iter().map(|(m, n)| (m.as_str(), n.as_str()))
    }
}

/// A component's name, limits and permissions.
///
/// In TOML ([`from_toml_str`](Self::from_toml_str), [`from_file`](Self::from_file)):
///
/// ```toml
/// [component]
/// name = "echo"
///
/// [limits]                    # every key optional; defaults shown
/// max_memory_bytes = 16777216 # all linear memories together
/// max_table_elements = 10000  # all tables together
/// max_fuel = 10000000         # per guest call; "none" for no fuel cap
/// max_call_duration_ms = 100  # wall clock per guest call
///
/// [permissions]
/// imports = ["host::log"]     # `module::name` of each permitted import
/// ```
///
/// Unknown keys are errors, and so are limits that cannot be meant: zero or
/// more than 4 GiB of memory, zero or more than 100 million table elements,
/// zero fuel, a deadline of zero or over an hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentManifest {
    name: String,
    limits: ResourceLimits,
    permissions: PermissionManifest,
}

impl ComponentManifest {
    /// A manifest with default limits and no permitted imports.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Manifest`] if `name` is empty or blank.
    pub fn new(name: impl Into<String>) -> Result<Self, ComponentError> {
        Self::builder(name).build()
    }

    /// A builder starting from default limits and no permitted imports;
    /// [`ManifestBuilder::build`] validates the result. Every manifest,
    /// whether built in code or parsed from TOML, goes through it.
    pub fn builder(name: impl Into<String>) -> ManifestBuilder {
        ManifestBuilder {
            name: name.into(),
            limits: ResourceLimits::default(),
            permissions: PermissionManifest::default(),
        }
    }

    /// The component's name, used in every error and log event.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The limits.
    pub fn limits(&self) -> &ResourceLimits {
        &self.limits
    }

    /// The permissions.
    pub fn permissions(&self) -> &PermissionManifest {
        &self.permissions
    }

    /// Parses the TOML form shown on [`ComponentManifest`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Manifest`] for malformed TOML, an unknown key, an import
    /// not written `module::name`, or an absurd limit.
    pub fn from_toml_str(text: &str) -> Result<Self, ComponentError> {
        let doc: TomlManifest = toml::from_str(text).map_err(|e| {
            let msg = e.message().trim().to_string();
            let at = e
                .span()
                .map(|s| {
                    let start = s.start.min(text.len());
                    let line = text[..start].matches('\n').count() + 1;
                    let source_line = text.lines().nth(line - 1).unwrap_or("").trim();
                    format!(" (line {line}: `{source_line}`)")
                })
                .unwrap_or_default();
            ComponentError::new("<manifest>", ErrorKind::Manifest, format!("{msg}{at}"))
                .with_source(e)
        })?;
        let name = doc.component.name;
        let l = doc.limits;
        let defaults = ResourceLimits::default();
        let limits = ResourceLimits {
            max_memory_bytes: l.max_memory_bytes.unwrap_or(defaults.max_memory_bytes),
            max_table_elements: l.max_table_elements.unwrap_or(defaults.max_table_elements),
            max_fuel: match l.max_fuel {
                None => defaults.max_fuel,
                Some(Fuel::Amount(n)) => Some(n),
                Some(Fuel::Word(w)) if w == "none" => None,
                Some(Fuel::Word(w)) => {
                    return Err(ComponentError::new(
                        name,
                        ErrorKind::Manifest,
                        format!("max_fuel = \"{w}\": expected a number or \"none\""),
                    ));
                }
            },
            max_call_duration: l
                .max_call_duration_ms
                .map(Duration::from_millis)
                .unwrap_or(defaults.max_call_duration),
        };
        let mut builder = ComponentManifest::builder(name.clone()).limits(limits);
        for import in doc.permissions.imports {
            match import.split_once("::") {
                Some((m, n)) if !m.is_empty() && !n.is_empty() => {
                    builder = builder.allow_import(m, n);
                }
                _ => {
                    return Err(ComponentError::new(
                        name,
                        ErrorKind::Manifest,
                        format!("permissions.imports entry `{import}` is not `module::name`"),
                    ));
                }
            }
        }
        builder.build()
    }

    /// Reads and parses a TOML manifest file.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Load`] if the file cannot be read, else as
    /// [`from_toml_str`](Self::from_toml_str).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ComponentError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ComponentError::new(
                "<manifest>",
                ErrorKind::Load,
                format!("cannot read manifest {}: {e}", path.display()),
            )
            .with_source(e)
        })?;
        Self::from_toml_str(&text).map_err(|e| {
            let msg = format!("{}: {}", path.display(), e.message());
            let component = e.component().to_string();
            ComponentError::new(component, e.kind(), msg).with_source(e)
        })
    }
}

/// Builds a [`ComponentManifest`]; [`build`](Self::build) is the one place
/// a manifest is validated.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ManifestBuilder {
    name: String,
    limits: ResourceLimits,
    permissions: PermissionManifest,
}

impl ManifestBuilder {
    /// Replaces the limits (checked by [`build`](Self::build)).
    pub fn limits(mut self, limits: ResourceLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Permits importing `name` from `module`, exactly that pair (for
    /// example `("host", "log")`).
    pub fn allow_import(mut self, module: impl Into<String>, name: impl Into<String>) -> Self {
        self.permissions
            .imports
            .insert((module.into(), name.into()));
        self
    }

    /// The manifest, if every field is one that can be meant.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Manifest`] naming the first problem: an empty name, an
    /// empty module or name in a permitted import, or an absurd limit (see
    /// [`ResourceLimits::validate`]).
    pub fn build(self) -> Result<ComponentManifest, ComponentError> {
        if self.name.trim().is_empty() {
            return Err(ComponentError::new(
                "<manifest>",
                ErrorKind::Manifest,
                "component.name is empty",
            ));
        }
        self.limits.validate(&self.name)?;
        if let Some((m, n)) = self
            .permissions
            .imports
            .iter()
            .find(|(m, n)| m.is_empty() || n.is_empty())
        {
            return Err(ComponentError::new(
                self.name,
                ErrorKind::Manifest,
                format!("permitted import ({m:?}, {n:?}) has an empty module or name"),
            ));
        }
        Ok(ComponentManifest {
            name: self.name,
            limits: self.limits,
            permissions: self.permissions,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlManifest {
    component: TomlComponent,
    #[serde(default)]
    limits: TomlLimits,
    #[serde(default)]
    permissions: TomlPermissions,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlComponent {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TomlLimits {
    max_memory_bytes: Option<u64>,
    max_table_elements: Option<u64>,
    max_fuel: Option<Fuel>,
    max_call_duration_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Fuel {
    Amount(u64),
    Word(String),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TomlPermissions {
    #[serde(default)]
    imports: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_form() {
        let m = ComponentManifest::from_toml_str(
            r#"
            [component]
            name = "echo"
            [limits]
            max_memory_bytes = 1048576
            max_call_duration_ms = 50
            [permissions]
            imports = ["host::log"]
            "#,
        )
        .unwrap();
        assert_eq!(m.name(), "echo");
        assert_eq!(m.limits().max_memory_bytes, 1 << 20);
        assert_eq!(m.limits().max_call_duration, Duration::from_millis(50));
        assert_eq!(m.limits().max_table_elements, 10_000);
        assert_eq!(m.limits().max_fuel, Some(10_000_000));
        assert!(m.permissions().allows("host", "log"));
        assert!(!m.permissions().allows("host", "lo"));
        assert!(!m.permissions().allows("hos", "tlog"));
        assert_eq!(
            m.permissions().imports().collect::<Vec<_>>(),
            [("host", "log")]
        );
    }

    #[test]
    fn fuel_none_means_no_cap() {
        let m = ComponentManifest::from_toml_str(
            "[component]\nname = \"a\"\n[limits]\nmax_fuel = \"none\"\n",
        )
        .unwrap();
        assert_eq!(m.limits().max_fuel, None);
    }

    #[test]
    fn rejects_bad_manifests_with_a_manifest_error() {
        for (text, needle) in [
            ("[component]\nname = \"a\"\nextra = 1\n", "unknown field"),
            (
                "[component]\nname = \"a\"\n[limits]\nmax_memory_bytes = -1\n",
                "line 4: `max_memory_bytes = -1`",
            ),
            (
                "[component]\nname = \"a\"\n[limits]\nmax_memory_bytes = 0\n",
                "max_memory_bytes",
            ),
            (
                "[component]\nname = \"a\"\n[limits]\nmax_memory_bytes = 9999999999999\n",
                "max_memory_bytes",
            ),
            (
                "[component]\nname = \"a\"\n[limits]\nmax_fuel = 0\n",
                "max_fuel",
            ),
            (
                "[component]\nname = \"a\"\n[limits]\nmax_fuel = \"lots\"\n",
                "max_fuel",
            ),
            (
                "[component]\nname = \"a\"\n[limits]\nmax_call_duration_ms = 0\n",
                "max_call_duration",
            ),
            (
                "[component]\nname = \"a\"\n[limits]\nmax_table_elements = 0\n",
                "max_table_elements",
            ),
            (
                "[component]\nname = \"a\"\n[permissions]\nimports = [\"log\"]\n",
                "module::name",
            ),
            ("[component]\nname = \"\"\n", "empty"),
            ("[limits]\n", "component"),
            ("not toml", ""),
        ] {
            let e = ComponentManifest::from_toml_str(text).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Manifest, "{text}");
            assert!(e.to_string().contains(needle), "{text}: {e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }

    #[test]
    fn limits_built_in_code_are_validated_like_toml() {
        let bad = [
            ResourceLimits {
                max_fuel: Some(0),
                ..ResourceLimits::default()
            },
            ResourceLimits {
                max_memory_bytes: 0,
                ..ResourceLimits::default()
            },
            ResourceLimits {
                max_table_elements: 0,
                ..ResourceLimits::default()
            },
            ResourceLimits {
                max_call_duration: Duration::ZERO,
                ..ResourceLimits::default()
            },
            ResourceLimits {
                max_call_duration: Duration::MAX,
                ..ResourceLimits::default()
            },
        ];
        for limits in bad {
            let e = ComponentManifest::builder("a")
                .limits(limits.clone())
                .build()
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Manifest, "{limits:?}");
        }
        for name in ["", "  "] {
            let e = ComponentManifest::new(name).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Manifest);
        }
        let e = ComponentManifest::builder("a")
            .allow_import("", "log")
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Manifest);
        assert!(ComponentManifest::new("a").is_ok());
    }

    #[test]
    fn permissions_are_exact_pairs() {
        let m = ComponentManifest::builder("a")
            .allow_import("a::b", "c")
            .build()
            .unwrap();
        assert!(m.permissions().allows("a::b", "c"));
        assert!(!m.permissions().allows("a", "b::c"));
    }

    #[test]
    fn missing_file_is_a_load_error() {
        let e = ComponentManifest::from_file("/nonexistent/m.toml").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Load);
    }
}
