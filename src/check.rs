//! Preflight: everything [`start`](crate::Child::start) checks before any
//! guest code runs, as a report instead of a first error.
//!
//! [`preflight`] loads the source (empty, magic, WAT syntax), compiles it
//! through the [`Runtime`]'s module cache, lists every lifecycle export with
//! its type and every import with whether the manifest permits it and
//! whether a host function provides it, and compares the module's initial
//! memory and table sizes, each added up over all memories and all tables
//! as the limits cap them, with the limits. Its verdict comes from the very
//! check `start` runs (imports, exports, linking), so a module `preflight`
//! admits gets past those checks on `start`. What `preflight` cannot see is
//! what guest code does when it runs: the module's `start` section,
//! `_start`, and any trap, fuel or deadline failure there.
//!
//! ```
//! use component_actor::check::preflight;
//! use component_actor::{ComponentManifest, ComponentSource, ErrorKind, Runtime, RuntimeConfig};
//!
//! let runtime = Runtime::new(RuntimeConfig::default())?;
//! let source = ComponentSource::from_wat(r#"(module (import "host" "log" (func (param i32 i32))))"#);
//! let report = preflight(&runtime, &source, &ComponentManifest::new("logger")?);
//! assert!(!report.admitted());
//! assert_eq!(report.denied(), ["host::log"]);
//! assert_eq!(report.error.as_ref().map(|e| e.kind()), Some(ErrorKind::PermissionDenied));
//! # Ok::<(), component_actor::ComponentError>(())
//! ```

use std::time::{Duration, Instant};

use wasmtime::ExternType;

use crate::error::{ComponentError, ErrorKind};
use crate::manifest::ComponentManifest;
use crate::runtime::engine::Runtime;
use crate::runtime::host::HOST_FUNCTIONS;
use crate::runtime::loader::ComponentSource;
use crate::runtime::prepare::{
    LIFECYCLE_EXPORTS, Prepared, check_export, denied_imports, describe, expected_signature,
};

/// What [`preflight`] found.
#[derive(Debug)]
pub struct CheckReport {
    /// The component's name (from the manifest).
    pub component: String,
    /// Size of the WebAssembly binary once loaded (after parsing WAT);
    /// `None` when loading failed.
    pub binary_bytes: Option<usize>,
    /// How long compiling took (a cache hit is near zero); `None` when
    /// compiling was not reached.
    pub compile_time: Option<Duration>,
    /// The lifecycle exports (`_start`, `_cleanup`, `_health`), whether
    /// exported or not; empty when compiling was not reached.
    pub exports: Vec<ExportCheck>,
    /// Every import, in the module's order; empty when compiling was not reached.
    pub imports: Vec<ImportCheck>,
    /// Memory and tables the module needs at instantiation; `None` when
    /// compiling was not reached.
    pub resources: Option<ResourceCheck>,
    /// Why the module would not be admitted, as `start` would report it;
    /// `None` when it would be.
    pub error: Option<ComponentError>,
}

impl CheckReport {
    /// Whether `start` would get past loading, compiling, linking and the
    /// instantiation-time limits.
    pub fn admitted(&self) -> bool {
        self.error.is_none()
    }

    /// Every import the manifest does not permit, as `module::name`.
    pub fn denied(&self) -> Vec<&str> {
        self.imports
            .iter()
            .filter(|i| !i.permitted)
            .map(|i| i.path.as_str())
            .collect()
    }

    /// The `imports = [...]` line of a manifest's `[permissions]` table that
    /// permits everything already permitted plus every denied import;
    /// `None` when nothing is denied.
    pub fn permissions_line(&self, manifest: &ComponentManifest) -> Option<String> {
        let denied = self.denied();
        if denied.is_empty() {
            return None;
        }
        let mut all: Vec<String> = manifest
            .permissions()
            .imports()
            .map(|(m, n)| format!("{m}::{n}"))
            .collect();
        all.extend(denied.into_iter().map(str::to_string));
        all.sort_unstable();
        all.dedup();
        let quoted: Vec<String> = all.iter().map(|i| format!("{i:?}")).collect();
        Some(format!("imports = [{}]", quoted.join(", ")))
    }
}

/// One lifecycle export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportCheck {
    /// `_start`, `_cleanup` or `_health`.
    pub name: &'static str,
    /// The required type, `[] -> []` or `[] -> [i32]`.
    pub expected: String,
    /// The exported item's type (`[i32] -> []`, `a global`, ...); `None`
    /// when not exported, which is allowed.
    pub found: Option<String>,
    /// Exported with the required type, or not exported at all.
    pub ok: bool,
}

/// One import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportCheck {
    /// `module::name`, the form manifests use.
    pub path: String,
    /// `func [i32 i32] -> []`, `memory`, `table`, `global` or `tag`.
    pub ty: String,
    /// The manifest permits it.
    pub permitted: bool,
    /// A host function of this crate ([`HOST_FUNCTIONS`]) has that name.
    /// Permitting an import nothing provides still fails at linking.
    pub provided: bool,
}

/// What the module needs at instantiation, against the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResourceCheck {
    /// Memories the module defines (imported ones are not counted).
    pub memories: u32,
    /// The largest initial size of one defined memory, in bytes.
    pub initial_memory_bytes: u64,
    /// The initial sizes of all defined memories added up, in bytes: what
    /// instantiation needs, since `max_memory_bytes` caps all of an
    /// instance's memories together.
    pub total_initial_memory_bytes: u64,
    /// Tables the module defines.
    pub tables: u32,
    /// The largest initial size of one defined table, in elements.
    pub initial_table_elements: u64,
    /// The initial sizes of all defined tables added up, in elements (what
    /// `max_table_elements` caps).
    pub total_initial_table_elements: u64,
}

impl ResourceCheck {
    /// Reads the memory and table sections of a module that compiled.
    /// `wasmtime::Module` tells only the largest of each, and the limits
    /// cap their sum.
    fn of(bytes: &[u8]) -> Self {
        use wasmtime::wasmparser::{Parser, Payload};
        let mut r = Self::default();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload {
                Ok(Payload::MemorySection(memories)) => {
                    for memory in memories.into_iter().flatten() {
                        let size = memory.initial.saturating_mul(1 << memory.page_size_log2());
                        r.memories += 1;
                        r.initial_memory_bytes = r.initial_memory_bytes.max(size);
                        r.total_initial_memory_bytes =
                            r.total_initial_memory_bytes.saturating_add(size);
                    }
                }
                Ok(Payload::TableSection(tables)) => {
                    for table in tables.into_iter().flatten() {
                        let size = table.ty.initial;
                        r.tables += 1;
                        r.initial_table_elements = r.initial_table_elements.max(size);
                        r.total_initial_table_elements =
                            r.total_initial_table_elements.saturating_add(size);
                    }
                }
                // The module compiled, so this does not happen; what was
                // read so far is still a lower bound.
                Err(_) => break,
                Ok(_) => {}
            }
        }
        r
    }
}

/// Loads, compiles and checks a module against `manifest` without
/// instantiating it or running any of its code.
///
/// Never fails: every problem is in [`CheckReport::error`], with the kind
/// `start` would report ([`ErrorKind::Load`], `EmptyModule`, `InvalidMagic`,
/// `InvalidWat`, `Compile`, `PermissionDenied`, `ExportSignature`,
/// `Instantiation`, or `MemoryLimit` / `TableLimit` when an initial size is
/// already over the limit).
pub fn preflight(
    runtime: &Runtime,
    source: &ComponentSource,
    manifest: &ComponentManifest,
) -> CheckReport {
    let name = manifest.name();
    let mut report = CheckReport {
        component: name.to_string(),
        binary_bytes: None,
        compile_time: None,
        exports: Vec::new(),
        imports: Vec::new(),
        resources: None,
        error: None,
    };
    let bytes = match source.load(name) {
        Ok(b) => b,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    report.binary_bytes = Some(bytes.len());
    let t = Instant::now();
    let module = match runtime.compile(&bytes, name) {
        Ok(m) => m,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    report.compile_time = Some(t.elapsed());

    let denied = denied_imports(&module, manifest.permissions());
    report.imports = module
        .imports()
        .map(|i| {
            let path = format!("{}::{}", i.module(), i.name());
            let ty = i.ty();
            ImportCheck {
                permitted: !denied.contains(&path),
                provided: matches!(ty, ExternType::Func(_))
                    && HOST_FUNCTIONS.contains(&(i.module(), i.name())),
                ty: match &ty {
                    ExternType::Func(_) => format!("func {}", describe(&ty)),
                    other => describe(other).trim_start_matches("a ").to_string(),
                },
                path,
            }
        })
        .collect();
    report.exports = LIFECYCLE_EXPORTS
        .iter()
        .map(|&(export, results)| ExportCheck {
            name: export,
            expected: expected_signature(results),
            found: module.get_export(export).map(|ty| describe(&ty)),
            ok: check_export(&module, name, export, results).is_ok(),
        })
        .collect();
    let resources = ResourceCheck::of(&bytes);
    report.resources = Some(resources);

    // The verdict: the check `start` runs (imports, then exports, then
    // linking the permitted host functions), then the limits that
    // instantiation would hit before any guest code runs.
    let limits = manifest.limits();
    report.error = match Prepared::new(runtime.engine(), &module, manifest) {
        Err(e) => Some(e),
        Ok(_) if resources.total_initial_memory_bytes > limits.max_memory_bytes => {
            let what = match resources.memories {
                1 => "a memory's initial size is",
                _ => "the memories' initial sizes add up to",
            };
            Some(ComponentError::new(
                name,
                ErrorKind::MemoryLimit,
                format!(
                    "{what} {} bytes, over max_memory_bytes = {}",
                    resources.total_initial_memory_bytes, limits.max_memory_bytes
                ),
            ))
        }
        Ok(_) if resources.total_initial_table_elements > limits.max_table_elements => {
            let what = match resources.tables {
                1 => "a table's initial size is",
                _ => "the tables' initial sizes add up to",
            };
            Some(ComponentError::new(
                name,
                ErrorKind::TableLimit,
                format!(
                    "{what} {} elements, over max_table_elements = {}",
                    resources.total_initial_table_elements, limits.max_table_elements
                ),
            ))
        }
        Ok(_) => None,
    };
    report
}
