//! The `component-actor` binary, run as a user runs it: every subcommand,
//! its exit codes (0 success, 1 the module failed, 2 bad input), its text
//! output and the shape of its `--json` documents.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// What one invocation produced.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    /// The whole of stdout as exactly one JSON document.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout))
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary in the crate root with `RUST_LOG` unset.
fn cli(args: &[&str]) -> Out {
    cli_env(args, None)
}

fn cli_env(args: &[&str], rust_log: Option<&str>) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_component-actor"));
    cmd.args(args).current_dir(root()).env_remove("RUST_LOG");
    if let Some(level) = rust_log {
        cmd.env("RUST_LOG", level);
    }
    let out = cmd.output().expect("the binary runs");
    let out = Out {
        code: out.status.code().expect("exited, not killed by a signal"),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    };
    assert!(
        !out.stderr.contains("panicked"),
        "{args:?} panicked:\n{}",
        out.stderr
    );
    out
}

/// A scratch directory of this test process, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("component-actor-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Self(dir)
    }

    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write scratch file");
        path.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn bundled_fixture_count() -> usize {
    std::fs::read_dir(root().join("wat"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.path()
                .extension()
                .is_some_and(|x| x == "wat" || x == "wasm")
        })
        .count()
}

/// Exit code 2, one `error:` line on stderr, nothing on stdout.
fn assert_bad_input(out: &Out, needle: &str) {
    assert_eq!(
        out.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(out.stdout.is_empty(), "stdout: {}", out.stdout);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", out.stderr);
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    assert!(lines[0].contains(needle), "`{needle}` not in: {}", lines[0]);
}

// ---------------------------------------------------------------- suite

#[test]
fn suite_passes_every_bundled_fixture() {
    let out = cli(&["suite"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let n = bundled_fixture_count();
    assert!(n >= 30, "{n} fixtures");
    assert_eq!(
        out.stdout.lines().last(),
        Some(format!("{n} passed, 0 failed").as_str())
    );
    let header = out.stdout.lines().next().unwrap();
    for column in ["fixture", "expected", "observed", "start", "stop", "result"] {
        assert!(header.contains(column), "{header}");
    }
    assert!(
        out.stdout.lines().any(|l| l.starts_with("good ")
            && l.contains("ok/healthy/completed")
            && l.ends_with(" ok")),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("MISMATCH"));
}

/// The bundled fixtures are in the binary: run from a folder with no
/// `wat/` (and with the source tree's path nowhere on the command line),
/// the suite finds every one of them and passes, as it does in the crate.
#[test]
fn the_bundled_suite_runs_from_any_folder() {
    let elsewhere = Scratch::new("elsewhere");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_component-actor"))
            .args(args)
            .current_dir(&elsewhere.0)
            .env_remove("RUST_LOG")
            .output()
            .expect("the binary runs");
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout).expect("UTF-8 stdout")
    };
    let n = bundled_fixture_count();
    let text = run(&[]);
    assert!(text.ends_with(&format!("{n} passed, 0 failed\n")), "{text}");
    let here: Value = serde_json::from_str(&run(&["suite", "--json"])).unwrap();
    let there = cli(&["suite", "--json"]).json();
    let outcomes = |doc: &Value| -> Vec<(String, String, String, bool)> {
        doc["fixtures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
                (s("name"), s("expected"), s("observed"), f["ok"] == true)
            })
            .collect()
    };
    assert_eq!(outcomes(&here), outcomes(&there));
    assert_eq!(outcomes(&here).len(), n);
    assert_eq!(here["passed"], n);
    // They came from the binary, not from a folder: not from one relative
    // to the working directory (there is none), nor from the source tree.
    assert_eq!(here["dir"], "(bundled) wat");
    for f in here["fixtures"].as_array().unwrap() {
        let file = f["file"].as_str().unwrap();
        assert!(file.starts_with("wat/"), "{file}");
        assert!(!elsewhere.0.join(file).exists(), "{file}");
        assert!(!file.contains(env!("CARGO_MANIFEST_DIR")), "{file}");
    }
}

/// Columns stay aligned whatever the names' lengths: cut at the header's
/// column starts, every row gives back exactly its fixture's cells.
#[test]
fn the_suite_table_stays_aligned_with_a_long_name() {
    let dir = Scratch::new("long-name");
    let long = "a_fixture_whose_name_is_much_longer_than_any_column_was_ever_meant_for";
    dir.file(
        &format!("{long}.wat"),
        ";; @describe: long\n;; @expect-start: ok\n(module)\n",
    );
    dir.file(
        "b.wat",
        ";; @describe: traps\n;; @expect-start: Trap\n(module (func (export \"_start\") unreachable))\n",
    );
    let path = dir.0.display().to_string();
    let out = cli(&["suite", &path]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let header = lines[0];
    let columns = ["fixture", "expected", "observed", "start", "stop", "result"];
    let starts: Vec<usize> = columns.iter().map(|c| header.find(c).unwrap()).collect();
    let doc = cli(&["suite", &path, "--json"]).json();
    let fixtures = doc["fixtures"].as_array().unwrap();
    for (line, fixture) in lines[1..=fixtures.len()].iter().zip(fixtures) {
        // Display columns, not bytes: `µs` is one column and two bytes.
        let chars: Vec<char> = line.chars().collect();
        let cell = |i: usize| -> String {
            assert!(
                starts[i] == 0 || chars[starts[i] - 1] == ' ',
                "column {i} does not start at {}: {line}",
                starts[i]
            );
            let rest: String = chars[starts[i]..].iter().collect();
            rest.split("  ")
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        };
        assert_eq!(cell(0), fixture["name"].as_str().unwrap(), "{line}");
        assert_eq!(cell(1), fixture["expected"].as_str().unwrap(), "{line}");
        assert_eq!(cell(2), fixture["observed"].as_str().unwrap(), "{line}");
        assert_eq!(cell(5), "ok", "{line}");
        // The right-aligned times end where the header's titles end.
        for (i, key) in [(3, "start_ms"), (4, "stop_ms")] {
            let end = starts[i] + columns[i].len();
            assert_eq!(chars.get(end), Some(&' '), "{line}");
            assert_ne!(chars[end - 1], ' ', "{line}");
            assert!(fixture[key].as_f64().is_some(), "{fixture}");
        }
    }
    assert!(lines[1].starts_with(long), "{}", out.stdout);
}

#[test]
fn no_arguments_runs_the_bundled_suite() {
    let out = cli(&[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let n = bundled_fixture_count();
    assert!(out.stdout.ends_with(&format!("{n} passed, 0 failed\n")));
}

#[test]
fn suite_json_lists_every_fixture() {
    let out = cli(&["suite", "--json"]);
    assert_eq!(out.code, 0);
    let doc = out.json();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["command"], "suite");
    assert_eq!(doc["exit_code"], 0);
    let n = bundled_fixture_count();
    assert_eq!(doc["passed"], n);
    assert_eq!(doc["failed"], 0);
    let fixtures = doc["fixtures"].as_array().unwrap();
    assert_eq!(fixtures.len(), n);
    let good = fixtures.iter().find(|f| f["name"] == "good").unwrap();
    assert_eq!(good["expected"], "ok/healthy/completed");
    assert_eq!(good["observed"], "ok/healthy/completed");
    assert_eq!(good["ok"], true);
    assert!(good["start_ms"].as_f64().unwrap() > 0.0);
    assert!(good["stop_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(good["problems"], Value::Array(vec![]));
    assert!(good["file"].as_str().unwrap().ends_with("good.wat"));
    assert!(!good["describe"].as_str().unwrap().is_empty());
    // The rest of the row is the library's Fixture and Observation.
    assert_eq!(good["stop_timeout_ms"], 100.0);
    assert_eq!(good["expect"]["start"], "ok");
    assert_eq!(good["state_after_start"], "Ready");
    assert_eq!(good["state_after_stop"], "Terminated");
    assert_eq!(good["cleanup"], "Completed");
    let hang = fixtures
        .iter()
        .find(|f| f["name"] == "cleanup_hang")
        .unwrap();
    assert_eq!(hang["stop_timeout_ms"], 20.0, "{hang}");
}

#[test]
fn suite_mismatch_exits_1() {
    let dir = Scratch::new("mismatch");
    dir.file(
        "liar.wat",
        ";; @describe: claims to start but traps\n;; @expect-start: ok\n\
         (module (func (export \"_start\") unreachable))\n",
    );
    dir.file(
        "honest.wat",
        ";; @describe: traps and says so\n;; @expect-start: Trap\n\
         (module (func (export \"_start\") unreachable))\n",
    );
    let out = cli(&["suite", &dir.0.display().to_string()]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("MISMATCH"));
    assert!(out.stdout.contains("start: expected ok, got Trap"));
    assert!(
        out.stdout.ends_with("1 passed, 1 failed\n"),
        "{}",
        out.stdout
    );

    let doc = cli(&["suite", &dir.0.display().to_string(), "--json"]).json();
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["failed"], 1);
    let liar = &doc["fixtures"][1];
    assert_eq!(liar["name"], "liar");
    assert_eq!(liar["ok"], false);
    assert_eq!(liar["observed"], "Trap");
    assert_eq!(liar["problems"].as_array().unwrap().len(), 1);
}

#[test]
fn suite_bad_directory_is_bad_input() {
    assert_bad_input(
        &cli(&["suite", "/nonexistent/fixtures"]),
        "/nonexistent/fixtures",
    );
    let dir = Scratch::new("empty-suite");
    assert_bad_input(
        &cli(&["suite", &dir.0.display().to_string()]),
        "no .wat or .wasm",
    );
    // A broken fixture is a failed case, not bad input: see
    // a_broken_fixture_is_one_failed_case_and_the_rest_still_run.
}

// ---------------------------------------------------------------- run

#[test]
fn run_prints_each_transition_and_the_cleanup() {
    let out = cli(&["run", "wat/good.wat"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let events: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| {
            [
                "Creating -> Starting",
                "Starting -> Ready",
                "health: Healthy",
                "Ready -> Stopping",
                "Stopping -> Terminated",
            ]
            .into_iter()
            .find(|e| l.contains(e))
        })
        .collect();
    assert_eq!(
        events,
        [
            "Creating -> Starting",
            "Starting -> Ready",
            "health: Healthy",
            "Ready -> Stopping",
            "Stopping -> Terminated"
        ]
    );
    let ready = out
        .stdout
        .lines()
        .find(|l| l.contains("Starting -> Ready"))
        .unwrap();
    assert!(ready.contains("64 KiB"), "memory and peak: {ready}");
    assert!(out.stdout.contains("cleanup   Completed"));
}

#[test]
fn run_json_has_transitions_stats_and_cleanup() {
    let out = cli(&["run", "wat/good.wat", "--json"]);
    assert_eq!(out.code, 0);
    let doc = out.json();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["command"], "run");
    assert_eq!(doc["component"], "good");
    assert_eq!(doc["manifest"], Value::Null);
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["started"], true);
    assert_eq!(doc["limits"]["max_memory_bytes"], 16 << 20);
    assert_eq!(doc["limits"]["max_fuel"], 10_000_000);
    assert_eq!(doc["limits"]["max_call_duration_ms"], 100);
    assert_eq!(doc["stop_timeout_ms"], 100.0);

    let steps: Vec<(String, String)> = doc["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["from"].as_str().unwrap().into(),
                t["to"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("Creating", "Starting"),
        ("Starting", "Ready"),
        ("Ready", "Stopping"),
        ("Stopping", "Terminated"),
    ];
    assert_eq!(steps.len(), want.len(), "{steps:?}");
    for ((from, to), (f, t)) in steps.iter().zip(want) {
        assert_eq!((from.as_str(), to.as_str()), (f, t));
    }
    let times: Vec<f64> = doc["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["at_ms"].as_f64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    let start = &doc["start"];
    assert_eq!(start["ok"], true);
    assert_eq!(start["error"], Value::Null);
    assert!(start["duration_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(start["stats"]["memory_bytes"], 65536);
    assert_eq!(start["stats"]["peak_memory_bytes"], 65536);
    let fuel_after_start = start["stats"]["fuel_consumed"].as_u64().unwrap();
    assert!(fuel_after_start > 0);

    assert_eq!(doc["health"]["status"], "Healthy");
    assert_eq!(doc["health"]["reason"], Value::Null);
    let fuel_after_health = doc["health"]["stats"]["fuel_consumed"].as_u64().unwrap();
    assert!(fuel_after_health > fuel_after_start);

    let stop = &doc["stop"];
    assert_eq!(stop["ok"], true);
    assert_eq!(stop["cleanup"], "Completed");
    assert_eq!(stop["cleanup_reason"], Value::Null);
    assert_eq!(stop["state"], "Terminated");
    assert!(stop["stats"]["fuel_consumed"].as_u64().unwrap() > fuel_after_health);
    assert_eq!(doc["logs"], Value::Array(vec![]));
}

#[test]
fn run_start_failure_exits_1_with_the_typed_error() {
    let out = cli(&["run", "wat/start_trap.wat"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("Starting -> Failed"), "{}", out.stdout);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("start failed: "))
        .unwrap();
    assert!(line.starts_with("start failed: Trap: "), "{line}");
    assert!(line.contains("unreachable"), "{line}");

    let doc = cli(&["run", "wat/start_trap.wat", "--json"]).json();
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["started"], false);
    assert_eq!(doc["start"]["ok"], false);
    assert_eq!(doc["start"]["error"]["kind"], "Trap");
    assert_eq!(doc["health"], Value::Null);
    assert_eq!(doc["stop"]["cleanup"], Value::Null);
    assert_eq!(doc["stop"]["state"], "Terminated");
    let last = doc["transitions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["from"].as_str(), last["to"].as_str()),
        (Some("Failed"), Some("Terminated"))
    );
}

#[test]
fn run_denied_imports_are_all_listed() {
    let doc = cli(&["run", "wat/denied_many.wat", "--json"]).json();
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["start"]["error"]["kind"], "PermissionDenied");
    assert_eq!(
        doc["start"]["error"]["denied"],
        serde_json::json!([
            "env::abort",
            "env::memory",
            "host::log",
            "host::secret_table",
            "wasi::clock"
        ])
    );
}

#[test]
fn run_cleanup_timeout_still_exits_0() {
    let args = [
        "run",
        "wat/cleanup_hang.wat",
        "--manifest",
        "wat/fuel_unlimited.toml",
        "--stop-timeout-ms",
        "20",
    ];
    let out = cli(&args);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("cleanup   TimedOut"), "{}", out.stdout);
    let doc = cli(&[&args[..], &["--json"]].concat()).json();
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["stop_timeout_ms"], 20.0);
    assert_eq!(doc["stop"]["cleanup"], "TimedOut");
    assert_eq!(doc["stop"]["state"], "Terminated");
    assert!(doc["stop"]["duration_ms"].as_f64().unwrap() >= 20.0);
}

#[test]
fn run_cleanup_trap_still_exits_0_with_the_reason() {
    let doc = cli(&["run", "wat/cleanup_trap.wat", "--json"]).json();
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["stop"]["cleanup"], "Trapped");
    assert!(
        doc["stop"]["cleanup_reason"]
            .as_str()
            .unwrap()
            .contains("unreachable")
    );
}

#[test]
fn run_shows_guest_logs_under_a_manifest() {
    let out = cli(&[
        "run",
        "wat/log_permitted.wat",
        "--manifest",
        "wat/log_permitted.toml",
        "--json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let doc = out.json();
    assert_eq!(doc["manifest"], "wat/log_permitted.toml");
    assert_eq!(doc["component"], "log_permitted");
    assert_eq!(doc["limits"]["imports"], serde_json::json!(["host::log"]));
    let logs = doc["logs"].as_array().unwrap();
    assert!(!logs.is_empty());
    assert_eq!(
        doc["stop"]["stats"]["log_lines"].as_u64().unwrap(),
        logs.len() as u64
    );
    assert!(
        logs.iter()
            .all(|l| !l["message"].as_str().unwrap().is_empty())
    );
}

#[test]
fn logs_go_to_stderr_filtered_by_rust_log() {
    // Default warn: the failed start is logged.
    let out = cli(&["run", "wat/start_trap.wat"]);
    assert!(
        out.stderr.contains("WARN") && out.stderr.contains("start failed"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("WARN"));
    // RUST_LOG=error silences it.
    let out = cli_env(&["run", "wat/start_trap.wat"], Some("error"));
    assert_eq!(out.stderr, "");
    // RUST_LOG=info shows the transitions.
    let out = cli_env(&["run", "wat/good.wat"], Some("info"));
    assert!(out.stderr.contains("state transition"), "{}", out.stderr);
    // The JSON on stdout is untouched by logging.
    let out = cli_env(&["run", "wat/good.wat", "--json"], Some("info"));
    assert_eq!(out.json()["exit_code"], 0);
}

#[test]
fn suite_and_soak_log_only_errors_by_default() {
    // Their failures are on purpose (suite) or repeated (soak) and counted
    // in their own output; RUST_LOG still turns the warnings on.
    let args = ["soak", "wat/cleanup_trap.wat", "--cycles", "3", "--json"];
    let out = cli(&args);
    assert_eq!(out.json()["cleanup"]["Trapped"], 3);
    assert_eq!(out.stderr, "");
    let out = cli_env(&args, Some("warn"));
    let warnings = out
        .stderr
        .lines()
        .filter(|l| l.contains("cleanup failed"))
        .count();
    assert_eq!(warnings, 4, "warm-up and 3 cycles:\n{}", out.stderr);
    assert_eq!(cli(&["suite"]).stderr, "");
    assert!(
        cli_env(&["suite"], Some("warn"))
            .stderr
            .contains("start failed")
    );
}

#[test]
fn binary_modules_run_and_check_like_text() {
    let dir = Scratch::new("binary");
    let text = std::fs::read_to_string(root().join("wat/good.wat")).unwrap();
    let wasm = dir.file("good.wasm", wat::parse_str(&text).unwrap());
    let out = cli(&["check", &wasm]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(!out.stdout.contains("parsed from WebAssembly text"));
    let doc = cli(&["run", &wasm, "--json"]).json();
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["component"], "good");
    assert_eq!(doc["stop"]["cleanup"], "Completed");
}

// ---------------------------------------------------------------- check

#[test]
fn check_admits_a_good_module() {
    let out = cli(&["check", "wat/good.wat"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("admitted"));
    assert!(
        out.stdout.contains("_health   ok      [] -> [i32]"),
        "{}",
        out.stdout
    );
}

#[test]
fn check_lists_every_denied_import_with_the_manifest_line() {
    let out = cli(&["check", "wat/denied_many.wat"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    for import in [
        "env::abort",
        "env::memory",
        "host::log",
        "host::secret_table",
        "wasi::clock",
    ] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.contains(import) && l.contains("DENIED")),
            "{import}:\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.lines().any(|l| l.trim()
        == r#"imports = ["env::abort", "env::memory", "host::log", "host::secret_table", "wasi::clock"]"#));
}

#[test]
fn the_suggested_manifest_line_admits_the_module() {
    let doc = cli(&["check", "wat/log_denied.wat", "--json"]).json();
    assert_eq!(doc["admitted"], false);
    let line = doc["permissions_line"].as_str().unwrap();
    assert_eq!(line, r#"imports = ["host::log"]"#);
    let dir = Scratch::new("suggested");
    let manifest = dir.file(
        "m.toml",
        format!("[component]\nname = \"fixed\"\n[permissions]\n{line}\n"),
    );
    let out = cli(&["check", "wat/log_denied.wat", "--manifest", &manifest]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let out = cli(&["run", "wat/log_denied.wat", "--manifest", &manifest]);
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[test]
fn check_json_shape() {
    let out = cli(&["check", "wat/denied_many.wat", "--json"]);
    assert_eq!(out.code, 1);
    let doc = out.json();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["command"], "check");
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["admitted"], false);
    assert_eq!(doc["component"], "denied_many");
    assert!(doc["binary_bytes"].as_u64().unwrap() > 8);
    // Denied imports are refused before compiling, as `start` refuses them.
    assert_eq!(doc["compile_ms"], Value::Null);
    assert_eq!(doc["error"]["kind"], "PermissionDenied");
    assert_eq!(doc["problems"][0]["kind"], "PermissionDenied");
    let denied = serde_json::json!([
        "env::abort",
        "env::memory",
        "host::log",
        "host::secret_table",
        "wasi::clock"
    ]);
    assert_eq!(doc["denied"], denied);
    assert_eq!(doc["error"]["denied"], denied);
    assert_eq!(
        doc["permissions_line"],
        r#"imports = ["env::abort", "env::memory", "host::log", "host::secret_table", "wasi::clock"]"#
    );
    let imports = doc["imports"].as_array().unwrap();
    assert_eq!(imports.len(), 5);
    let log = imports.iter().find(|i| i["import"] == "host::log").unwrap();
    assert_eq!(log["type"], "func [i32 i32] -> []");
    assert_eq!(log["permitted"], false);
    assert_eq!(log["provided"], true);
    let memory = imports
        .iter()
        .find(|i| i["import"] == "env::memory")
        .unwrap();
    assert_eq!(memory["type"], "memory");
    assert_eq!(memory["provided"], false);
    let exports: Vec<&str> = doc["exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    // `_initialize` too, since reactors (WASI's constructors) came in.
    assert_eq!(
        exports,
        [
            "_initialize",
            "_start",
            "_cleanup",
            "_health",
            "alloc-message",
            "handle-message"
        ]
    );
    assert_eq!(doc["resources"]["memories"], 0);
    assert_eq!(doc["limits"]["imports"], Value::Array(vec![]));
}

#[test]
fn check_reports_a_wrong_export_signature() {
    let out = cli(&["check", "wat/export_bad_health.wat", "--json"]);
    assert_eq!(out.code, 1);
    let doc = out.json();
    assert_eq!(doc["error"]["kind"], "ExportSignature");
    let exports = doc["exports"].as_array().unwrap();
    let health = exports.iter().find(|e| e["name"] == "_health").unwrap();
    assert_eq!(health["ok"], false);
    assert_eq!(health["found"], "[] -> [i64]");
    assert_eq!(health["expected"], "[] -> [i32]");
    let start = exports.iter().find(|e| e["name"] == "_start").unwrap();
    assert_eq!(start["found"], Value::Null);
    assert_eq!(start["ok"], true);
}

#[test]
fn check_runs_no_guest_code() {
    // The start section loops forever: running it would fail with Deadline.
    let out = cli(&[
        "check",
        "wat/start_section_loop.wat",
        "--manifest",
        "wat/fuel_unlimited.toml",
    ]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let out = cli(&["check", "wat/start_trap.wat"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[test]
fn check_refuses_initial_sizes_over_the_limits() {
    let doc = cli(&["check", "wat/memory_initial_over.wat", "--json"]).json();
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["error"]["kind"], "MemoryLimit");
    assert_eq!(doc["resources"]["initial_memory_bytes"], 257 * 65536);
    let doc = cli(&["check", "wat/table_over.wat", "--json"]).json();
    assert_eq!(doc["error"]["kind"], "TableLimit");
    assert_eq!(doc["resources"]["initial_table_elements"], 10001);
}

/// The limits cap all of an instance's memories (and tables) together, so
/// `check` adds them up: two memories that each fit but not together are
/// refused, as `start` refuses them.
#[test]
fn check_adds_up_every_memory_and_every_table() {
    let doc = cli(&[
        "check",
        "wat/memories_over_together.wat",
        "--manifest",
        "wat/memory_1mib.toml",
        "--json",
    ])
    .json();
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["error"]["kind"], "MemoryLimit", "{doc}");
    assert_eq!(doc["resources"]["memories"], 2);
    assert_eq!(doc["resources"]["initial_memory_bytes"], 10 * 65536);
    assert_eq!(doc["resources"]["total_initial_memory_bytes"], 20 * 65536);
    let doc = cli(&["check", "wat/tables_over_together.wat", "--json"]).json();
    assert_eq!(doc["error"]["kind"], "TableLimit", "{doc}");
    assert_eq!(doc["resources"]["tables"], 2);
    assert_eq!(doc["resources"]["initial_table_elements"], 6000);
    assert_eq!(doc["resources"]["total_initial_table_elements"], 12000);
    // Under a cap both fit together in, the same module is admitted.
    let dir = Scratch::new("sums");
    let roomy = dir.file(
        "roomy.toml",
        b"[component]\nname = \"roomy\"\n[limits]\nmax_memory_bytes = 1310720\n",
    );
    let doc = cli(&[
        "check",
        "wat/memories_over_together.wat",
        "--manifest",
        &roomy,
        "--json",
    ])
    .json();
    assert_eq!(doc["admitted"], true, "{doc}");
}

#[test]
fn check_refuses_a_binary_with_a_bad_magic() {
    let dir = Scratch::new("magic");
    let elf = dir.file("elf.wasm", b"\x7fELF\x02\x01\x01\0\0\0\0\0");
    let out = cli(&["check", &elf]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("InvalidMagic"), "{}", out.stdout);
    let doc = cli(&["check", &elf, "--json"]).json();
    assert_eq!(doc["error"]["kind"], "InvalidMagic");
    assert_eq!(doc["binary_bytes"], Value::Null);
    assert_eq!(doc["exports"], Value::Array(vec![]));
    let empty = dir.file("empty.wasm", b"");
    assert_eq!(
        cli(&["check", &empty, "--json"]).json()["error"]["kind"],
        "EmptyModule"
    );
}

/// `check` lists every reason the module will not start, not just the
/// first: a denied import, a permitted import nothing provides, a provided
/// import of the wrong type, a mistyped lifecycle export and an initial
/// memory over the limit. The verdict is the first of them, as `start`
/// reports it.
#[test]
fn check_reports_every_problem_at_once() {
    let dir = Scratch::new("problems");
    let module = dir.file(
        "many.wat",
        r#"(module
  (import "env" "a" (func))
  (import "host" "nope" (func))
  (import "host" "log" (func (param i64)))
  (memory 300)
  (func (export "_health") (result i64) (i64.const 0)))"#,
    );
    let manifest = dir.file(
        "many.toml",
        "[component]\nname = \"many\"\n[permissions]\nimports = [\"host::nope\", \"host::log\"]\n",
    );
    let doc = cli(&["check", &module, "--manifest", &manifest, "--json"]).json();
    assert_eq!(doc["exit_code"], 1, "{doc}");
    assert_eq!(doc["error"]["kind"], "PermissionDenied", "{doc}");
    let kinds: Vec<&str> = doc["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no problems list: {doc}"))
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "PermissionDenied",
            "UnsupportedImport",
            "ExportSignature",
            "MemoryLimit"
        ],
        "{doc}"
    );
    let log = doc["imports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["import"] == "host::log")
        .unwrap();
    assert_eq!(log["module"], "host");
    assert_eq!(log["name"], "log");
    let out = cli(&["check", &module, "--manifest", &manifest]);
    assert_eq!(out.code, 1);
    for needle in [
        "env::a",
        "host::nope",
        "host::log",
        "_health",
        "max_memory_bytes",
    ] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.contains("problem") && l.contains(needle)),
            "{needle}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn check_refuses_a_component_in_one_line() {
    let dir = Scratch::new("component");
    let file = dir.file("c.wat", "(component)");
    let doc = cli(&["check", &file, "--json"]).json();
    assert_eq!(doc["error"]["kind"], "Compile");
    assert_eq!(
        doc["error"]["message"],
        "this is a WebAssembly component; component-actor runs core modules"
    );
    let out = cli(&["run", &file]);
    assert_eq!(out.code, 1);
    assert!(!out.stdout.contains("enable"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("this is a WebAssembly component; component-actor runs core modules"),
        "{}",
        out.stdout
    );
}

/// Over every bundled fixture read from its own file: when `check` refuses a
/// module, `start` fails with the same kind; and every kind `start` reports
/// before guest code runs, `check` reports too.
#[test]
fn check_agrees_with_start_on_every_fixture() {
    const PREFLIGHT: [&str; 10] = [
        "ModuleTooLarge",
        "UnsupportedImport",
        "EmptyModule",
        "InvalidMagic",
        "InvalidWat",
        "Compile",
        "PermissionDenied",
        "ExportSignature",
        "Instantiation",
        "Load",
    ];
    let mut compared = 0;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(root().join("wat"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wat"))
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).unwrap();
        let header = |key: &str| {
            text.lines().find_map(|l| {
                l.trim()
                    .strip_prefix(&format!(";; @{key}:"))
                    .map(|v| v.trim().to_string())
            })
        };
        if header("source").is_some_and(|s| s != "file") {
            continue;
        }
        let expected = header("expect-start").unwrap();
        let file = format!("wat/{}", path.file_name().unwrap().to_string_lossy());
        let manifest = header("manifest").map(|m| format!("wat/{m}"));
        let mut args = vec!["check", file.as_str(), "--json"];
        if let Some(m) = &manifest {
            args.extend(["--manifest", m.as_str()]);
        }
        let doc = cli(&args).json();
        let refused = doc["error"]["kind"].as_str();
        match refused {
            Some(kind) => assert_eq!(kind, expected, "{file}: check refused with {kind}"),
            None => assert!(
                !PREFLIGHT.contains(&expected.as_str()),
                "{file}: check admitted a module start refuses with {expected}"
            ),
        }
        assert_eq!(doc["admitted"], refused.is_none());
        // The list of every problem starts with the verdict, and is empty
        // for an admitted module.
        let problems = doc["problems"].as_array().unwrap();
        assert_eq!(
            problems.first().and_then(|p| p["kind"].as_str()),
            refused,
            "{file}: {doc}"
        );
        compared += 1;
    }
    assert!(compared >= 25, "{compared}");
}

// ---------------------------------------------------------------- soak

#[test]
fn soak_json_reports_percentiles_throughput_memory_and_verdict() {
    let out = cli(&["soak", "wat/good.wat", "--cycles", "300", "--json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["command"], "soak");
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["cycles"], 300);
    assert_eq!(doc["concurrency"], 1);
    assert_eq!(doc["warmup_cycles"], 1);
    assert_eq!(doc["error"], Value::Null);
    assert_eq!(doc["cleanup"], serde_json::json!({"Completed": 300}));
    assert_eq!(doc["mismatches"]["count"], 0);
    assert!(doc["cycles_per_second"].as_f64().unwrap() > 0.0);
    assert!(doc["elapsed_ms"].as_f64().unwrap() > 0.0);
    for phase in ["start_ms", "stop_ms"] {
        let p = &doc[phase];
        let v: Vec<f64> = ["p50", "p95", "p99", "max"]
            .iter()
            .map(|k| p[k].as_f64().unwrap())
            .collect();
        assert!(v[0] > 0.0, "{phase}: {p}");
        assert!(v.windows(2).all(|w| w[0] <= w[1]), "{phase}: {p}");
        assert!(p["mean"].as_f64().unwrap() > 0.0);
    }
    let m = &doc["memory"];
    assert!(m["rss_before_kib"].as_u64().unwrap() > 0);
    assert!(m["maps_before"].as_u64().unwrap() > 0);
    assert_eq!(
        m["rss_growth_kib"].as_i64().unwrap(),
        m["rss_after_kib"].as_i64().unwrap() - m["rss_before_kib"].as_i64().unwrap()
    );
    assert_eq!(
        m["maps_growth"].as_i64().unwrap(),
        m["maps_after"].as_i64().unwrap() - m["maps_before"].as_i64().unwrap()
    );
    assert_eq!(doc["leak"]["verdict"], "none", "{}", doc["leak"]);
    assert!(doc["leak"]["maps_bound"].as_i64().unwrap() > 0);
    assert!(doc["leak"]["rss_bound_kib"].as_i64().unwrap() > 0);
    // Plain progress is off under --json on a non-terminal.
    assert!(!out.stderr.contains("soak:"), "{}", out.stderr);
}

#[test]
fn soak_text_has_a_table_and_plain_progress_off_a_terminal() {
    let out = cli(&["soak", "wat/good.wat", "--cycles", "100"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    for needle in [
        "p50",
        "p95",
        "p99",
        "cycles/s",
        "VmRSS",
        "mappings",
        "leak        none",
    ] {
        assert!(out.stdout.contains(needle), "{needle}:\n{}", out.stdout);
    }
    assert!(out.stdout.lines().any(|l| l.starts_with("start ")));
    assert!(out.stdout.lines().any(|l| l.starts_with("stop ")));
    // No terminal: no bar, a line per tenth.
    assert!(!out.stderr.contains('\r'));
    assert!(
        out.stderr.contains("soak: 100/100 cycles"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.starts_with("soak: "))
            .count(),
        10
    );
}

#[test]
fn soak_pooling_uses_a_pool_and_says_so() {
    let out = cli(&[
        "soak",
        "wat/good.wat",
        "--cycles",
        "300",
        "--concurrency",
        "2",
        "--pooling",
        "--json",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    // This machine can reserve a small pool; elsewhere it would fall back
    // to on-demand allocation and say so here.
    assert_eq!(doc["allocation"], "pooling");
    assert_eq!(doc["cleanup"], serde_json::json!({"Completed": 300}));
    assert_eq!(doc["mismatches"]["count"], 0);
    let doc = cli(&["soak", "wat/good.wat", "--cycles", "10", "--json"]).json();
    assert_eq!(doc["allocation"], "on-demand");
    let text = cli(&["soak", "wat/good.wat", "--cycles", "10", "--pooling"]).stdout;
    assert!(text.contains("pooling allocation"), "{text}");
}

#[test]
fn soak_shares_cycles_between_workers() {
    let doc = cli(&[
        "soak",
        "wat/health_degraded.wat",
        "--cycles",
        "101",
        "--concurrency",
        "3",
        "--json",
    ])
    .json();
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["concurrency"], 3);
    assert_eq!(doc["warmup_cycles"], 3);
    assert_eq!(doc["cleanup"], serde_json::json!({"NotExported": 101}));
}

#[test]
fn soak_with_few_cycles_is_inconclusive_about_leaks() {
    let doc = cli(&["soak", "wat/minimal.wat", "--cycles", "5", "--json"]).json();
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["leak"]["verdict"], "inconclusive");
}

#[test]
fn soak_start_failure_exits_1() {
    let out = cli(&["soak", "wat/start_trap.wat", "--cycles", "10"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("start failed (warm-up): Trap:"),
        "{}",
        out.stdout
    );
    let doc = cli(&["soak", "wat/start_trap.wat", "--cycles", "10", "--json"]).json();
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["error"]["kind"], "Trap");
    assert_eq!(doc["start_ms"], Value::Null);
}

// ---------------------------------------------------------------- bad input

#[test]
fn missing_module_file_is_bad_input_for_every_subcommand() {
    for cmd in ["run", "check", "soak"] {
        assert_bad_input(
            &cli(&[cmd, "wat/no_such_module.wat"]),
            "wat/no_such_module.wat",
        );
    }
    assert_bad_input(&cli(&["run", "wat"]), "is a directory");
}

#[test]
fn manifest_problems_are_bad_input() {
    let dir = Scratch::new("manifests");
    let cases = [
        (
            "unknown.toml",
            "[component]\nname = \"x\"\ncolour = \"red\"\n",
            "unknown field `colour`",
        ),
        (
            "unknown_table.toml",
            "[component]\nname = \"x\"\n[extras]\n",
            "unknown field `extras`",
        ),
        (
            "negative.toml",
            "[component]\nname = \"x\"\n[limits]\nmax_memory_bytes = -1\n",
            "integer `-1`, expected u64 (line 4: `max_memory_bytes = -1`)",
        ),
        (
            "huge.toml",
            "[component]\nname = \"x\"\n[limits]\nmax_memory_bytes = 99999999999\n",
            "max_memory_bytes",
        ),
        (
            "zero_fuel.toml",
            "[component]\nname = \"x\"\n[limits]\nmax_fuel = 0\n",
            "max_fuel",
        ),
        (
            "slow.toml",
            "[component]\nname = \"x\"\n[limits]\nmax_call_duration_ms = 7200000\n",
            "max_call_duration",
        ),
        (
            "import.toml",
            "[component]\nname = \"x\"\n[permissions]\nimports = [\"log\"]\n",
            "module::name",
        ),
        ("broken.toml", "[component\n", "invalid manifest"),
    ];
    for (name, text, needle) in cases {
        let path = dir.file(name, text);
        for cmd in ["run", "check", "soak"] {
            assert_bad_input(&cli(&[cmd, "wat/good.wat", "--manifest", &path]), needle);
        }
    }
    assert_bad_input(
        &cli(&["run", "wat/good.wat", "--manifest", "wat/no_such.toml"]),
        "cannot read manifest wat/no_such.toml",
    );
}

/// A command line clap refused: exit code 2, nothing on stdout, and clap's
/// own message on stderr (`error: ...`, its tip, the pointer to `--help`).
fn assert_usage_error(out: &Out, needle: &str) {
    assert_eq!(
        out.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(out.stdout.is_empty(), "stdout: {}", out.stdout);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    // The first paragraph: clap names what is missing on the next line.
    let first = out.stderr.split("\n\n").next().unwrap_or_default();
    assert!(first.contains(needle), "`{needle}` not in: {first}");
    assert!(
        out.stderr.contains("For more information, try '--help'."),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_arguments_are_bad_input() {
    for (args, needle) in [
        (&["soak", "wat/good.wat", "--cycles", "-5"][..], "--cycles"),
        (&["soak", "wat/good.wat", "--cycles", "0"][..], "--cycles"),
        (
            &["soak", "wat/good.wat", "--cycles", "99999999999"][..],
            "--cycles",
        ),
        (
            &["soak", "wat/good.wat", "--concurrency", "0"][..],
            "--concurrency",
        ),
        (
            &["soak", "wat/good.wat", "--concurrency", "100000"][..],
            "--concurrency",
        ),
        (
            &["run", "wat/good.wat", "--stop-timeout-ms", "-1"][..],
            "--stop-timeout-ms",
        ),
        (
            &["run", "wat/good.wat", "--stop-timeout-ms", "0"][..],
            "--stop-timeout-ms",
        ),
        (
            &["run", "wat/good.wat", "--stop-timeout-ms", "10000000"][..],
            "--stop-timeout-ms",
        ),
        (&["run"][..], "<FILE>"),
        (&["frobnicate"][..], "frobnicate"),
        (&["check", "wat/good.wat", "--colour"][..], "--colour"),
    ] {
        assert_usage_error(&cli(args), needle);
    }
}

/// clap's suggestions reach the user: a misspelt subcommand or option
/// names the one meant.
#[test]
fn usage_errors_keep_clap_suggestions() {
    let out = cli(&["sute"]);
    assert_usage_error(&out, "sute");
    assert!(
        out.stderr.contains("similar subcommand exists: 'suite'"),
        "{}",
        out.stderr
    );
    let out = cli(&["soak", "wat/good.wat", "--cycle", "5"]);
    assert_usage_error(&out, "--cycle");
    assert!(
        out.stderr.contains("similar argument exists: '--cycles'"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_input_under_json_is_a_json_document_too() {
    let out = cli(&["run", "wat/no_such_module.wat", "--json"]);
    assert_eq!(out.code, 2);
    let doc = out.json();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["command"], "run");
    assert_eq!(doc["exit_code"], 2);
    assert_eq!(doc["error"]["kind"], "Load");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no_such_module")
    );
    assert_eq!(out.stderr.lines().count(), 1);

    let doc = cli(&["soak", "wat/good.wat", "--cycles", "0", "--json"]).json();
    assert_eq!(doc["exit_code"], 2);
    assert_eq!(doc["command"], "soak");
    assert_eq!(doc["error"]["kind"], "Usage");

    let dir = Scratch::new("json-manifest");
    let bad = dir.file("bad.toml", "[component]\nname = \"x\"\nextra = 1\n");
    let doc = cli(&["check", "wat/good.wat", "--manifest", &bad, "--json"]).json();
    assert_eq!(doc["exit_code"], 2);
    assert_eq!(doc["error"]["kind"], "Manifest");
}

#[test]
fn help_and_version_exit_0() {
    let out = cli(&["--help"]);
    assert_eq!(out.code, 0);
    for cmd in ["suite", "run", "check", "soak", "--json"] {
        assert!(out.stdout.contains(cmd), "{cmd}");
    }
    let out = cli(&["soak", "--help"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("--concurrency"));
    let out = cli(&["--version"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains(env!("CARGO_PKG_VERSION")));
}

// ------------------------------------------- issue 9, defects 12 and 13 (fix/cli)
// 12: guest-controlled text (host::log lines, import names, file names) is
// shown with its control characters escaped in every human output, and
// exactly in the JSON. 13: a broken fixture is one failed case of the suite.

/// What the guest below logs: an escape sequence that clears the screen, a
/// line feed that would forge a line, a carriage return, a right-to-left
/// override and a C1 next-line.
const HOSTILE_LOG: &str = "\x1b[2J\nFAKE line\r\u{202e}evil\u{85}";

/// A module whose `_start` logs [`HOSTILE_LOG`] (24 bytes) through `host::log`.
const HOSTILE_LOG_WAT: &str = r#"(module
  (import "host" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\1b[2J\nFAKE line\r\e2\80\aeevil\c2\85")
  (func (export "_start") (call $log (i32.const 0) (i32.const 24))))
"#;

/// A module importing a function whose module and name hold control and
/// bidi characters; no manifest permits it.
const HOSTILE_IMPORT_WAT: &str = r#"(module
  (import "ev\1b[31mil\n" "FAKE\rname\e2\80\ae" (func))
  (func (export "_start")))
"#;

/// `text` as a terminal would get it: no control character but the line
/// feeds between lines, no bidi override, and no line forged by the guest.
fn assert_shown_safely(what: &str, text: &str) {
    for c in text.chars() {
        assert!(
            c == '\n' || !(c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "{what} holds a raw {:?}:\n{text}",
            c
        );
    }
    for line in text.lines() {
        assert!(
            !line.starts_with("FAKE"),
            "{what} has a line forged by the guest: {line:?}\n{text}"
        );
    }
}

/// Every string in a JSON document, however deep.
fn json_strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(json_strings).collect(),
        Value::Object(o) => o.values().flat_map(json_strings).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn guest_log_text_is_escaped_in_text_and_exact_in_json() {
    let dir = Scratch::new("hostile-log");
    let module = dir.file("hostile_log.wat", HOSTILE_LOG_WAT);
    let manifest = root().join("wat/log_permitted.toml").display().to_string();
    let args = ["run", module.as_str(), "--manifest", manifest.as_str()];

    // The timeline (stdout) and the tracing line of the log (stderr).
    let out = cli_env(&args, Some("info"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_shown_safely("run stdout", &out.stdout);
    assert_shown_safely("run stderr", &out.stderr);
    let escaped = r"\x1b[2J\nFAKE line\r\u{202e}evil\u{85}";
    assert!(
        out.stdout.contains(&format!("guest log: {escaped}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains("component_actor::guest") && l.contains(escaped)),
        "{}",
        out.stderr
    );

    // The JSON keeps the exact text.
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let doc = cli(&json_args).json();
    assert_eq!(doc["logs"][0]["message"], HOSTILE_LOG);
}

#[test]
fn import_names_are_escaped_in_every_text_output_and_exact_in_json() {
    let dir = Scratch::new("hostile-import");
    let module = dir.file("hostile_import.wat", HOSTILE_IMPORT_WAT);
    let (raw_module, raw_name) = ("ev\x1b[31mil\n", "FAKE\rname\u{202e}");
    let escaped = r"ev\x1b[31mil\n";
    let escaped_toml = r"ev\u001B[31mil\n";

    for args in [
        vec!["run", module.as_str()],
        vec!["check", module.as_str()],
        vec!["soak", module.as_str(), "--cycles", "1"],
    ] {
        // Default logging: `run` also logs a warning quoting the error.
        let out = cli(&args);
        assert_eq!(out.code, 1, "{args:?}\n{}\n{}", out.stdout, out.stderr);
        assert_shown_safely(&format!("{args:?} stdout"), &out.stdout);
        assert_shown_safely(&format!("{args:?} stderr"), &out.stderr);
        // Escaped by the CLI, or already by the exact TOML form of the pair.
        assert!(
            out.stdout.contains(escaped) || out.stdout.contains(escaped_toml),
            "{args:?}\n{}",
            out.stdout
        );
        let out = cli_env(&args, Some("info"));
        assert_shown_safely(&format!("{args:?} stderr at info"), &out.stderr);

        let mut json_args = args.clone();
        json_args.push("--json");
        let strings = json_strings(&cli(&json_args).json());
        assert!(
            strings.iter().any(|s| s.contains(raw_module))
                && strings.iter().any(|s| s.contains(raw_name)),
            "{args:?}: the exact import pair is in no JSON string: {strings:?}"
        );
    }

    // The suite's mismatch line quotes the start error.
    dir.file(
        "claims_ok.wat",
        format!(";; @describe: claims to start\n;; @expect-start: ok\n{HOSTILE_IMPORT_WAT}"),
    );
    std::fs::remove_file(&module).unwrap();
    let out = cli(&["suite", &dir.0.display().to_string()]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_shown_safely("suite stdout", &out.stdout);
    assert!(
        out.stdout.contains(escaped) || out.stdout.contains(escaped_toml),
        "{}",
        out.stdout
    );
}

#[test]
fn a_file_name_with_control_characters_is_one_escaped_error_line() {
    let out = cli(&["run", "/nonexistent/\x1b[2J\nFAKE line\r.wat"]);
    assert_bad_input(&out, r"\x1b[2J\nFAKE line\r.wat");
    assert_shown_safely("stderr", &out.stderr);
}

#[test]
fn a_broken_fixture_is_one_failed_case_and_the_rest_still_run() {
    let dir = Scratch::new("broken-fixtures");
    dir.file(
        "a_starts.wat",
        ";; @describe: starts\n;; @expect-start: ok\n;; @expect-health: healthy\n\
         ;; @expect-cleanup: not-exported\n(module)\n",
    );
    dir.file("b_headerless.wat", "(module)\n");
    dir.file(
        "c_bad_kind.wat",
        ";; @describe: names no error kind\n;; @expect-start: Nonsense\n(module)\n",
    );
    dir.file(
        "d_traps.wat",
        ";; @describe: traps\n;; @expect-start: Trap\n\
         (module (func (export \"_start\") unreachable))\n",
    );
    let path = dir.0.display().to_string();

    let out = cli(&["suite", &path]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.ends_with("2 passed, 2 failed\n"),
        "{}",
        out.stdout
    );
    let row = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{}", out.stdout))
    };
    assert!(row("a_starts").ends_with(" ok"), "{}", out.stdout);
    assert!(row("d_traps").ends_with(" ok"), "{}", out.stdout);
    assert!(row("b_headerless").ends_with(" BROKEN"), "{}", out.stdout);
    assert!(row("c_bad_kind").ends_with(" BROKEN"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("b_headerless.wat: missing `;; @expect-start:` header"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Nonsense"), "{}", out.stdout);

    let doc = cli(&["suite", &path, "--json"]).json();
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(
        (doc["passed"].clone(), doc["failed"].clone()),
        (2.into(), 2.into())
    );
    let fixtures = doc["fixtures"].as_array().unwrap();
    assert_eq!(fixtures.len(), 4);
    let broken = &fixtures[1];
    assert_eq!(broken["name"], "b_headerless");
    assert_eq!(broken["ok"], false);
    assert_eq!(broken["expected"], Value::Null);
    assert_eq!(broken["observed"], Value::Null);
    assert!(
        broken["problems"][0]
            .as_str()
            .unwrap()
            .contains("missing `;; @expect-start:` header"),
        "{broken}"
    );
    assert_eq!(fixtures[3]["ok"], true);
}

// ------------------------------------------------------ issue 11 (WASI, --invoke)

/// A manifest granting WASI to `guests/wasi_echo.wasm`, with the files it
/// reads in `dir`: argv, `$GREETING`, `$EXIT_CODE`, a 3-byte stdin,
/// `/in/input.txt` and a writable `/out`; `extra` goes under `[wasi]`.
/// The deadline is generous: the C guest's start is slow in a debug build.
fn wasi_echo_manifest(dir: &Scratch, exit_code: i32, extra: &str) -> String {
    std::fs::create_dir_all(dir.0.join("in")).unwrap();
    std::fs::create_dir_all(dir.0.join("out")).unwrap();
    dir.file("in/input.txt", "hello\n");
    dir.file("stdin.txt", "abc");
    dir.file(
        "echo.toml",
        format!(
            r#"[component]
name = "echo"

[limits]
max_call_duration_ms = 10000

[wasi]
args = ["one", "two words"]
env = {{ GREETING = "hi", EXIT_CODE = "{exit_code}" }}
stdin = "stdin.txt"
preopens = [ {{ host = "in", guest = "/in" }}, {{ host = "out", guest = "/out", writable = true }} ]
{extra}
"#
        ),
    )
}

#[test]
fn run_json_has_a_wasi_commands_output_and_exit_code() {
    let dir = Scratch::new("wasi-echo-0");
    let manifest = wasi_echo_manifest(&dir, 0, "");
    let out = cli(&[
        "run",
        "guests/wasi_echo.wasm",
        "--manifest",
        &manifest,
        "--json",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    assert_eq!(doc["started"], true);
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["invoke"], Value::Null);
    let wasi = &doc["wasi"];
    // Returning 0 from main is no proc_exit at all.
    assert_eq!(wasi["exit_code"], Value::Null);
    assert_eq!(wasi["stdout_truncated"], false);
    assert_eq!(wasi["stderr_truncated"], false);
    let stdout = wasi["stdout"].as_str().unwrap();
    for line in [
        "argc=3\n",
        "argv[0]=echo\n",
        "argv[1]=one\n",
        "argv[2]=two words\n",
        "GREETING=hi\n",
        "stdin bytes=3 ",
        "/in/input.txt bytes=6 ",
        "/out/result.txt written",
    ] {
        assert!(stdout.contains(line), "{line:?} not in {stdout:?}");
    }
    assert!(stdout.starts_with("argc=3\n"), "{stdout:?}");
    assert_eq!(wasi["stderr"], "wasi_echo: done exit=0\n");
    assert!(dir.0.join("out/result.txt").is_file());
}

#[test]
fn run_json_a_nonzero_proc_exit_fails_the_start_with_its_code() {
    let dir = Scratch::new("wasi-echo-3");
    let manifest = wasi_echo_manifest(&dir, 3, "");
    let out = cli(&[
        "run",
        "guests/wasi_echo.wasm",
        "--manifest",
        &manifest,
        "--json",
    ]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["started"], false);
    assert_eq!(doc["start"]["error"]["kind"], "Exit");
    assert_eq!(doc["start"]["error"]["exit_code"], 3);
    assert_eq!(doc["health"], Value::Null);
    // What the guest wrote before exiting is kept.
    assert_eq!(doc["wasi"]["exit_code"], 3);
    let stdout = doc["wasi"]["stdout"].as_str().unwrap();
    assert!(stdout.starts_with("argc=3\n"), "{stdout:?}");
    assert!(stdout.ends_with("exit=3\n"), "{stdout:?}");
    assert_eq!(doc["wasi"]["stderr"], "wasi_echo: done exit=3\n");

    // The text shows the same, and the exit code.
    let out = cli(&["run", "guests/wasi_echo.wasm", "--manifest", &manifest]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    for line in [
        "stdout    9 lines, 168 B",
        "  | argc=3",
        "  | argv[2]=two words",
        "stderr    1 line, 23 B",
        "  | wasi_echo: done exit=3",
        "exit code 3 (proc_exit)",
        "start failed: Exit: `_start` ended with proc_exit(3)",
    ] {
        assert!(
            out.stdout.lines().any(|l| l == line),
            "{line:?} not in:\n{}",
            out.stdout
        );
    }
}

#[test]
fn run_without_a_wasi_table_has_no_wasi_output() {
    let doc = cli(&["run", "wat/good.wat", "--json"]).json();
    assert_eq!(doc["wasi"], Value::Null);
    assert_eq!(doc["invoke"], Value::Null);
    let out = cli(&["run", "wat/good.wat"]);
    assert!(!out.stdout.contains("stdout "), "{}", out.stdout);
    assert!(!out.stdout.contains("exit code"), "{}", out.stdout);
}

#[test]
fn run_flags_truncated_wasi_output() {
    let dir = Scratch::new("wasi-echo-truncated");
    let manifest = wasi_echo_manifest(&dir, 0, "max_output_bytes = 16");
    let out = cli(&[
        "run",
        "guests/wasi_echo.wasm",
        "--manifest",
        &manifest,
        "--json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let wasi = &out.json()["wasi"];
    assert_eq!(wasi["stdout_truncated"], true);
    assert_eq!(wasi["stdout"], "argc=3\nargv[0]=e");
    assert_eq!(wasi["stderr_truncated"], true);
    assert_eq!(wasi["stderr"].as_str().unwrap().len(), 16);

    let out = cli(&["run", "guests/wasi_echo.wasm", "--manifest", &manifest]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let heading = out
        .stdout
        .lines()
        .find(|l| l.starts_with("stdout "))
        .unwrap();
    assert!(heading.contains("(truncated"), "{heading}");
    assert!(out.stdout.contains("  | argv[0]=e\n"), "{}", out.stdout);
}

/// A WASI command that writes escape sequences and a carriage return to
/// stdout and stderr through `fd_write`, then calls `proc_exit(0)`.
const HOSTILE_WASI_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\1b[31mred\rFAKE\nok\n")
  (data (i32.const 32) "err\1b]0;title\07\n")
  ;; iovecs: stdout's (0, 17) at 64, stderr's (32, 14) at 72
  (data (i32.const 64) "\00\00\00\00\11\00\00\00\20\00\00\00\0e\00\00\00")
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 96)))
    (drop (call $fd_write (i32.const 2) (i32.const 72) (i32.const 1) (i32.const 96)))
    (call $proc_exit (i32.const 0))))
"#;

#[test]
fn run_text_escapes_wasi_output_as_it_escapes_guest_logs() {
    let dir = Scratch::new("wasi-hostile");
    let module = dir.file("hostile.wat", HOSTILE_WASI_WAT);
    let manifest = dir.file("m.toml", "[component]\nname = \"hostile\"\n[wasi]\n");
    let out = cli(&["run", &module, "--manifest", &manifest]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_shown_safely("run stdout", &out.stdout);
    for line in [
        "stdout    2 lines, 17 B",
        r"  | \x1b[31mred\rFAKE",
        "  | ok",
        "stderr    1 line, 14 B",
        r"  | err\x1b]0;title\x07",
        // proc_exit(0) is a success, with its code shown.
        "exit code 0 (proc_exit)",
        "cleanup   Exited",
    ] {
        assert!(
            out.stdout.lines().any(|l| l == line),
            "{line:?} not in:\n{}",
            out.stdout
        );
    }
    // The same escape as for host::log text.
    let log = cli(&["run", &module, "--manifest", &manifest, "--json"]).json();
    assert_eq!(log["wasi"]["stdout"], "\x1b[31mred\rFAKE\nok\n");
    assert_eq!(log["wasi"]["stderr"], "err\x1b]0;title\x07\n");
    assert_eq!(log["wasi"]["exit_code"], 0);
    assert_eq!(log["started"], true);
}

fn invoke(args: &[&str]) -> Out {
    cli(&[&["run", "guests/reactor_checksum.wasm", "--invoke"], args].concat())
}

#[test]
fn run_invoke_calls_an_export_after_initialize() {
    let out = invoke(&["fib", "10"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout
            .lines()
            .any(|l| l == "invoke fib(i32 10) -> [i64 55]"),
        "{}",
        out.stdout
    );
    // `--json` after the arguments is still an option.
    let out = invoke(&["fib", "10", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let doc = out.json();
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["health"]["status"], "Healthy");
    let call = &doc["invoke"];
    assert_eq!(call["name"], "fib");
    assert_eq!(
        call["args"],
        serde_json::json!([{"type": "i32", "value": 10}])
    );
    assert_eq!(call["ok"], true);
    assert_eq!(call["error"], Value::Null);
    assert_eq!(
        call["results"],
        serde_json::json!([{"type": "i64", "value": 55}])
    );
    assert!(call["duration_ms"].as_f64().unwrap() > 0.0);

    // 1 only if _initialize ran the constructors before the call.
    let doc = invoke(&["initialized", "--json"]).json();
    assert_eq!(
        doc["invoke"]["results"],
        serde_json::json!([{"type": "i32", "value": 1}])
    );

    // Two arguments, a negative one as it is, and a suffixed one after `--`.
    let doc = cli(&[
        "run",
        "--json",
        "guests/reactor_checksum.wasm",
        "--invoke",
        "divide",
        "-7",
        "--",
        "2:i32",
    ])
    .json();
    assert_eq!(
        doc["invoke"]["args"],
        serde_json::json!([{"type": "i32", "value": -7}, {"type": "i32", "value": 2}])
    );
    assert_eq!(
        doc["invoke"]["results"],
        serde_json::json!([{"type": "i32", "value": -3}])
    );
}

#[test]
fn run_invoke_a_trap_exits_1() {
    let out = invoke(&["divide", "1", "0"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("invoke divide(i32 1, i32 0) failed: Trap: "))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(line.contains("unreachable"), "{line}");
    assert!(out.stdout.contains("Ready -> Failed"), "{}", out.stdout);

    let out = invoke(&["divide", "1", "0", "--json"]);
    assert_eq!(out.code, 1);
    let doc = out.json();
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["started"], true);
    assert_eq!(doc["invoke"]["ok"], false);
    assert_eq!(doc["invoke"]["results"], serde_json::json!([]));
    assert_eq!(doc["invoke"]["error"]["kind"], "Trap");
    assert_eq!(doc["stop"]["state"], "Terminated");
}

#[test]
fn run_invoke_an_unknown_or_mistyped_export_exits_1() {
    let out = invoke(&["no_such_export", "--json"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let doc = out.json();
    assert_eq!(doc["invoke"]["ok"], false);
    assert_eq!(doc["invoke"]["error"]["kind"], "NotExported");
    // Refused before any guest code ran: the actor is still healthy.
    assert_eq!(doc["health"]["status"], "Healthy");

    let out = invoke(&["fib", "10:i64"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("invoke fib(i64 10) failed: ExportSignature: "))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(line.contains("[i32]"), "says what fib takes: {line}");
}

#[test]
fn run_invoke_a_bad_argument_is_a_usage_error() {
    for arg in [
        "ten",
        "1.5:i32",
        "1:u8",
        "99999999999999999999",
        "5000000000:i32",
    ] {
        let out = invoke(&["fib", arg]);
        assert_bad_input(&out, &format!("invalid --invoke argument '{arg}'"));
    }
    let doc = invoke(&["fib", "ten", "--json"]).json();
    assert_eq!(doc["exit_code"], 2);
    assert_eq!(doc["error"]["kind"], "Usage");
    // Arguments without --invoke, or a hyphenated one before `--`: clap says.
    assert_usage_error(
        &cli(&["run", "guests/reactor_checksum.wasm", "10"]),
        "--invoke",
    );
    assert_usage_error(&invoke(&["fib", "-1:i64"]), "-1");
}

#[test]
fn check_summarises_wasi_imports_in_one_row() {
    let out = cli(&["check", "guests/wasi_echo.wasm"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let rows: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("wasi_snapshot_preview1::"))
        .filter(|l| !l.contains("problem") && !l.starts_with("NOT ADMITTED"))
        .collect();
    assert_eq!(rows.len(), 1, "{}", out.stdout);
    assert!(
        rows[0].starts_with("  imports   wasi_snapshot_preview1::*"),
        "{}",
        rows[0]
    );
    assert!(rows[0].contains("16 functions"), "{}", rows[0]);
    assert!(
        rows[0].ends_with("DENIED: add a [wasi] table to the manifest"),
        "{}",
        rows[0]
    );
    let hint = "to grant WASI, add a [wasi] table to the manifest (see README)";
    assert_eq!(
        out.stdout.lines().filter(|l| *l == hint).count(),
        1,
        "{}",
        out.stdout
    );
    // Nothing to put under [permissions] for WASI.
    assert!(!out.stdout.contains("imports = ["), "{}", out.stdout);

    // The JSON keeps every import.
    let doc = cli(&["check", "guests/wasi_echo.wasm", "--json"]).json();
    let imports = doc["imports"].as_array().unwrap();
    assert_eq!(imports.len(), 16);
    assert!(
        imports
            .iter()
            .all(|i| i["permitted"] == false && i["provided"] == true)
    );
    assert_eq!(doc["permissions_line"], Value::Null);

    // Granted, it is one permitted row, and admitted.
    let dir = Scratch::new("check-wasi");
    let manifest = dir.file("m.toml", "[component]\nname = \"echo\"\n[wasi]\n");
    let out = cli(&["check", "guests/wasi_echo.wasm", "--manifest", &manifest]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let rows: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("wasi_snapshot_preview1::"))
        .collect();
    assert_eq!(rows.len(), 1, "{}", out.stdout);
    assert!(
        rows[0].ends_with("16 functions  permitted (WASI)"),
        "{}",
        rows[0]
    );
    assert!(!out.stdout.contains(hint));
}

/// A WASI name WASI does not have keeps its own row beside the summary,
/// and a denied non-WASI import still gets its manifest line.
#[test]
fn check_lists_unprovided_wasi_names_and_other_imports_apart() {
    let dir = Scratch::new("check-wasi-mixed");
    let module = dir.file(
        "mixed.wat",
        r#"(module
  (import "host" "log" (func (param i32 i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
  (import "wasi_snapshot_preview1" "no_such" (func))
  (func (export "_start")))"#,
    );
    let out = cli(&["check", &module]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let has = |needle: &str| out.stdout.lines().any(|l| l.contains(needle));
    assert!(
        has("wasi_snapshot_preview1::*        2 functions"),
        "{}",
        out.stdout
    );
    assert!(
        has("wasi_snapshot_preview1::no_such  func [] -> []"),
        "{}",
        out.stdout
    );
    assert!(!has("wasi_snapshot_preview1::fd_write"), "{}", out.stdout);
    assert!(has("to grant WASI, add a [wasi] table"), "{}", out.stdout);
    assert!(
        has("to permit the denied import, put this line under [permissions]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("  imports = [\"host::log\"]\n"),
        "{}",
        out.stdout
    );
}

/// `run FILE --message TEXT...`: each message's reply, or its typed error.
fn run_messages(file: &str, messages: &[&str], json: bool) -> Out {
    let mut args = vec!["run", file];
    for m in messages {
        args.push("--message");
        args.push(m);
    }
    if json {
        args.push("--json");
    }
    cli(&args)
}

#[test]
fn run_message_echo_replies_escaped_in_text_and_exact_in_json() {
    let tricky = "two\nlines \x1b[2J\r\u{202e}end";
    let messages = ["ping", tricky, ""];
    let out = run_messages("wat/message_echo.wat", &messages, false);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines.contains(&r#"message 1 "ping" -> "ping""#),
        "{}",
        out.stdout
    );
    // Escaped exactly as WASI output and guest logs are (`cli::escape`).
    let escaped = r"two\nlines \x1b[2J\r\u{202e}end";
    assert!(
        lines.contains(&format!(r#"message 2 "{escaped}" -> "{escaped}""#).as_str()),
        "{}",
        out.stdout
    );
    assert!(lines.contains(&r#"message 3 "" -> """#), "{}", out.stdout);
    assert_shown_safely("run --message", &out.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("result    started; 3 messages answered; health Healthy")),
        "{}",
        out.stdout
    );
    for n in 1..=3 {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("message {n}: ok"))),
            "{}",
            out.stdout
        );
    }

    let out = run_messages("wat/message_echo.wat", &messages, true);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["invoke"], Value::Null);
    let sent = doc["messages"].as_array().expect("a messages array");
    assert_eq!(sent.len(), 3);
    for (m, text) in sent.iter().zip(messages) {
        assert_eq!(m["message"], text, "{m}");
        assert_eq!(m["ok"], true, "{m}");
        assert_eq!(m["reply"], text, "{m}");
        let hex: String = text.bytes().map(|b| format!("{b:02x}")).collect();
        assert_eq!(m["reply_hex"], hex.as_str(), "{m}");
        assert_eq!(m["error"], Value::Null, "{m}");
        assert!(m["duration_ms"].as_f64().unwrap() > 0.0, "{m}");
    }
    assert_eq!(doc["health"]["status"], "Healthy");
    assert_eq!(doc["stop"]["ok"], true);
    assert_eq!(doc["stop"]["state"], "Terminated");
}

#[test]
fn run_message_counter_replies_in_order() {
    let out = run_messages("wat/message_counter.wat", &["add", "add", "add"], true);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    let replies: Vec<&str> = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["reply"].as_str().unwrap())
        .collect();
    assert_eq!(replies, ["1", "2", "3"]);
    let out = run_messages("wat/message_counter.wat", &["a", "b", "c"], false);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for (n, (sent, reply)) in [("a", 1), ("b", 2), ("c", 3)].into_iter().enumerate() {
        let line = format!(r#"message {} "{sent}" -> "{reply}""#, n + 1);
        assert!(
            out.stdout.lines().any(|l| l == line),
            "{line}\n{}",
            out.stdout
        );
    }
}

#[test]
fn run_message_trap_is_a_typed_error_and_exits_1() {
    let out = run_messages("wat/message_trap.wat", &["first", "second"], false);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(r#"message 1 "first" failed: Trap: "#)),
        "{}",
        out.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(r#"message 2 "second" failed: Stopped: "#)),
        "{}",
        out.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("result    started; 2 of 2 messages FAILED")),
        "{}",
        out.stdout
    );

    let out = run_messages("wat/message_trap.wat", &["first", "second"], true);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["started"], true);
    let sent = doc["messages"].as_array().unwrap();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0]["message"], "first");
    assert_eq!(sent[0]["ok"], false);
    assert_eq!(sent[0]["reply"], Value::Null);
    assert_eq!(sent[0]["reply_hex"], Value::Null);
    assert_eq!(sent[0]["error"]["kind"], "Trap");
    assert!(
        sent[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{}",
        sent[0]
    );
    assert_eq!(sent[1]["error"]["kind"], "Stopped");
    assert_eq!(doc["health"]["status"], "Failed");
    assert_eq!(doc["stop"]["state"], "Terminated");
}

#[test]
fn run_message_to_a_module_without_handle_message_is_not_exported() {
    let out = run_messages("wat/message_not_exported.wat", &["hello"], true);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["messages"][0]["ok"], false);
    assert_eq!(doc["messages"][0]["error"]["kind"], "NotExported");
    // The actor keeps running: healthy, then stopped.
    assert_eq!(doc["health"]["status"], "Healthy");
    assert_eq!(doc["stop"]["state"], "Terminated");
    let out = run_messages("wat/message_not_exported.wat", &["hello"], false);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with(r#"message 1 "hello" failed: NotExported: "#)),
        "{}",
        out.stdout
    );
}

#[test]
fn run_without_message_has_null_messages_and_message_conflicts_with_invoke() {
    let doc = cli(&["run", "wat/message_echo.wat", "--json"]).json();
    assert_eq!(doc["messages"], Value::Null);
    // A failed start sends nothing.
    let doc = run_messages("wat/start_trap.wat", &["ping"], true).json();
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["messages"], Value::Null);
    let out = cli(&[
        "run",
        "wat/message_echo.wat",
        "--message",
        "x",
        "--invoke",
        "f",
    ]);
    assert_usage_error(&out, "cannot be used with");
    // A TEXT starting with `-` after `=`.
    let doc = cli(&["run", "wat/message_echo.wat", "--message=-x", "--json"]).json();
    assert_eq!(doc["messages"][0]["reply"], "-x");
}

#[test]
fn soak_messages_reports_message_percentiles() {
    let out = cli(&[
        "soak",
        "wat/message_echo.wat",
        "--cycles",
        "50",
        "--messages",
        "4",
        "--message-text",
        "hello",
        "--json",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    assert_eq!(doc["messages_per_cycle"], 4);
    assert_eq!(doc["message_text"], "hello");
    assert_eq!(doc["error"], Value::Null);
    assert_eq!(doc["mismatches"]["count"], 0);
    assert_eq!(doc["cleanup"], serde_json::json!({"NotExported": 50}));
    for phase in ["start_ms", "message_ms", "stop_ms"] {
        let p = &doc[phase];
        let v: Vec<f64> = ["p50", "p95", "p99", "max"]
            .iter()
            .map(|k| p[k].as_f64().unwrap_or_else(|| panic!("{phase}.{k}: {p}")))
            .collect();
        assert!(v[0] > 0.0, "{phase}: {p}");
        assert!(v.windows(2).all(|w| w[0] <= w[1]), "{phase}: {p}");
    }
    let out = cli(&[
        "soak",
        "wat/message_echo.wat",
        "--cycles",
        "20",
        "--messages",
        "2",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("message ")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  messages  2 per cycle, each \"ping\""),
        "{}",
        out.stdout
    );
    // Without --messages: no message figures.
    let doc = cli(&["soak", "wat/good.wat", "--cycles", "5", "--json"]).json();
    assert_eq!(doc["message_ms"], Value::Null);
    assert_eq!(doc["messages_per_cycle"], 0);
}

#[test]
fn soak_message_errors_fail_the_soak() {
    // The warm-up's message traps: reported as the warm-up's failure.
    let out = cli(&[
        "soak",
        "wat/message_trap.wat",
        "--cycles",
        "5",
        "--messages",
        "1",
        "--json",
    ]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let doc = out.json();
    assert_eq!(doc["error"]["kind"], "Trap");
    assert_eq!(doc["error_during"], "message");
    let out = cli(&[
        "soak",
        "wat/message_not_exported.wat",
        "--cycles",
        "5",
        "--messages",
        "1",
    ]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("message failed (warm-up): NotExported: "),
        "{}",
        out.stdout
    );
}

// ------------------------------------------------- issue 13 (up TREE.toml)

/// Every stdout line of `up --json` as JSON, each with `schema_version` 1.
fn json_lines(out: &Out) -> Vec<Value> {
    out.stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not one JSON line ({e}): {l}\n{}", out.stdout));
            assert_eq!(v["schema_version"], 1, "{l}");
            v
        })
        .collect()
}

/// The `(path, what)` of each event line: `what` a variant name
/// (`Started`, `Restarting`).
fn events(lines: &[Value]) -> Vec<(String, String)> {
    lines
        .iter()
        .filter_map(|l| l.get("event"))
        .map(|e| {
            let what = match &e["what"] {
                Value::String(s) => s.clone(),
                Value::Object(m) => m.keys().next().cloned().unwrap_or_default(),
                other => panic!("event kind {other}"),
            };
            (e["path"].as_str().unwrap_or_default().to_string(), what)
        })
        .collect()
}

fn position(events: &[(String, String)], path: &str, what: &str) -> usize {
    events
        .iter()
        .position(|(p, w)| p == path && w == what)
        .unwrap_or_else(|| panic!("no {what} event for {path:?} in {events:?}"))
}

/// A tree of one child `counter` running `fixture`, with `top` as its
/// supervisor's settings.
fn one_child_tree(dir: &Scratch, top: &str, fixture: &str) -> String {
    let module = root().join("wat").join(fixture);
    dir.file(
        "tree.toml",
        format!(
            "{top}\n[[children]]\nid = \"counter\"\nmodule = \"{}\"\n",
            module.display()
        ),
    )
}

#[test]
fn up_json_starts_the_tree_in_order_and_stops_it_in_reverse() {
    let out = cli(&["up", "trees/demo.toml", "--for-ms", "300", "--json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let lines = json_lines(&out);
    let events = events(&lines);
    let started =
        ["counter", "pipeline/source", "pipeline/sink"].map(|p| position(&events, p, "Started"));
    assert!(started.is_sorted(), "{events:?}");
    // Stopped in reverse: the nested supervisor's children (last first),
    // then the nested supervisor, then the first child, then the root.
    let stopped = [
        "pipeline/sink",
        "pipeline/source",
        "pipeline",
        "counter",
        "",
    ]
    .map(|p| position(&events, p, "Stopped"));
    assert!(stopped.is_sorted(), "{events:?}");
    assert!(started[2] < stopped[0], "{events:?}");
    // The last line is the final status; nothing else is on stdout.
    let last = lines.last().expect("a final line");
    assert_eq!(last["command"], "up");
    assert_eq!(last["status"], "Stopped");
    assert_eq!(last["stopped_by"], "for-ms");
    assert_eq!(last["exit_code"], 0);
    assert_eq!(last["error"], Value::Null);
    let children = last["children"].as_array().expect("children");
    let paths: Vec<&str> = children.iter().filter_map(|c| c["path"].as_str()).collect();
    assert_eq!(
        paths,
        ["counter", "pipeline", "pipeline/source", "pipeline/sink"]
    );
    for c in children {
        let state = c["state"].as_str().unwrap_or_default();
        assert!(matches!(state, "Terminated" | "Stopped"), "{c}");
        assert_eq!(c["restarts"], 0, "{c}");
    }
    assert_eq!(lines.len(), events.len() + 1, "{}", out.stdout);
    // Off a terminal under --json, no plain event lines on stderr either.
    assert!(!out.stderr.contains("up: "), "{}", out.stderr);
}

#[test]
fn up_text_prints_each_event_on_stderr_and_the_final_states() {
    let out = cli(&["up", "trees/demo.toml", "--for-ms", "100"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for line in [
        "up: counter: Started",
        "up: pipeline/sink: Stopped",
        "up: (root): Stopped",
    ] {
        assert!(
            out.stderr.lines().any(|l| l == line),
            "{line}:\n{}",
            out.stderr
        );
    }
    let stdout: Vec<&str> = out.stdout.lines().collect();
    assert!(
        stdout[0].starts_with("up trees/demo.toml: stopped (--for-ms) after "),
        "{}",
        out.stdout
    );
    for column in ["path", "state", "restarts", "last exit"] {
        assert!(stdout[1].contains(column), "{}", stdout[1]);
    }
    assert!(
        stdout[2].starts_with("counter ") && stdout[2].contains("Terminated"),
        "{}",
        out.stdout
    );
    assert_eq!(stdout.len(), 6, "{}", out.stdout);
}

#[test]
fn up_a_child_that_does_not_start_exits_1_with_one_error_line() {
    let dir = Scratch::new("up-start-trap");
    let tree = one_child_tree(&dir, "", "start_trap.wat");
    let out = cli(&["up", &tree]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(
        errors[0].starts_with("error: the tree did not start: "),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("trapped"), "{}", errors[0]);
    // Under --json: the StartFailed event, then the final status with the error.
    let out = cli(&["up", &tree, "--json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines = json_lines(&out);
    position(&events(&lines), "counter", "StartFailed");
    let last = lines.last().expect("a final line");
    assert_eq!(last["status"], "Failed");
    assert_eq!(last["error"]["kind"], "Trap");
    assert_eq!(last["exit_code"], 1);
    assert_eq!(last["stopped_by"], Value::Null);
}

#[test]
fn up_bad_tree_files_and_arguments_are_bad_input() {
    let dir = Scratch::new("up-bad-input");
    let unknown = dir.file("colour.toml", "colour = \"red\"\n");
    assert_bad_input(&cli(&["up", &unknown]), "unknown field `colour`");
    assert_bad_input(
        &cli(&["up", "trees/missing.toml"]),
        "cannot read supervision tree trees/missing.toml: no such file",
    );
    let out = cli(&["up", &unknown, "--json"]);
    assert_eq!(out.code, 2);
    let doc = out.json();
    assert_eq!(doc["command"], "up");
    assert_eq!(doc["error"]["kind"], "Manifest");
    // Two children with one id: refused before anything starts.
    let module = root().join("wat/good.wat");
    let twice = format!(
        "[[children]]\nid = \"a\"\nmodule = \"{}\"\n",
        module.display()
    )
    .repeat(2);
    assert_bad_input(
        &cli(&["up", &dir.file("twice.toml", twice)]),
        "two children",
    );
    // A --message to no actor of the tree, or without `=`.
    assert_bad_input(
        &cli(&["up", "trees/demo.toml", "--message", "pipeline=hi"]),
        "no actor at `pipeline`",
    );
    assert_usage_error(
        &cli(&["up", "trees/demo.toml", "--message", "hi"]),
        "PATH=TEXT",
    );
}

#[test]
fn up_stops_on_sigterm_and_exits_0() {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let mut child = Command::new(env!("CARGO_BIN_EXE_component-actor"))
        .args(["up", "trees/demo.toml", "--json"])
        .current_dir(root())
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let stdout = child.stdout.take().expect("stdout");
    let (lines_to, lines) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_to.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.iter().any(|l: &String| l.contains("\"Started\"")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!("no Started line within 10 s: {seen:?}");
            }
        }
    }
    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running 10 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    reader.join().expect("reader");
    seen.extend(lines.try_iter());
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    assert_eq!(status.code(), Some(0), "{seen:?}\n{stderr}");
    let out = Out {
        code: 0,
        stdout: seen.join("\n"),
        stderr,
    };
    let lines = json_lines(&out);
    let events = events(&lines);
    let stopped = ["pipeline/sink", "pipeline/source", "counter", ""]
        .map(|p| position(&events, p, "Stopped"));
    assert!(stopped.is_sorted(), "{events:?}");
    let last = lines.last().expect("a final line");
    assert_eq!(last["status"], "Stopped");
    assert_eq!(last["stopped_by"], "SIGTERM");
    assert_eq!(last["exit_code"], 0);
}

#[test]
fn up_a_crash_loop_past_the_intensity_exits_1_naming_the_reason() {
    let dir = Scratch::new("up-crash-loop");
    let tree = one_child_tree(&dir, "intensity = 0", "supervised_worker.wat");
    let out = cli(&["up", &tree, "--message", "counter=!"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(
        errors[0].starts_with(
            "error: the supervisor gave up: more than 0 restarts in 5s; last: counter: "
        ),
        "{}",
        errors[0]
    );
    assert!(
        out.stdout.contains("message counter \"!\" failed: Trap: "),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(": gave up after "), "{}", out.stdout);

    let out = cli(&["up", &tree, "--message", "counter=!", "--json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines = json_lines(&out);
    let events = events(&lines);
    assert!(position(&events, "counter", "Exited") < position(&events, "", "GaveUp"));
    assert!(!events.iter().any(|(_, w)| w == "Restarting"), "{events:?}");
    let answer = lines
        .iter()
        .find_map(|l| l.get("message"))
        .expect("the message's answer");
    assert_eq!(answer["path"], "counter");
    assert_eq!(answer["ok"], false);
    assert_eq!(answer["error"]["kind"], "Trap");
    let last = lines.last().expect("a final line");
    assert_eq!(last["status"], "Failed");
    assert!(
        last["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("more than 0 restarts")),
        "{last}"
    );
    assert_eq!(last["exit_code"], 1);
}

#[test]
fn up_a_crash_within_the_intensity_is_restarted_and_exits_0() {
    let dir = Scratch::new("up-restart");
    // The default intensity: one restart in 5 s.
    let tree = one_child_tree(&dir, "", "supervised_worker.wat");
    let out = cli(&[
        "up",
        &tree,
        "--message",
        "counter=add",
        "--message",
        "counter=!",
        "--message",
        "counter=add",
        "--for-ms",
        "500",
        "--json",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let lines = json_lines(&out);
    let restarting: Vec<&Value> = lines
        .iter()
        .filter_map(|l| l.get("event"))
        .filter(|e| e["path"] == "counter" && e["what"].get("Restarting").is_some())
        .collect();
    assert_eq!(restarting.len(), 1, "{}", out.stdout);
    assert_eq!(restarting[0]["what"]["Restarting"]["restarts"], 1);
    // Each answer in order; the message after the trap waited for the new
    // instance, which counts from zero again.
    let answers: Vec<(String, Value)> = lines
        .iter()
        .filter_map(|l| l.get("message"))
        .map(|m| {
            (
                m["message"].as_str().unwrap_or_default().to_string(),
                m["reply"].clone(),
            )
        })
        .collect();
    assert_eq!(
        answers,
        [
            ("add".to_string(), Value::from("1")),
            ("!".to_string(), Value::Null),
            ("add".to_string(), Value::from("1")),
        ],
        "{}",
        out.stdout
    );
    let last = lines.last().expect("a final line");
    assert_eq!(last["status"], "Stopped");
    assert_eq!(last["exit_code"], 0);
    assert_eq!(last["children"][0]["restarts"], 1);
    assert!(
        last["children"][0]["last_exit"]
            .as_str()
            .is_some_and(|e| e.contains("trapped")),
        "{last}"
    );
}
