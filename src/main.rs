//! `component-actor`: will a WebAssembly module start and stop cleanly under
//! these limits, and how fast?
//!
//! ```text
//! component-actor [suite] [DIR]                     the conformance table of a fixture directory
//! component-actor run FILE [--manifest M.toml]      start, health check, stop
//! component-actor check FILE [--manifest M.toml]    preflight without running guest code
//! component-actor soak FILE --cycles N [--concurrency C] [--pooling]
//! ```
//!
//! Every subcommand takes `--json` (one JSON document on stdout). Exit codes:
//! 0 success, 1 the module failed, 2 bad input. Logs go to stderr, filtered
//! by `RUST_LOG` (default `warn`; `error` for `suite` and `soak`, which
//! provoke or repeat failures on purpose and count them in their report).

#![forbid(unsafe_code)]

mod cli;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::error::ErrorKind as ClapErrorKind;
use clap::{Parser, Subcommand};

use cli::{BadInput, BadInputDoc, ErrorDoc, Exit, ExitCodeField, SCHEMA_VERSION};

/// The longest `--stop-timeout-ms` (one hour, as for any guest call).
const MAX_STOP_TIMEOUT_MS: u64 = 3_600_000;

/// Run WebAssembly modules as supervised actors: conformance suite, single
/// runs, preflight checks and soak tests.
///
/// Exit codes: 0 success; 1 the module failed (start failed, not admitted,
/// a soak cycle mismatched or leaked, a fixture mismatched); 2 bad input
/// (missing file, unreadable or invalid manifest, bad arguments).
/// Logs go to stderr, filtered by RUST_LOG (default: warn; error for suite
/// and soak).
#[derive(Parser, Debug)]
#[command(name = "component-actor", version)]
struct Cli {
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run every fixture (.wat/.wasm) of DIR through the lifecycle and print
    /// the conformance table (the default command).
    Suite {
        /// The fixture directory [default: the bundled wat/]
        dir: Option<PathBuf>,
    },
    /// Start the module, check its health, stop it; print each transition
    /// with its time, memory and fuel, and the cleanup outcome.
    Run {
        /// The module: WebAssembly text (.wat) or binary.
        file: PathBuf,
        /// The manifest (TOML) with its limits and permitted imports
        /// [default: default limits, no imports]
        #[arg(long, value_name = "M.toml")]
        manifest: Option<PathBuf>,
        /// How long `_cleanup` may run when stopping (1..=3600000).
        #[arg(long, value_name = "MS", default_value_t = 100,
              value_parser = clap::value_parser!(u64).range(1..=MAX_STOP_TIMEOUT_MS),
              allow_negative_numbers = true)]
        stop_timeout_ms: u64,
    },
    /// Preflight without running guest code: magic, compile, lifecycle
    /// exports, every import against the manifest, initial sizes against
    /// the limits.
    Check {
        /// The module: WebAssembly text (.wat) or binary.
        file: PathBuf,
        /// The manifest (TOML) with its limits and permitted imports
        /// [default: default limits, no imports]
        #[arg(long, value_name = "M.toml")]
        manifest: Option<PathBuf>,
    },
    /// Start and stop the module many times: latency percentiles, cycles per
    /// second, resident memory and mappings before and after, leak verdict.
    Soak {
        /// The module: WebAssembly text (.wat) or binary.
        file: PathBuf,
        /// The manifest (TOML) with its limits and permitted imports
        /// [default: default limits, no imports]
        #[arg(long, value_name = "M.toml")]
        manifest: Option<PathBuf>,
        /// Measured start/stop cycles (1..=10000000).
        #[arg(long, value_name = "N", default_value_t = 1000,
              value_parser = clap::value_parser!(u64).range(1..=cli::soak::MAX_CYCLES),
              allow_negative_numbers = true)]
        cycles: u64,
        /// Workers, each restarting its own actor (1..=1024).
        #[arg(long, value_name = "C", default_value_t = 1,
              value_parser = clap::value_parser!(u64).range(1..=cli::soak::MAX_CONCURRENCY),
              allow_negative_numbers = true)]
        concurrency: u64,
        /// How long `_cleanup` may run when stopping (1..=3600000).
        #[arg(long, value_name = "MS", default_value_t = 100,
              value_parser = clap::value_parser!(u64).range(1..=MAX_STOP_TIMEOUT_MS),
              allow_negative_numbers = true)]
        stop_timeout_ms: u64,
        /// Use the pooling allocator: one slot per worker, each holding the
        /// manifest's max_memory_bytes (on-demand if the pool cannot be
        /// reserved; the report says which was used).
        #[arg(long)]
        pooling: bool,
    },
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Suite { .. } => "suite",
            Command::Run { .. } => "run",
            Command::Check { .. } => "check",
            Command::Soak { .. } => "soak",
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e, &args),
    };
    let json = cli.json;
    let command = cli.command.unwrap_or(Command::Suite { dir: None });
    let name = command.name();
    let default_level = match command {
        Command::Suite { .. } | Command::Soak { .. } => "error",
        _ => "warn",
    };
    let capture = cli::logs::init(default_level, matches!(command, Command::Run { .. }));
    let result = match command {
        Command::Suite { dir } => cli::suite::main(dir, json),
        Command::Run {
            file,
            manifest,
            stop_timeout_ms,
        } => cli::run::main(
            cli::run::Args {
                file,
                manifest,
                stop_timeout: Duration::from_millis(stop_timeout_ms),
            },
            json,
            capture,
        ),
        Command::Check { file, manifest } => {
            cli::check::main(cli::check::Args { file, manifest }, json)
        }
        Command::Soak {
            file,
            manifest,
            cycles,
            concurrency,
            stop_timeout_ms,
            pooling,
        } => cli::soak::main(
            cli::soak::Args {
                file,
                manifest,
                cycles,
                concurrency,
                stop_timeout: Duration::from_millis(stop_timeout_ms),
                pooling,
            },
            json,
        ),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(bad) => bad_input(Some(name), &bad, json),
    }
}

/// Reports bad input: one line on stderr (control characters escaped: the
/// message may quote a file name or a manifest), and under `--json` the
/// error document on stdout (exact). Exit code 2.
fn bad_input(command: Option<&str>, bad: &BadInput, json: bool) -> ExitCode {
    eprintln!("error: {}", cli::escape(&bad.to_string()));
    if json {
        cli::print_json(&BadInputDoc {
            schema_version: SCHEMA_VERSION,
            command,
            exit_code: ExitCodeField(Exit::BadInput),
            error: ErrorDoc::from(bad),
        });
    }
    Exit::BadInput.into()
}

/// A command line clap refused: help and version print as usual (exit 0);
/// anything else is bad input, reported in one line.
fn usage_error(e: &clap::Error, args: &[OsString]) -> ExitCode {
    if matches!(
        e.kind(),
        ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion
    ) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let rendered = e.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid command line");
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_string();
    // "the following required arguments were not provided:" names them on
    // the next line.
    if message.ends_with(':')
        && let Some(next) = lines.next()
    {
        message = format!("{message} {next}");
    }
    // The parse failed, so `--json` is looked for by hand.
    let json = args.iter().skip(1).any(|a| a == "--json");
    let command = args
        .iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .find(|a| matches!(*a, "suite" | "run" | "check" | "soak"));
    bad_input(
        command,
        &BadInput::usage(format!("{message} (see --help)")),
        json,
    )
}
