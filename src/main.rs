//! `component-actor`: will a WebAssembly module start and stop cleanly under
//! these limits, and how fast?
//!
//! ```text
//! component-actor [suite] [DIR]                     the conformance table of a fixture directory
//! component-actor run FILE [--manifest M.toml]      start, health check, stop
//!     [--invoke NAME [ARGS...]]                     (and call an export after the start)
//!     [--message TEXT]...                           (or send it messages through its mailbox)
//! component-actor check FILE [--manifest M.toml]    preflight without running guest code
//! component-actor soak FILE --cycles N [--concurrency C] [--pooling]
//!     [--messages N [--message-text TEXT]]          (and N messages per cycle)
//! component-actor up TREE.toml [--for-ms MS]        run a supervision tree until Ctrl-C or SIGTERM
//!     [--message PATH=TEXT]...                      (sending messages to its actors)
//! ```
//!
//! Every subcommand takes `--json` (one JSON document on stdout; for `up`,
//! one JSON line per event and a last one). Exit codes:
//! 0 success, 1 the module (or the tree) failed, 2 bad input. Logs go to stderr, filtered
//! by `RUST_LOG` (default `warn`; `error` for `suite` and `soak`, which
//! provoke or repeat failures on purpose and count them in their report).

#![forbid(unsafe_code)]

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cli::{BadInput, BadInputDoc, Exit, ModuleArgs, SCHEMA_VERSION, StopTimeout};

/// Run WebAssembly modules as supervised actors: conformance suite, single
/// runs, preflight checks, soak tests and supervision trees.
///
/// Exit codes: 0 success; 1 the module failed (start failed, an --invoke
/// call or a --message failed, not admitted, a soak cycle mismatched or
/// leaked, a fixture mismatched, a tree did not start or gave up); 2 bad input
/// (missing file, unreadable or invalid manifest, bad arguments).
/// Logs go to stderr, filtered by RUST_LOG (default: warn; error for suite
/// and soak).
#[derive(Parser, Debug)]
#[command(name = "component-actor", version)]
struct Cli {
    /// Print one JSON document on stdout instead of text (for `up`: one
    /// JSON line per event, per message answer, and a last one).
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
        /// The fixture directory [default: the fixtures bundled in this binary]
        dir: Option<PathBuf>,
    },
    /// Start the module, check its health, stop it; print each transition
    /// with its time, memory and fuel, and the cleanup outcome.
    ///
    /// Exit code 1 when the start fails, the --invoke call fails, or any
    /// --message is answered with an error.
    Run {
        #[command(flatten)]
        module: ModuleArgs,
        #[command(flatten)]
        stop: StopTimeout,
        #[command(flatten)]
        invoke: cli::run::InvokeArgs,
        #[command(flatten)]
        messages: cli::run::MessageArgs,
    },
    /// Preflight without running guest code: magic, compile, lifecycle
    /// exports, every import against the manifest, initial sizes against
    /// the limits.
    Check {
        #[command(flatten)]
        module: ModuleArgs,
    },
    /// Start and stop the module many times: latency percentiles, cycles per
    /// second, resident memory and mappings before and after, leak verdict.
    Soak {
        #[command(flatten)]
        module: ModuleArgs,
        #[command(flatten)]
        soak: cli::soak::SoakArgs,
        #[command(flatten)]
        stop: StopTimeout,
    },
    /// Run a supervision tree (TOML) until Ctrl-C, SIGTERM or --for-ms:
    /// each child's state live (one line per child on a terminal, one line
    /// per event on stderr otherwise), then stop it, children in reverse
    /// order, and print the final states.
    ///
    /// Exit code 0 when the tree was stopped as asked; 1 when it did not
    /// start or its root supervisor gave up (restarts past its intensity).
    Up {
        #[command(flatten)]
        up: cli::up::UpArgs,
    },
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Suite { .. } => "suite",
            Command::Run { .. } => "run",
            Command::Check { .. } => "check",
            Command::Soak { .. } => "soak",
            Command::Up { .. } => "up",
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let json = cli.json;
    let command = cli.command.unwrap_or(Command::Suite { dir: None });
    let default_level = match command {
        Command::Suite { .. } | Command::Soak { .. } => "error",
        _ => "warn",
    };
    let bars = indicatif::MultiProgress::new();
    let timeline = cli::logs::init(
        default_level,
        bars.clone(),
        matches!(command, Command::Run { .. }),
    );
    let result = match &command {
        Command::Suite { dir } => cli::suite::main(dir.as_deref(), json),
        Command::Run {
            module,
            stop,
            invoke,
            messages,
        } => cli::run::main(module, invoke, messages, stop.get(), json, timeline),
        Command::Check { module } => cli::check::main(module, json),
        Command::Soak { module, soak, stop } => {
            cli::soak::main(module, soak, stop.get(), json, &bars)
        }
        Command::Up { up } => cli::up::main(up, json, &bars),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(bad) => bad_input(Some(command.name()), &bad, json),
    }
}

/// Reports bad input: one line on stderr (control characters escaped: the
/// message may quote a file name or a manifest), and under `--json` the
/// error document on stdout (exact). Exit code 2.
fn bad_input(command: Option<&str>, bad: &BadInput, json: bool) -> ExitCode {
    eprintln!("error: {}", cli::escape(&bad.to_string()));
    print_bad_input_doc(command, bad, json);
    Exit::BadInput.into()
}

fn print_bad_input_doc(command: Option<&str>, bad: &BadInput, json: bool) {
    if json {
        cli::print_json(&BadInputDoc {
            schema_version: SCHEMA_VERSION,
            command,
            exit_code: Exit::BadInput,
            error: bad,
        });
    }
}

/// A command line clap refused: clap prints its own message (with its
/// suggestions) and picks the code: 0 for `--help` and `--version`, 2 for a
/// usage error. Under `--json` a usage error is also a document on stdout.
fn usage_error(e: &clap::Error) -> ExitCode {
    let _ = e.print();
    let code = u8::try_from(e.exit_code()).unwrap_or(Exit::BadInput.code());
    if e.use_stderr() {
        // The parse failed, so `--json` and the subcommand are looked for by hand.
        let args: Vec<String> = std::env::args().skip(1).collect();
        let command = args
            .iter()
            .map(String::as_str)
            .find(|a| matches!(*a, "suite" | "run" | "check" | "soak" | "up"));
        let rendered = e.render().to_string();
        let first = rendered.lines().next().unwrap_or("invalid command line");
        let message = first.strip_prefix("error: ").unwrap_or(first);
        let json = args.iter().any(|a| a == "--json");
        print_bad_input_doc(command, &BadInput::usage(message), json);
    }
    ExitCode::from(code)
}
