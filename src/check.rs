//! Preflight: everything [`start`](crate::Child::start) checks before any
//! guest code runs, as a report of every problem instead of a first error.
//!
//! [`preflight`] loads the source (empty, magic, WAT syntax), checks the
//! size cap and the header (a WebAssembly component is refused in one
//! line), reads the imports, exports, memories and tables with wasmparser,
//! and lists every reason the module will not start that is knowable
//! without running it ([`CheckReport::problems`]): denied imports, imports
//! no host provides ([`ErrorKind::UnsupportedImport`]), provided imports of
//! the wrong type, mistyped lifecycle exports, and initial memory or tables
//! over the limits. Its verdict ([`CheckReport::error`]) comes from the
//! very code `start` runs, in the same order, so a module `preflight`
//! admits gets past those checks on `start`, and a refused one fails
//! `start` with the same kind. Like `start`, it compiles only a module
//! whose imports pass. What `preflight` cannot see is what guest code does
//! when it runs: the module's `start` section, `_start`, and any trap,
//! fuel or deadline failure there.
//!
//! ```
//! use component_actor::check::preflight;
//! use component_actor::{ComponentManifest, ComponentSource, ErrorKind, Runtime, RuntimeConfig};
//!
//! let runtime = Runtime::new(RuntimeConfig::default())?;
//! let source = ComponentSource::from_wat(r#"(module (import "host" "log" (func (param i32 i32))))"#);
//! let report = preflight(&runtime, &source, &ComponentManifest::new("logger")?);
//! assert!(!report.admitted());
//! assert_eq!(report.denied(), [("host", "log")]);
//! assert_eq!(report.error.as_ref().map(|e| e.kind()), Some(ErrorKind::PermissionDenied));
//! assert_eq!(report.problems[0].kind, ErrorKind::PermissionDenied);
//! # Ok::<(), component_actor::ComponentError>(())
//! ```

use std::time::{Duration, Instant};

use crate::error::{ComponentError, ErrorKind};
use crate::import_path::{import_label, import_toml_entry};
use crate::manifest::ComponentManifest;
use crate::manifest::WASI_MODULE;
use crate::runtime::engine::Runtime;
use crate::runtime::loader::ComponentSource;
use crate::runtime::prepare::{
    ACTOR_EXPORTS, Inspection, Item, Stage, check_header, check_size, expected_signature,
    host_signature, problems,
};

/// What [`preflight`] found.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug)]
pub struct CheckReport {
    /// The component's name (from the manifest).
    pub component: String,
    /// Size of the WebAssembly binary once loaded (after parsing WAT);
    /// `None` when loading failed.
    pub binary_bytes: Option<usize>,
    /// How long compiling and linking took (a cache hit is near zero);
    /// `None` when they were not reached (the module was refused before).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "compile_ms", serialize_with = "crate::ser::option_ms")
    )]
    pub compile_time: Option<Duration>,
    /// The exports the actor calls (lifecycle and messages), whether
    /// exported or not; empty when the module's sections were not read.
    pub exports: Vec<ExportCheck>,
    /// Every import, in the module's order; empty when the module's
    /// sections were not read.
    pub imports: Vec<ImportCheck>,
    /// Memory and tables the module needs at instantiation; `None` when
    /// the module's sections were not read.
    pub resources: Option<ResourceCheck>,
    /// Every reason the module will not start that is knowable without
    /// running it, in the order `start` meets them; empty when admitted.
    /// The first is the [`error`](Self::error).
    pub problems: Vec<Problem>,
    /// Why the module would not be admitted, as `start` would report it
    /// first; `None` when it would be.
    pub error: Option<ComponentError>,
}

/// One reason a module will not start.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The kind `start` would fail with for it.
    pub kind: ErrorKind,
    /// The one-line message, without the component name.
    pub message: String,
}

impl Problem {
    fn of(e: &ComponentError) -> Self {
        Self {
            kind: e.kind(),
            message: e.message().to_string(),
        }
    }
}

impl CheckReport {
    /// Whether `start` would get past loading, compiling, linking and the
    /// instantiation-time limits.
    pub fn admitted(&self) -> bool {
        self.error.is_none()
    }

    /// Whether the module imports WASI preview1 functions the manifest does
    /// not grant: adding a `[wasi]` table would grant them all.
    pub fn needs_wasi(&self) -> bool {
        self.imports
            .iter()
            .any(|i| !i.permitted && i.module == WASI_MODULE)
    }

    /// Every import the manifest does not permit, as exact
    /// `(module, name)` pairs in import order.
    pub fn denied(&self) -> Vec<(&str, &str)> {
        self.imports
            .iter()
            .filter(|i| !i.permitted)
            .map(|i| (i.module.as_str(), i.name.as_str()))
            .collect()
    }

    /// The `imports = [...]` line of a manifest's `[permissions]` table that
    /// permits everything already permitted plus every denied import, each
    /// written so that it reads back as exactly its pair (the table form
    /// when `module::name` would be ambiguous); `None` when nothing is
    /// denied.
    /// WASI imports are left out: a `[wasi]` table grants them
    /// ([`needs_wasi`](Self::needs_wasi)).
    pub fn permissions_line(&self, manifest: &ComponentManifest) -> Option<String> {
        let denied: Vec<(&str, &str)> = self
            .denied()
            .into_iter()
            .filter(|(m, _)| *m != WASI_MODULE)
            .collect();
        if denied.is_empty() {
            return None;
        }
        let mut all: Vec<(&str, &str)> = manifest.permissions().imports().collect();
        all.extend(denied);
        all.sort_unstable();
        all.dedup();
        let entries: Vec<String> = all.iter().map(|(m, n)| import_toml_entry(m, n)).collect();
        Some(format!("imports = [{}]", entries.join(", ")))
    }
}

/// One lifecycle export.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportCheck {
    /// `_initialize`, `_start`, `_cleanup`, `_health`, `alloc-message` or
    /// `handle-message`.
    pub name: &'static str,
    /// The required type, such as `[] -> [i32]`.
    pub expected: String,
    /// The exported item's type (`[i32] -> []`, `a global`, ...); `None`
    /// when not exported, which is allowed.
    pub found: Option<String>,
    /// Exported with the required type, or not exported at all.
    pub ok: bool,
}

/// One import.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportCheck {
    /// The module it is imported from, exactly.
    pub module: String,
    /// The imported name, exactly.
    pub name: String,
    /// How messages write it: `module::name`, or the table form when that
    /// would be ambiguous ([`import_label`]).
    #[cfg_attr(feature = "serde", serde(rename = "import"))]
    pub path: String,
    /// `func [i32 i32] -> []`, `memory`, `table`, `global` or `tag`.
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub ty: String,
    /// The manifest permits it.
    pub permitted: bool,
    /// A host function of this crate ([`HOST_FUNCTIONS`](crate::HOST_FUNCTIONS),
    /// or a WASI preview1 function from [`WASI_MODULE`]) has that name and
    /// this is a function import. Permitting an import
    /// nothing provides fails with [`ErrorKind::UnsupportedImport`].
    pub provided: bool,
}

/// What the module needs at instantiation, against the limits.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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
    fn of(inspection: &Inspection) -> Self {
        let sum = |v: &[u64]| v.iter().fold(0u64, |a, x| a.saturating_add(*x));
        Self {
            memories: inspection.memories.len() as u32,
            initial_memory_bytes: inspection.memories.iter().copied().max().unwrap_or(0),
            total_initial_memory_bytes: sum(&inspection.memories),
            tables: inspection.tables.len() as u32,
            initial_table_elements: inspection.tables.iter().copied().max().unwrap_or(0),
            total_initial_table_elements: sum(&inspection.tables),
        }
    }
}

/// Loads and checks a module against `manifest` without instantiating it
/// or running any of its code; compiles it only when `start` would.
///
/// Never fails: every problem is in [`CheckReport::problems`], and the
/// first, with the kind `start` would report, in [`CheckReport::error`]
/// ([`ErrorKind::Load`], `EmptyModule`, `InvalidMagic`, `InvalidWat`,
/// `ModuleTooLarge`, `Compile`, `PermissionDenied`, `UnsupportedImport`,
/// `ExportSignature`, `Instantiation`, or `MemoryLimit` / `TableLimit`
/// when an initial size is already over the limit).
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
        problems: Vec::new(),
        error: None,
    };
    let bytes = match source.load(name) {
        Ok(b) => b,
        Err(e) => return report.refused(e),
    };
    report.binary_bytes = Some(bytes.len());
    if let Err(e) = check_size(&bytes, manifest).and_then(|()| check_header(&bytes, name)) {
        return report.refused(e);
    }
    let found = Inspection::of(&bytes).map(|inspection| {
        report.imports = inspection
            .imports
            .iter()
            .map(|i| ImportCheck {
                module: i.module.clone(),
                name: i.name.clone(),
                path: import_label(&i.module, &i.name),
                ty: i.item.describe(),
                permitted: manifest.permissions().allows(&i.module, &i.name),
                provided: matches!(i.item, Item::Func(_))
                    && host_signature(&i.module, &i.name).is_some(),
            })
            .collect();
        report.exports = ACTOR_EXPORTS
            .iter()
            .map(|rule| {
                let found = inspection.export(rule.name).map(|item| match item {
                    Item::Func(Some(sig)) => sig.to_string(),
                    other => format!("a {}", other.describe()),
                });
                let expected = expected_signature(rule);
                ExportCheck {
                    name: rule.name,
                    ok: found.is_none() || found.as_deref() == Some(&expected),
                    expected,
                    found,
                }
            })
            .collect();
        report.resources = Some(ResourceCheck::of(&inspection));
        problems(&inspection, manifest)
    });
    let found = found.unwrap_or_default();
    let before = found.iter().any(|p| p.stage == Stage::BeforeCompile);
    // The verdict: the very checks `start` runs, in its order.
    let t = Instant::now();
    let verdict = runtime.prepare(&bytes, manifest);
    if !before {
        report.compile_time = Some(t.elapsed());
    }
    // The list: what the sections show, with whatever only the compiler
    // or the linker found put where `start` meets it.
    let mut list: Vec<Problem> = Vec::new();
    let stage = |s: Stage| {
        found
            .iter()
            .filter(move |p| p.stage == s)
            .map(|p| Problem::of(&p.error))
    };
    list.extend(stage(Stage::BeforeCompile));
    let unforeseen = verdict
        .as_ref()
        .err()
        .filter(|e| !found.iter().any(|p| p.error.kind() == e.kind()))
        .map(Problem::of);
    if let Some(p) = unforeseen.clone().filter(|p| p.kind == ErrorKind::Compile) {
        list.push(p);
    }
    list.extend(stage(Stage::AfterCompile));
    if let Some(p) = unforeseen.filter(|p| p.kind != ErrorKind::Compile) {
        list.push(p);
    }
    list.extend(stage(Stage::Instantiation));
    report.problems = list;
    report.error = match verdict {
        Err(e) => Some(e),
        Ok(_) => found
            .into_iter()
            .find(|p| p.stage == Stage::Instantiation)
            .map(|p| p.error),
    };
    report
}

impl CheckReport {
    fn refused(mut self, e: ComponentError) -> Self {
        self.problems = vec![Problem::of(&e)];
        self.error = Some(e);
        self
    }
}
