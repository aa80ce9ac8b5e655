//! WASI preview1 under the manifest, reactors and guarded calls to any
//! export, with the real C guests of `guests/` (built with clang and
//! wasi-libc; see guests/README.md) and WAT written for each rule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use component_actor::{
    ActorState, Child, ChildHealth, CleanupOutcome, ComponentActor, ComponentManifest,
    ComponentSource, ErrorKind, Preopen, ResourceLimits, Runtime, RuntimeConfig, Val, WasiConfig,
};

fn guest(name: &str) -> ComponentSource {
    ComponentSource::from_file(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("guests")
            .join(name),
    )
}

fn runtime() -> Runtime {
    Runtime::new(RuntimeConfig::default()).expect("runtime")
}

/// Generous per-call limits for the C guests (they are compiled at their
/// first start, and run under a debug build here).
fn limits() -> ResourceLimits {
    ResourceLimits {
        max_memory_bytes: 64 << 20,
        max_call_duration: Duration::from_secs(10),
        max_fuel: None,
        ..ResourceLimits::default()
    }
}

fn manifest(name: &str, wasi: WasiConfig) -> ComponentManifest {
    ComponentManifest::builder(name)
        .limits(limits())
        .wasi(wasi)
        .build()
        .expect("manifest")
}

/// A fresh temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "component-actor-wasi-{tag}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn a_c_command_gets_exactly_its_args_env_stdin_and_directories() {
    let dir = TempDir::new("echo");
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::create_dir_all(&output).unwrap();
    std::fs::write(
        input.join("input.txt"),
        "forty-five bytes of input for the C guest...\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("stdin.bin"), b"twenty bytes, exact\n").unwrap();
    let wasi = WasiConfig {
        args: vec!["one".into(), "two words".into()],
        env: BTreeMap::from([("GREETING".to_string(), "hello, world".to_string())]),
        stdin: Some(dir.path().join("stdin.bin")),
        preopens: vec![
            Preopen {
                host: input.clone(),
                guest: "/in".into(),
                writable: false,
            },
            Preopen {
                host: output.clone(),
                guest: "/out".into(),
                writable: true,
            },
        ],
        ..WasiConfig::default()
    };
    let runtime = runtime();
    let mut actor = ComponentActor::new(
        &runtime,
        guest("wasi_echo.wasm"),
        manifest("wasi_echo", wasi),
    );
    actor
        .start()
        .await
        .expect("the C command runs to completion");
    let out = actor.wasi_output().expect("WASI output");
    // A handle reads the same output (and still can after a spawn).
    assert_eq!(actor.handle().wasi_output().as_ref(), Some(&out));
    let stdout = text(&out.stdout);
    for line in [
        "argc=3",
        "argv[0]=wasi_echo",
        "argv[1]=one",
        "argv[2]=two words",
        "GREETING=hello, world",
        "stdin bytes=20 ",
        "/in/input.txt bytes=45 ",
        "/out/result.txt written",
        "exit=0",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
    assert_eq!(text(&out.stderr), "wasi_echo: done exit=0\n");
    assert_eq!(out.exit_code, None, "main returned 0: no proc_exit");
    assert!(!out.stdout_truncated && !out.stderr_truncated);
    let written = std::fs::read_to_string(output.join("result.txt")).expect("the guest wrote /out");
    assert!(!written.is_empty());
    actor.stop(Duration::from_secs(1)).await.unwrap();
    assert_eq!(actor.state(), ActorState::Terminated);
}

#[tokio::test]
async fn nothing_is_inherited_from_the_host_process() {
    // The test process has an environment and arguments; the guest sees
    // none of them, and no directory at all.
    assert!(std::env::vars().next().is_some());
    let runtime = runtime();
    let mut actor = ComponentActor::new(
        &runtime,
        guest("wasi_echo.wasm"),
        manifest("wasi_echo", WasiConfig::default()),
    );
    actor.start().await.unwrap();
    let stdout = text(&actor.wasi_output().unwrap().stdout);
    assert!(
        stdout.starts_with("argc=1\nargv[0]=wasi_echo\nGREETING unset\n"),
        "{stdout}"
    );
    assert!(stdout.contains("stdin bytes=0 "), "{stdout}");
    assert!(
        stdout.contains("/in unavailable") && stdout.contains("/out unavailable"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_nonzero_exit_fails_the_start_with_its_code_and_keeps_the_output() {
    let wasi = WasiConfig {
        env: BTreeMap::from([("EXIT_CODE".to_string(), "3".to_string())]),
        ..WasiConfig::default()
    };
    let runtime = runtime();
    let mut actor = ComponentActor::new(
        &runtime,
        guest("wasi_echo.wasm"),
        manifest("wasi_echo", wasi),
    );
    let e = actor.start().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Exit, "{e}");
    assert_eq!(e.exit_code(), Some(3));
    assert!(!e.kind().is_permanent());
    assert!(matches!(actor.state(), ActorState::Failed(_)));
    let out = actor.wasi_output().unwrap();
    assert_eq!(out.exit_code, Some(3));
    assert!(
        text(&out.stdout).contains("exit=3"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(text(&out.stderr), "wasi_echo: done exit=3\n");
    // It can be started again, and each start's output begins afresh.
    let again = actor.start().await.unwrap_err();
    assert_eq!(again.exit_code(), Some(3));
    let out = actor.wasi_output().unwrap();
    assert_eq!(text(&out.stdout).matches("argc=1").count(), 1);
}

/// A read-only preopen refuses writes, creation and removal, and nothing
/// outside a preopen is reachable: `..`, an absolute path, a symlink out.
#[tokio::test]
async fn a_read_only_preopen_is_read_only_and_nothing_outside_it_is_reachable() {
    let dir = TempDir::new("probe");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("existing.txt"), "fourteen bytes").unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "outside the preopen").unwrap();
    std::os::unix::fs::symlink(&secret, data.join("link_out")).unwrap();
    let wasi = WasiConfig {
        preopens: vec![Preopen {
            host: data.clone(),
            guest: "/data".into(),
            writable: false,
        }],
        ..WasiConfig::default()
    };
    let runtime = runtime();
    let mut actor = ComponentActor::new(
        &runtime,
        guest("wasi_fs_probe.wasm"),
        manifest("wasi_fs_probe", wasi),
    );
    actor.start().await.unwrap();
    let stdout = text(&actor.wasi_output().unwrap().stdout);
    let line = |prefix: &str| {
        stdout
            .lines()
            .find(|l| l.contains(prefix))
            .unwrap_or_else(|| panic!("no line for {prefix} in:\n{stdout}"))
            .to_string()
    };
    for probe in [
        "/data/../../etc/passwd",
        "open /etc/passwd",
        "link_out",
        "/data/new.txt",
        "unlink /data/existing.txt",
    ] {
        let l = line(probe);
        assert!(l.contains("failed"), "{probe} should be refused: {l}");
    }
    assert!(
        line("read /data/existing.txt").contains("ok bytes=14"),
        "{stdout}"
    );
    assert!(!stdout.contains("outside the preopen"));
    // The host tree is as it was.
    let mut names: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["existing.txt", "link_out"]);
    assert_eq!(
        std::fs::read_to_string(data.join("existing.txt")).unwrap(),
        "fourteen bytes"
    );
}

/// A guest blocked in a host call (`sleep(10)`: one `poll_oneoff`) is not
/// reached by epoch interruption; the timer around every WASI guest call
/// ends it at its deadline, as `Deadline`, and it never wakes.
#[tokio::test]
async fn a_guest_sleeping_in_a_host_call_is_stopped_at_its_deadline() {
    let limits = ResourceLimits {
        max_call_duration: Duration::from_millis(100),
        max_fuel: None,
        ..ResourceLimits::default()
    };
    let manifest = ComponentManifest::builder("wasi_sleep")
        .limits(limits)
        .wasi(WasiConfig::default())
        .build()
        .unwrap();
    let runtime = runtime();
    let mut actor = ComponentActor::new(&runtime, guest("wasi_sleep.wasm"), manifest);
    let t = Instant::now();
    let e = tokio::time::timeout(Duration::from_secs(5), actor.start())
        .await
        .expect("start returns at all (well before the 10 s sleep ends)")
        .unwrap_err();
    let took = t.elapsed();
    assert_eq!(e.kind(), ErrorKind::Deadline, "{e}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let out = actor.wasi_output().unwrap();
    assert_eq!(text(&out.stdout), "sleeping\n");
    assert!(matches!(actor.state(), ActorState::Failed(_)));
}

#[tokio::test]
async fn output_past_the_cap_is_dropped_and_flagged_and_the_guest_goes_on() {
    let wasi = WasiConfig {
        args: vec!["x".repeat(100)],
        max_output_bytes: 16,
        ..WasiConfig::default()
    };
    let runtime = runtime();
    let mut actor = ComponentActor::new(
        &runtime,
        guest("wasi_echo.wasm"),
        manifest("wasi_echo", wasi),
    );
    actor
        .start()
        .await
        .expect("printing too much does not stop the guest");
    let out = actor.wasi_output().unwrap();
    assert_eq!(text(&out.stdout), "argc=2\nargv[0]=w");
    assert!(out.stdout_truncated);
    assert_eq!(text(&out.stderr), "wasi_echo: done ");
    assert!(out.stderr_truncated);
    assert_eq!(actor.state(), ActorState::Ready);
}

#[tokio::test]
async fn a_reactor_is_initialized_and_any_export_can_be_called() {
    let runtime = runtime();
    let mut actor = ComponentActor::new(
        &runtime,
        guest("reactor_checksum.wasm"),
        ComponentManifest::new("reactor").unwrap(),
    );
    actor.start().await.unwrap();
    let one = |v: Vec<Val>| v.into_iter().next().expect("one result");
    assert_eq!(
        one(actor.call("initialized", &[]).await.unwrap()).i32(),
        Some(1)
    );
    assert_eq!(
        one(actor.call("fib", &[Val::I32(10)]).await.unwrap()).i64(),
        Some(55)
    );
    assert_eq!(
        one(actor.call("fib", &[Val::I32(90)]).await.unwrap()).i64(),
        Some(2_880_067_194_370_816_120)
    );
    assert_eq!(
        one(actor
            .call("divide", &[Val::I32(7), Val::I32(2)])
            .await
            .unwrap())
        .i32(),
        Some(3)
    );
    // Refused before any guest code runs: the actor stays Ready.
    let e = actor.call("nope", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotExported, "{e}");
    let e = actor.call("memory", &[]).await.unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::NotExported,
        "a memory is not a function: {e}"
    );
    let e = actor.call("fib", &[Val::I64(10)]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ExportSignature, "{e}");
    assert_eq!(e.message(), "`fib` takes [i32], called with [i64]");
    let e = actor.call("divide", &[Val::I32(1)]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ExportSignature, "{e}");
    assert_eq!(actor.state(), ActorState::Ready);
    assert_eq!(actor.health_check().await, ChildHealth::Healthy);
    // A trap fails the actor; nothing runs on that instance again.
    let e = actor
        .call("divide", &[Val::I32(1), Val::I32(0)])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Trap, "{e}");
    assert!(e.message().starts_with("`divide` trapped"), "{e}");
    assert!(matches!(actor.state(), ActorState::Failed(_)));
    assert!(matches!(
        actor.last_cleanup(),
        Some(CleanupOutcome::Poisoned(_))
    ));
    let e = actor.call("initialized", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidTransition, "{e}");
    // A new start is a new, initialized instance.
    actor.start().await.unwrap();
    assert_eq!(
        one(actor.call("initialized", &[]).await.unwrap()).i32(),
        Some(1)
    );
}

#[tokio::test]
async fn a_call_is_bounded_by_its_deadline_and_a_dropped_call_poisons() {
    let runtime = runtime();
    let limits = ResourceLimits {
        max_fuel: None,
        max_call_duration: Duration::from_millis(50),
        ..ResourceLimits::default()
    };
    let manifest = ComponentManifest::builder("spin")
        .limits(limits)
        .build()
        .unwrap();
    let mut actor = ComponentActor::new(&runtime, guest("reactor_checksum.wasm"), manifest);
    actor.start().await.unwrap();
    let e = tokio::time::timeout(Duration::from_secs(10), actor.call("spin", &[]))
        .await
        .expect("a spinning export returns at its deadline")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Deadline, "{e}");
    assert!(matches!(actor.state(), ActorState::Failed(_)));

    // Dropped by the caller mid-call (before its own deadline).
    let limits = ResourceLimits {
        max_fuel: None,
        max_call_duration: Duration::from_secs(60),
        ..ResourceLimits::default()
    };
    let manifest = ComponentManifest::builder("spin")
        .limits(limits)
        .build()
        .unwrap();
    let mut actor = ComponentActor::new(&runtime, guest("reactor_checksum.wasm"), manifest);
    actor.start().await.unwrap();
    let cut = tokio::time::timeout(Duration::from_millis(50), actor.call("spin", &[])).await;
    assert!(cut.is_err(), "the caller's timeout fired first");
    assert!(
        matches!(actor.state(), ActorState::Failed(_)),
        "{:?}",
        actor.state()
    );
    let e = actor.call("initialized", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidTransition, "{e}");
}

#[tokio::test]
async fn a_real_c_library_runs_as_a_reactor() {
    // zlib 1.2.13, built from Debian's source package (guests/build.sh):
    // compress a buffer, uncompress it into another, and the two agree.
    let runtime = runtime();
    let manifest = ComponentManifest::builder("zlib")
        .limits(limits())
        .build()
        .unwrap();
    let mut actor = ComponentActor::new(&runtime, guest("zlib_reactor.wasm"), manifest);
    actor.start().await.unwrap();
    let call = async |actor: &ComponentActor, name: &str, args: &[i32]| -> i32 {
        let args: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
        let out = actor
            .call(name, &args)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        out[0].i32().expect("i32")
    };
    let n = 4096;
    let src = call(&actor, "buf_alloc", &[n]).await;
    let bound = call(&actor, "zlib_compress_bound", &[n]).await;
    assert!(bound > n, "compressBound({n}) = {bound}");
    let packed = call(&actor, "buf_alloc", &[bound]).await;
    let unpacked = call(&actor, "buf_alloc", &[n]).await;
    assert!(src > 0 && packed > 0 && unpacked > 0);
    let size = call(&actor, "zlib_compress", &[src, n, packed, bound, 9]).await;
    assert!(size > 0 && size <= bound, "compress2 returned {size}");
    assert_eq!(
        call(&actor, "zlib_uncompress", &[packed, size, unpacked, n]).await,
        n
    );
    let crc = call(&actor, "zlib_crc32", &[src, n]).await;
    assert_eq!(call(&actor, "zlib_crc32", &[unpacked, n]).await, crc);
    assert_eq!(
        call(&actor, "zlib_adler32", &[src, 0]).await,
        1,
        "adler32 of nothing"
    );
    // Too small a buffer is zlib's Z_BUF_ERROR (-5), not a crash.
    assert_eq!(
        call(&actor, "zlib_uncompress", &[packed, size, unpacked, 1]).await,
        -5
    );
    assert_eq!(actor.state(), ActorState::Ready);
    actor.stop(Duration::from_secs(1)).await.unwrap();
}

#[test]
fn the_wasi_table_reads_back_with_paths_relative_to_the_manifest() {
    let dir = TempDir::new("manifest");
    let path = dir.path().join("m.toml");
    std::fs::write(
        &path,
        r#"
        [component]
        name = "w"
        [wasi]
        args = ["-e", "print(1)"]
        env = { KEY = "value" }
        stdin = "input.bin"
        preopens = [ { host = "data", guest = "/data", writable = false }, { host = "/abs", guest = "/x", writable = true } ]
        max_output_bytes = 1048576
        "#,
    )
    .unwrap();
    let m = ComponentManifest::from_file(&path).unwrap();
    let w = m.wasi().expect("[wasi]");
    assert_eq!(w.args, ["-e", "print(1)"]);
    assert_eq!(w.env.get("KEY").map(String::as_str), Some("value"));
    assert_eq!(
        w.stdin.as_deref(),
        Some(dir.path().join("input.bin").as_path())
    );
    assert_eq!(w.preopens[0].host, dir.path().join("data"));
    assert!(!w.preopens[0].writable);
    assert_eq!(w.preopens[1].host, Path::new("/abs"));
    assert!(w.preopens[1].writable);
    assert_eq!(w.max_output_bytes, 1 << 20);
    assert!(m.permissions().wasi());
    assert!(m.permissions().allows("wasi_snapshot_preview1", "fd_write"));
    // Without the table nothing changes.
    let plain = ComponentManifest::from_toml_str("[component]\nname = \"p\"\n").unwrap();
    assert!(plain.wasi().is_none());
    assert!(
        !plain
            .permissions()
            .allows("wasi_snapshot_preview1", "fd_write")
    );
    // An empty table grants WASI with the defaults.
    let empty = ComponentManifest::from_toml_str("[component]\nname = \"e\"\n[wasi]\n").unwrap();
    assert_eq!(empty.wasi(), Some(&WasiConfig::default()));
}

#[test]
fn bad_wasi_tables_are_manifest_errors() {
    for (toml, says) in [
        ("[wasi]\nnetwork = true", "unknown field"),
        ("[wasi]\nenv = { \"A=B\" = \"x\" }", "wasi.env key"),
        ("[wasi]\nenv = { \"\" = \"x\" }", "wasi.env key"),
        ("[wasi]\nargs = [\"a\\u0000b\"]", "NUL"),
        ("[wasi]\nmax_output_bytes = 67108865", "max_output_bytes"),
        ("[wasi]\nmax_output_bytes = -1", ""),
        (
            "[wasi]\npreopens = [ { host = \"a\", guest = \"/d\" }, { host = \"b\", guest = \"/d\" } ]",
            "twice",
        ),
        (
            "[wasi]\npreopens = [ { host = \"a\", guest = \"\" } ]",
            "guest path",
        ),
        ("[wasi]\npreopens = [ { host = \"a\" } ]", "guest"),
        ("[wasi]\nstdin = 3", ""),
    ] {
        let text = format!("[component]\nname = \"bad\"\n{toml}\n");
        let e = ComponentManifest::from_toml_str(&text).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Manifest, "{toml}: {e}");
        assert!(e.message().contains(says), "{toml}: {e}");
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}

#[tokio::test]
async fn a_missing_stdin_file_or_preopen_is_a_typed_error_and_nothing_else_breaks() {
    let runtime = runtime();
    for wasi in [
        WasiConfig {
            stdin: Some("/nonexistent/stdin.bin".into()),
            ..WasiConfig::default()
        },
        WasiConfig {
            preopens: vec![Preopen {
                host: "/nonexistent/dir".into(),
                guest: "/d".into(),
                writable: false,
            }],
            ..WasiConfig::default()
        },
    ] {
        let mut actor = ComponentActor::new(
            &runtime,
            guest("wasi_echo.wasm"),
            manifest("wasi_echo", wasi),
        );
        let e = actor.start().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Load, "{e}");
        assert!(e.message().contains("/nonexistent/"), "{e}");
        assert!(matches!(actor.state(), ActorState::Failed(_)));
    }
    // The runtime goes on.
    let mut ok = ComponentActor::new(
        &runtime,
        guest("wasi_echo.wasm"),
        manifest("ok", WasiConfig::default()),
    );
    ok.start().await.unwrap();
}

#[tokio::test]
async fn after_proc_exit_no_guest_code_runs() {
    // proc_exit(0) in _start: a successful start; _health and _cleanup
    // exist but are never run on the exited instance.
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func (export "_start") (call $exit (i32.const 0)) unreachable)
        (func (export "_health") (result i32) unreachable)
        (func (export "_cleanup") unreachable))"#;
    let runtime = runtime();
    let mut actor = ComponentActor::new(
        &runtime,
        ComponentSource::from_wat(wat),
        manifest("exit0", WasiConfig::default()),
    );
    actor.start().await.unwrap();
    assert_eq!(actor.wasi_output().unwrap().exit_code, Some(0));
    actor.stop(Duration::from_secs(1)).await.unwrap();
    assert_eq!(actor.last_cleanup(), Some(CleanupOutcome::Exited(0)));
    actor.start().await.unwrap();
    let ChildHealth::Failed(reason) = actor.health_check().await else {
        panic!("an exited guest cannot answer a health check");
    };
    assert!(reason.contains("exited with proc_exit(0)"), "{reason}");
    assert!(matches!(actor.state(), ActorState::Failed(_)));
}

#[tokio::test]
async fn wasi_imports_without_a_wasi_table_are_refused_once_with_the_fix() {
    let runtime = runtime();
    let mut actor = ComponentActor::new(
        &runtime,
        guest("wasi_echo.wasm"),
        ComponentManifest::new("wasi_echo").unwrap(),
    );
    let e = actor.start().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert!(e.message().contains("add a [wasi] table"), "{e}");
    assert!(
        !e.message().contains("fd_write"),
        "the WASI names are not listed: {e}"
    );
    assert!(
        e.denied_imports()
            .iter()
            .any(|(m, n)| *m == "wasi_snapshot_preview1" && *n == "fd_write")
    );
    let report = component_actor::check::preflight(
        &runtime,
        &guest("wasi_echo.wasm"),
        &ComponentManifest::new("wasi_echo").unwrap(),
    );
    assert!(report.needs_wasi());
    assert!(
        report.imports.iter().all(|i| i.provided),
        "every preview1 import is provided"
    );
    assert_eq!(
        report.permissions_line(&ComponentManifest::new("x").unwrap()),
        None
    );
    let granted = component_actor::check::preflight(
        &runtime,
        &guest("wasi_echo.wasm"),
        &manifest("wasi_echo", WasiConfig::default()),
    );
    assert!(granted.admitted(), "{:?}", granted.error);
    assert!(!granted.needs_wasi());
}
