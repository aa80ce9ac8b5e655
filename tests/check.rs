//! Issue 9, defects 6, 10 and 11: permissions are exact pairs end to end,
//! a module is refused before it is compiled, and `check` reports every
//! reason a module will not start that it can know without running it.

use component_actor::check::preflight;
use component_actor::{
    Child, ComponentActor, ComponentManifest, ComponentSource, ErrorKind, Runtime, RuntimeConfig,
};

fn runtime() -> Runtime {
    Runtime::new(RuntimeConfig::default()).unwrap()
}

/// Pairs whose `module::name` string would be ambiguous or unusual.
const PAIRS: &[(&str, &str)] = &[
    ("host", "log"),
    ("a::b", "c"),
    ("a", "b::c"),
    ("a:", "b"),
    ("a", ":b"),
    ("x y", "\"quoted\" \\ name"),
    ("m", "tab\there"),
];

fn importing(pairs: &[(&str, &str)]) -> String {
    let mut wat = String::from("(module\n");
    for (m, n) in pairs {
        let esc = |s: &str| {
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\t', "\\t")
        };
        wat += &format!("  (import \"{}\" \"{}\" (func))\n", esc(m), esc(n));
    }
    wat + ")"
}

/// The permissions line `check` suggests, put in a manifest, permits
/// exactly the module's imports: every pair survives the trip through TOML.
#[test]
fn every_pair_round_trips_through_the_suggested_permissions_line() {
    let rt = runtime();
    let source = ComponentSource::from_wat(importing(PAIRS));
    let report = preflight(&rt, &source, &ComponentManifest::new("pairs").unwrap());
    let line = report
        .permissions_line(&ComponentManifest::new("pairs").unwrap())
        .expect("something is denied");
    assert!(!line.contains('\n'), "{line}");
    let text = format!("[component]\nname = \"pairs\"\n[permissions]\n{line}\n");
    let manifest =
        ComponentManifest::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut got: Vec<(String, String)> = manifest
        .permissions()
        .imports()
        .map(|(m, n)| (m.to_string(), n.to_string()))
        .collect();
    let mut want: Vec<(String, String)> = PAIRS
        .iter()
        .map(|(m, n)| (m.to_string(), n.to_string()))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{line}");
}

/// `allow_import("a::b", "c")` does not permit `("a", "b::c")`, and the
/// denied import is reported as the exact pair.
#[tokio::test]
async fn a_denied_import_is_reported_as_its_exact_pair() {
    let rt = runtime();
    let manifest = ComponentManifest::builder("pairs")
        .allow_import("a::b", "c")
        .build()
        .unwrap();
    let wat = importing(&[("a::b", "c"), ("a", "b::c")]);
    let mut actor = ComponentActor::new(&rt, ComponentSource::from_wat(wat), manifest);
    let e = actor.start().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert_eq!(format!("{:?}", e.denied_imports()), r#"[("a", "b::c")]"#);
    assert!(
        e.message().contains(r#"{ module = "a", name = "b::c" }"#),
        "{e}"
    );
}

/// A module whose imports are denied is refused before it is compiled:
/// nothing enters the compile cache, however large the module.
#[tokio::test]
async fn a_denied_module_is_refused_without_compiling() {
    let rt = runtime();
    let mut wat = String::from("(module (import \"env\" \"secret\" (func))\n");
    for i in 0..2000 {
        wat += &format!(
            "(func (export \"f{i}\") (result i32) (i32.add (i32.const {i}) (i32.mul (i32.const 3) (i32.const 7))))\n"
        );
    }
    wat += ")";
    let source = ComponentSource::from_wat(wat);
    let manifest = ComponentManifest::new("big").unwrap();
    let mut actor = ComponentActor::new(&rt, source.clone(), manifest.clone());
    let e = actor.start().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert_eq!(rt.cached_modules(), 0, "the denied module was compiled");
    let report = preflight(&rt, &source, &manifest);
    assert_eq!(
        report.error.as_ref().map(|e| e.kind()),
        Some(ErrorKind::PermissionDenied)
    );
    assert_eq!(rt.cached_modules(), 0, "check compiled the denied module");
    assert_eq!(report.compile_time, None);
}

/// A module over `max_module_bytes` is refused with `ModuleTooLarge`, by
/// `start` and by `check`, before anything else is read.
#[tokio::test]
async fn a_module_over_max_module_bytes_is_refused_before_compiling() {
    let rt = runtime();
    let manifest = ComponentManifest::from_toml_str(
        "[component]\nname = \"small\"\n[limits]\nmax_module_bytes = 64\n",
    )
    .unwrap();
    let wat = r#"(module (memory 1) (func (export "_start")) (func (export "a")) (func (export "b")) (func (export "c")))"#;
    let bytes = wat::parse_str(wat).unwrap();
    assert!(bytes.len() > 64, "{}", bytes.len());
    let source = ComponentSource::from_bytes(bytes);
    let mut actor = ComponentActor::new(&rt, source.clone(), manifest.clone());
    let e = actor.start().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ModuleTooLarge, "{e}");
    assert!(e.message().contains("max_module_bytes = 64"), "{e}");
    assert!(!e.to_string().contains('\n'));
    let report = preflight(&rt, &source, &manifest);
    assert_eq!(
        report.error.as_ref().map(|e| e.kind()),
        Some(ErrorKind::ModuleTooLarge)
    );
    assert_eq!(rt.cached_modules(), 0);
    // The default cap admits it.
    let mut actor = ComponentActor::new(&rt, source, ComponentManifest::new("small").unwrap());
    actor.start().await.unwrap();
}

/// A WebAssembly component is refused in one line, by `start` and `check`,
/// without wasmtime's advice to enable a feature.
#[tokio::test]
async fn a_component_is_refused_in_one_line() {
    const MESSAGE: &str = "this is a WebAssembly component; component-actor runs core modules";
    let rt = runtime();
    let source = ComponentSource::from_wat("(component)");
    let manifest = ComponentManifest::new("comp").unwrap();
    let mut actor = ComponentActor::new(&rt, source.clone(), manifest.clone());
    let e = actor.start().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Compile, "{e}");
    assert_eq!(e.message(), MESSAGE);
    let report = preflight(&rt, &source, &manifest);
    let e = report.error.expect("refused");
    assert_eq!(e.kind(), ErrorKind::Compile, "{e}");
    assert_eq!(e.message(), MESSAGE);
}

/// A permitted import no host function provides fails `start` with
/// `UnsupportedImport` (not "unknown import" at linking), and so does a
/// permitted memory, table or global import.
#[tokio::test]
async fn permitted_imports_nothing_provides_are_unsupported() {
    let rt = runtime();
    for (wat, module, name) in [
        (r#"(module (import "env" "foo" (func)))"#, "env", "foo"),
        (r#"(module (import "env" "mem" (memory 1)))"#, "env", "mem"),
        (
            r#"(module (import "env" "t" (table 1 funcref)))"#,
            "env",
            "t",
        ),
        (r#"(module (import "env" "g" (global i32)))"#, "env", "g"),
    ] {
        let manifest = ComponentManifest::builder("unsupported")
            .allow_import(module, name)
            .build()
            .unwrap();
        let source = ComponentSource::from_wat(wat);
        let mut actor = ComponentActor::new(&rt, source.clone(), manifest.clone());
        let e = actor.start().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedImport, "{wat}: {e}");
        assert!(e.message().contains(&format!("{module}::{name}")), "{e}");
        let report = preflight(&rt, &source, &manifest);
        assert_eq!(
            report.error.as_ref().map(|e| e.kind()),
            Some(ErrorKind::UnsupportedImport),
            "{wat}"
        );
    }
}

/// `check` and `start` draw the line at the same place: initial sizes exactly
/// at the caps are admitted and start; one page or one element past them is
/// refused by both, with the same kind, and `check` lists it as a problem.
#[tokio::test]
async fn check_and_start_agree_at_and_just_past_the_caps() {
    let rt = runtime();
    let limits = component_actor::ResourceLimits {
        max_memory_bytes: 4 * 65536,
        max_table_elements: 1000,
        ..Default::default()
    };
    let manifest = ComponentManifest::builder("caps")
        .limits(limits)
        .build()
        .unwrap();
    for (wat, want) in [
        (
            "(module (memory 2) (memory 2) (table 600 funcref) (table 400 funcref))",
            None,
        ),
        ("(module (memory 4) (table 1000 funcref))", None),
        (
            "(module (memory 2) (memory 3))",
            Some(ErrorKind::MemoryLimit),
        ),
        ("(module (memory 5))", Some(ErrorKind::MemoryLimit)),
        (
            "(module (table 600 funcref) (table 401 funcref))",
            Some(ErrorKind::TableLimit),
        ),
        ("(module (table 1001 funcref))", Some(ErrorKind::TableLimit)),
    ] {
        let source = ComponentSource::from_wat(wat);
        let report = preflight(&rt, &source, &manifest);
        let checked: Vec<ErrorKind> = report.problems.iter().map(|p| p.kind).collect();
        let mut actor = ComponentActor::new(&rt, source, manifest.clone());
        let started = actor.start().await.err().map(|e| e.kind());
        assert_eq!(started, want, "start of {wat}");
        assert_eq!(
            report.error.as_ref().map(|e| e.kind()),
            want,
            "check of {wat}"
        );
        assert_eq!(
            checked,
            want.into_iter().collect::<Vec<_>>(),
            "problems of {wat}"
        );
        assert_eq!(report.admitted(), want.is_none(), "{wat}");
    }
}

/// `check` says which imports a host function provides: a function import
/// of a host function's name, not an unknown name and not a memory or
/// table under a host function's name.
#[test]
fn check_marks_only_host_functions_as_provided() {
    let rt = runtime();
    let wat = r#"(module
        (import "host" "log" (func (param i32 i32)))
        (import "env" "foo" (func))
        (import "host" "log" (memory 1)))"#;
    let report = preflight(
        &rt,
        &ComponentSource::from_wat(wat),
        &ComponentManifest::new("provided").unwrap(),
    );
    let provided: Vec<(&str, &str, bool)> = report
        .imports
        .iter()
        .map(|i| (i.module.as_str(), i.name.as_str(), i.provided))
        .collect();
    assert_eq!(
        provided,
        [
            ("host", "log", true),
            ("env", "foo", false),
            ("host", "log", false)
        ]
    );
}

/// The one-line messages count right: one unsupported import or table is
/// named in the singular, several in the plural and added up.
#[tokio::test]
async fn messages_say_one_or_many_correctly() {
    let rt = runtime();
    let start = |wat: &'static str, manifest: ComponentManifest| {
        let rt = &rt;
        async move {
            let mut actor = ComponentActor::new(rt, ComponentSource::from_wat(wat), manifest);
            actor.start().await.unwrap_err().message().to_string()
        }
    };
    let allow = |pairs: &[(&str, &str)]| {
        let mut b = ComponentManifest::builder("counts");
        for (m, n) in pairs {
            b = b.allow_import(*m, *n);
        }
        b.build().unwrap()
    };
    let one = start(
        r#"(module (import "env" "a" (func)))"#,
        allow(&[("env", "a")]),
    )
    .await;
    assert!(
        one.starts_with("1 permitted import nothing provides: "),
        "{one}"
    );
    let two = start(
        r#"(module (import "env" "a" (func)) (import "env" "b" (func)))"#,
        allow(&[("env", "a"), ("env", "b")]),
    )
    .await;
    assert!(
        two.starts_with("2 permitted imports nothing provides: "),
        "{two}"
    );
    let small = || {
        ComponentManifest::builder("counts")
            .limits(component_actor::ResourceLimits {
                max_table_elements: 10,
                max_memory_bytes: 1 << 16,
                ..Default::default()
            })
            .build()
            .unwrap()
    };
    // `check` words the limits it can see before running anything.
    let problem = |wat: &str| {
        let report = preflight(&rt, &ComponentSource::from_wat(wat), &small());
        report
            .problems
            .iter()
            .map(|p| p.message.clone())
            .collect::<Vec<_>>()
    };
    let table = problem("(module (table 11 funcref))");
    assert_eq!(
        table,
        ["a table's initial size is 11 elements, over max_table_elements = 10"]
    );
    let tables = problem("(module (table 6 funcref) (table 6 funcref))");
    assert_eq!(
        tables,
        ["the tables' initial sizes add up to 12 elements, over max_table_elements = 10"]
    );
    let memory = problem("(module (memory 2))");
    assert_eq!(memory.len(), 1, "{memory:?}");
    assert!(
        memory[0].starts_with("a memory's initial size is"),
        "{memory:?}"
    );
    let memories = problem("(module (memory 1) (memory 1))");
    assert_eq!(memories.len(), 1, "{memories:?}");
    assert!(
        memories[0].starts_with("the memories' initial sizes add up to"),
        "{memories:?}"
    );
}

/// The imports are judged from the sections before the code: a module that
/// imports what the manifest denies, or what nothing provides, is refused
/// as such even when the bytes after its code section are garbage, which
/// only a compile would read.
#[tokio::test]
async fn imports_are_judged_before_the_code_is_read() {
    let rt = runtime();
    let mut bytes = wat::parse_str(r#"(module (import "env" "secret" (func)) (func))"#).unwrap();
    // A data section that claims 16 bytes and has one.
    bytes.extend_from_slice(&[0x0b, 0x10, 0x00]);
    let source = ComponentSource::from_bytes(bytes);
    let denying = ComponentManifest::new("garbage").unwrap();
    let permitting = ComponentManifest::builder("garbage")
        .allow_import("env", "secret")
        .build()
        .unwrap();
    for (manifest, kind) in [
        (denying, ErrorKind::PermissionDenied),
        (permitting, ErrorKind::UnsupportedImport),
    ] {
        let mut actor = ComponentActor::new(&rt, source.clone(), manifest.clone());
        let e = actor.start().await.unwrap_err();
        assert_eq!(e.kind(), kind, "{e}");
        let report = preflight(&rt, &source, &manifest);
        assert_eq!(report.error.as_ref().map(|e| e.kind()), Some(kind));
    }
}

/// Issue 12: `check` reports the message exports like the lifecycle ones,
/// and a `handle-message` without the rest of the message ABI, exactly as
/// `start` refuses it.
#[tokio::test]
async fn check_reports_the_message_exports_as_start_does() {
    let rt = runtime();
    let manifest = ComponentManifest::new("m").unwrap();
    let wat = |name: &str| {
        std::fs::read_to_string(format!("{}/wat/{name}.wat", env!("CARGO_MANIFEST_DIR"))).unwrap()
    };
    let echo = preflight(
        &rt,
        &ComponentSource::from_wat(wat("message_echo")),
        &manifest,
    );
    assert!(echo.error.is_none(), "{:?}", echo.error);
    let found: Vec<(&str, Option<&str>, bool)> = echo
        .exports
        .iter()
        .filter(|e| e.name.ends_with("-message"))
        .map(|e| (e.name, e.found.as_deref(), e.ok))
        .collect();
    assert_eq!(
        found,
        [
            ("alloc-message", Some("[i32] -> [i32]"), true),
            ("handle-message", Some("[i32 i32] -> [i64]"), true)
        ]
    );
    for name in [
        "message_missing_alloc",
        "message_missing_memory",
        "message_bad_signature",
    ] {
        let source = ComponentSource::from_wat(wat(name));
        let report = preflight(&rt, &source, &manifest);
        let mut actor = ComponentActor::new(&rt, source, manifest.clone());
        let started = actor.start().await.unwrap_err();
        let checked = report.error.expect("check must refuse it");
        assert_eq!(
            checked.kind(),
            ErrorKind::ExportSignature,
            "{name}: {checked}"
        );
        assert_eq!(checked.message(), started.message(), "{name}");
        assert_eq!(report.problems.len(), 1, "{name}: {:?}", report.problems);
    }
}

/// What only the compiler finds (a function body that does not type-check:
/// the sections read before compiling look fine) is listed once, with the
/// compiler's kind, and is the verdict.
#[test]
fn a_failure_only_the_compiler_finds_is_listed_once() {
    let rt = runtime();
    let source = ComponentSource::from_wat("(module (func (export \"f\") (result i32)))");
    let report = preflight(&rt, &source, &ComponentManifest::new("body").unwrap());
    let kinds: Vec<ErrorKind> = report.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ErrorKind::Compile], "{:?}", report.problems);
    assert_eq!(
        report.error.as_ref().map(|e| e.kind()),
        Some(ErrorKind::Compile)
    );
}
