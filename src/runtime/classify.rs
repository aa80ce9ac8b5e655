//! The one place a wasmtime failure becomes an [`ErrorKind`], and the one
//! rule that says which kinds a retry cannot cure
//! ([`ErrorKind::is_permanent`]).
//!
//! Every wasmtime error the runtime meets (an engine configuration it
//! rejects, a module it does not compile, a linker that cannot
//! pre-instantiate, an export of another type, an instantiation or guest
//! call that fails: out of fuel, past its deadline, after a refused memory
//! or table growth, a trap, a full instance pool) goes through one function
//! here, which decides the kind and writes the one-line message. A leaf: it
//! reads the error, the limits and what the limiter refused, and knows
//! nothing of stores, instances or the engine.

use std::time::Duration;

use wasmtime::{PoolConcurrencyLimitError, Trap};
use wasmtime_wasi::I32Exit;

use crate::error::{ComponentError, ErrorKind};
use crate::manifest::ResourceLimits;
use crate::runtime::limits::Refusals;

impl ErrorKind {
    /// Whether the same start would fail the same way every time, so that
    /// retrying it (a supervisor restarting the child) cannot help.
    ///
    /// The rule: a kind is permanent when it is decided by the module's
    /// bytes, the manifest or the runtime's configuration alone, before
    /// any guest code runs: a bad module stays bad (`EmptyModule`,
    /// `InvalidMagic`, `InvalidWat`, `Compile`, `ModuleTooLarge`,
    /// `PermissionDenied`, `UnsupportedImport`, `ExportSignature`,
    /// `NotExported`, and a `MessageTooLarge` or `MessageAbi`, which the
    /// same message or module meets again) and so do
    /// a bad `Manifest` and a bad `Config`. Every other kind may pass next
    /// time, because it depends on something outside those inputs: what the
    /// guest does when it runs (`Trap`, `OutOfFuel`, `Deadline`, `Exit`, and
    /// `MemoryLimit` / `TableLimit`, which a growth at run time reports
    /// just as an initial size over the limit does), what else is running
    /// (`Instantiation`: for example every pool slot taken), the file
    /// system (`Load`: a file not yet written), or the caller
    /// (`InvalidTransition`, `Cancelled`, `MailboxFull`, `Stopped`). When in doubt a kind is not
    /// permanent: retrying a permanent failure costs a bounded number of
    /// restarts, giving up on a passing one loses the child.
    ///
    /// ```
    /// use component_actor::ErrorKind;
    ///
    /// assert!(ErrorKind::PermissionDenied.is_permanent());
    /// assert!(!ErrorKind::Deadline.is_permanent());
    /// ```
    pub const fn is_permanent(self) -> bool {
        match self {
            ErrorKind::EmptyModule
            | ErrorKind::InvalidMagic
            | ErrorKind::InvalidWat
            | ErrorKind::Compile
            | ErrorKind::Manifest
            | ErrorKind::PermissionDenied
            | ErrorKind::ExportSignature
            | ErrorKind::Config
            | ErrorKind::ModuleTooLarge
            | ErrorKind::UnsupportedImport
            | ErrorKind::NotExported
            | ErrorKind::MessageTooLarge
            | ErrorKind::MessageAbi => true,
            ErrorKind::Load
            | ErrorKind::Instantiation
            | ErrorKind::MemoryLimit
            | ErrorKind::TableLimit
            | ErrorKind::OutOfFuel
            | ErrorKind::Deadline
            | ErrorKind::Trap
            | ErrorKind::InvalidTransition
            | ErrorKind::Cancelled
            | ErrorKind::Exit
            | ErrorKind::MailboxFull
            | ErrorKind::Stopped => false,
        }
    }
}

/// Which guest code a failure happened in, for messages and classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Instantiation, which runs the module's `start` section.
    Instantiate,
    /// A reactor's `_initialize` export.
    Initialize,
    /// The `_start` export.
    Start,
    /// The `_health` export.
    Health,
    /// The `_cleanup` export.
    Cleanup,
    /// Any other export, by name ([`ComponentActor::call`](crate::ComponentActor::call)).
    Call(std::sync::Arc<str>),
    /// The `alloc-message` export, asked for room for a message.
    AllocMessage,
    /// The `handle-message` export.
    HandleMessage,
}

impl Phase {
    fn describe(&self) -> String {
        match self {
            Phase::Instantiate => "instantiation".into(),
            Phase::Initialize => "`_initialize`".into(),
            Phase::Start => "`_start`".into(),
            Phase::Health => "`_health`".into(),
            Phase::Cleanup => "`_cleanup`".into(),
            Phase::Call(name) => format!("`{name}`"),
            Phase::AllocMessage => "`alloc-message`".into(),
            Phase::HandleMessage => "`handle-message`".into(),
        }
    }
}

/// What a failed instantiation or guest call was, besides its error.
pub(crate) struct Call<'a> {
    /// The component's name.
    pub(crate) component: &'a str,
    /// Which guest code ran.
    pub(crate) phase: Phase,
    /// The call's deadline, from its start.
    pub(crate) timeout: Duration,
    /// The limits it ran under.
    pub(crate) limits: &'a ResourceLimits,
    /// Which caps the store's limiter refused a growth past during it.
    pub(crate) refused: Refusals,
    /// The pool's slot count when the runtime pools instances.
    pub(crate) pool_slots: Option<u32>,
}

/// A failed instantiation or guest call: a full pool (at instantiation) as
/// [`ErrorKind::Instantiation`] naming the slots; fuel and deadline traps
/// by their trap code; any other failure after a refused memory or table
/// growth as that limit; other traps as `Trap`; and non-trap instantiation
/// failures as `Instantiation` (non-trap call failures, such as a host
/// function's error, as `Trap`).
pub(crate) fn guest_failure(call: Call<'_>, err: wasmtime::Error) -> ComponentError {
    let Call {
        component,
        phase,
        timeout,
        limits,
        refused,
        pool_slots,
    } = call;
    if let Some(&I32Exit(code)) = err.downcast_ref::<I32Exit>() {
        let message = format!("{} ended with proc_exit({code})", phase.describe());
        return ComponentError::exit(component, code, message).with_source(err);
    }
    if phase == Phase::Instantiate
        && let Some(slots) = pool_slots
        && err.chain().any(|e| e.is::<PoolConcurrencyLimitError>())
    {
        let message = format!(
            "instance pool exhausted: all {slots} slots are in use ({})",
            one_line(&err)
        );
        return ComponentError::new(component, ErrorKind::Instantiation, message).with_source(err);
    }
    let what = phase.describe();
    let trap = err.downcast_ref::<Trap>().copied();
    let (kind, message) = match trap {
        Some(Trap::OutOfFuel) => (
            ErrorKind::OutOfFuel,
            format!(
                "{what} ran out of fuel (budget {})",
                limits.max_fuel.unwrap_or(u64::MAX)
            ),
        ),
        Some(Trap::Interrupt) => (
            ErrorKind::Deadline,
            format!("{what} exceeded its deadline of {timeout:?}"),
        ),
        _ if refused.memory => (
            ErrorKind::MemoryLimit,
            format!(
                "{what} failed after memory growth past max_memory_bytes = {} was refused: {}",
                limits.max_memory_bytes,
                one_line(&err)
            ),
        ),
        _ if refused.table => (
            ErrorKind::TableLimit,
            format!(
                "{what} failed after table growth past max_table_elements = {} was refused: {}",
                limits.max_table_elements,
                one_line(&err)
            ),
        ),
        Some(t) => (ErrorKind::Trap, format!("{what} trapped: {t}")),
        None if phase == Phase::Instantiate => (
            ErrorKind::Instantiation,
            format!("{what} failed: {}", one_line(&err)),
        ),
        None => (
            ErrorKind::Trap,
            format!("{what} failed: {}", one_line(&err)),
        ),
    };
    ComponentError::new(component, kind, message).with_source(err)
}

/// A guest call refused because the guest exited (`proc_exit(code)`) in
/// an earlier one: no guest code runs after an exit.
pub(crate) fn exited(component: &str, phase: &Phase, earlier: &Phase, code: i32) -> ComponentError {
    ComponentError::exit(
        component,
        code,
        format!(
            "{} not called: the guest exited with proc_exit({code}) in {}",
            phase.describe(),
            earlier.describe()
        ),
    )
}

/// A guest call refused because an earlier one on the same instance did
/// not return normally: nothing runs guest code on a half-run instance.
pub(crate) fn poisoned(component: &str, phase: &Phase, earlier: &Phase) -> ComponentError {
    ComponentError::new(
        component,
        ErrorKind::InvalidTransition,
        format!(
            "{} not called: an earlier {} on this instance did not return normally",
            phase.describe(),
            earlier.describe()
        ),
    )
}

/// Wasmtime did not compile the module.
pub(crate) fn compile_failed(component: &str, err: wasmtime::Error) -> ComponentError {
    ComponentError::new(
        component,
        ErrorKind::Compile,
        format!("invalid module: {}", one_line(&err)),
    )
    .with_source(err)
}

/// The linker could not pre-instantiate the module with the host functions
/// its manifest permits.
pub(crate) fn link_failed(component: &str, err: wasmtime::Error) -> ComponentError {
    ComponentError::new(component, ErrorKind::Instantiation, one_line(&err)).with_source(err)
}

/// A lifecycle export is not of the type its call needs.
pub(crate) fn export_mistyped(component: &str, err: wasmtime::Error) -> ComponentError {
    ComponentError::new(component, ErrorKind::ExportSignature, one_line(&err)).with_source(err)
}

/// Wasmtime rejected the engine configuration; `what` says which (`cannot
/// reserve a pool of ...`).
pub(crate) fn engine_rejected(what: String, err: wasmtime::Error) -> ComponentError {
    ComponentError::new(
        "<runtime>",
        ErrorKind::Config,
        format!("{what}: {}", one_line(&err)),
    )
    .with_source(err)
}

/// The epoch ticker thread could not be started: the host refused the
/// runtime something it needs, as for a pool that cannot be reserved
/// (nothing was compiled, so not [`ErrorKind::Compile`]).
pub(crate) fn ticker_failed(err: std::io::Error) -> ComponentError {
    ComponentError::new(
        "<runtime>",
        ErrorKind::Config,
        format!("cannot start the epoch ticker: {err}"),
    )
    .with_source(err)
}

/// The first line of the innermost message of a wasmtime error.
pub(crate) fn one_line(err: &wasmtime::Error) -> String {
    let root = err.root_cause().to_string();
    root.lines().next().unwrap_or("unknown error").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind with its answer: a kind added to [`ErrorKind::ALL`]
    /// without a decision here fails this test (and without one in
    /// `is_permanent` does not compile).
    #[test]
    fn every_kind_is_decided_permanent_or_not() {
        let expected: [(ErrorKind, bool); 25] = [
            (ErrorKind::Load, false),
            (ErrorKind::EmptyModule, true),
            (ErrorKind::InvalidMagic, true),
            (ErrorKind::InvalidWat, true),
            (ErrorKind::Compile, true),
            (ErrorKind::Manifest, true),
            (ErrorKind::PermissionDenied, true),
            (ErrorKind::Instantiation, false),
            (ErrorKind::MemoryLimit, false),
            (ErrorKind::TableLimit, false),
            (ErrorKind::OutOfFuel, false),
            (ErrorKind::Deadline, false),
            (ErrorKind::Trap, false),
            (ErrorKind::ExportSignature, true),
            (ErrorKind::InvalidTransition, false),
            (ErrorKind::Cancelled, false),
            (ErrorKind::Config, true),
            (ErrorKind::ModuleTooLarge, true),
            (ErrorKind::UnsupportedImport, true),
            (ErrorKind::Exit, false),
            (ErrorKind::NotExported, true),
            (ErrorKind::MailboxFull, false),
            (ErrorKind::Stopped, false),
            (ErrorKind::MessageTooLarge, true),
            (ErrorKind::MessageAbi, true),
        ];
        for kind in ErrorKind::ALL {
            let Some(&(_, permanent)) = expected.iter().find(|(k, _)| *k == kind) else {
                panic!("{kind}: no decision in this test; decide whether it is permanent");
            };
            assert_eq!(kind.is_permanent(), permanent, "{kind}");
        }
        assert_eq!(expected.len(), ErrorKind::ALL.len());
    }

    fn call(phase: Phase, refused: Refusals, limits: &ResourceLimits) -> Call<'_> {
        Call {
            component: "c",
            phase,
            timeout: Duration::from_millis(7),
            limits,
            refused,
            pool_slots: Some(3),
        }
    }

    #[test]
    fn traps_refusals_and_other_failures_get_their_kinds() {
        let limits = ResourceLimits::default();
        let none = Refusals::default();
        let memory = Refusals {
            memory: true,
            table: false,
        };
        let table = Refusals {
            memory: false,
            table: true,
        };
        let cases = [
            (
                Phase::Start,
                none,
                Trap::OutOfFuel.into(),
                ErrorKind::OutOfFuel,
            ),
            (
                Phase::Start,
                memory,
                Trap::Interrupt.into(),
                ErrorKind::Deadline,
            ),
            (
                Phase::Health,
                memory,
                Trap::UnreachableCodeReached.into(),
                ErrorKind::MemoryLimit,
            ),
            (
                Phase::Cleanup,
                table,
                Trap::UnreachableCodeReached.into(),
                ErrorKind::TableLimit,
            ),
            (
                Phase::Start,
                none,
                Trap::UnreachableCodeReached.into(),
                ErrorKind::Trap,
            ),
            (
                Phase::Start,
                none,
                wasmtime::Error::msg("host"),
                ErrorKind::Trap,
            ),
            (
                Phase::Instantiate,
                none,
                wasmtime::Error::msg("no"),
                ErrorKind::Instantiation,
            ),
        ];
        for (phase, refused, err, kind) in cases {
            let e = guest_failure(call(phase.clone(), refused, &limits), err);
            assert_eq!(e.kind(), kind, "{phase:?}: {e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        let e = guest_failure(call(Phase::Start, none, &limits), Trap::Interrupt.into());
        assert_eq!(e.message(), "`_start` exceeded its deadline of 7ms");
        // proc_exit, whatever else the store saw, is an exit with its code.
        for code in [0, 3, -1] {
            let e = guest_failure(call(Phase::Start, memory, &limits), I32Exit(code).into());
            assert_eq!(e.kind(), ErrorKind::Exit, "{e}");
            assert_eq!(e.exit_code(), Some(code));
            assert_eq!(
                e.message(),
                format!("`_start` ended with proc_exit({code})")
            );
        }
        let e = guest_failure(
            call(Phase::Call("compress".into()), none, &limits),
            Trap::UnreachableCodeReached.into(),
        );
        assert!(e.message().starts_with("`compress` trapped"), "{e}");
        let e = exited("c", &Phase::Health, &Phase::Start, 0);
        assert_eq!((e.kind(), e.exit_code()), (ErrorKind::Exit, Some(0)));
        assert_eq!(
            e.message(),
            "`_health` not called: the guest exited with proc_exit(0) in `_start`"
        );
    }

    #[test]
    fn messages_carry_the_first_line_of_the_innermost_error() {
        let err = wasmtime::Error::msg("first line\nsecond line").context("outer");
        assert_eq!(one_line(&err), "first line");
        let e = compile_failed("c", err);
        assert_eq!(e.kind(), ErrorKind::Compile);
        assert_eq!(e.message(), "invalid module: first line");
    }

    #[test]
    fn a_poisoned_call_names_both_calls() {
        let e = poisoned("c", &Phase::Cleanup, &Phase::Health);
        assert_eq!(e.kind(), ErrorKind::InvalidTransition);
        assert_eq!(
            e.message(),
            "`_cleanup` not called: an earlier `_health` on this instance did not return normally"
        );
    }

    #[test]
    fn a_ticker_that_cannot_start_is_a_config_error_not_a_compile_error() {
        let e = ticker_failed(std::io::Error::from(std::io::ErrorKind::WouldBlock));
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(
            e.message().starts_with("cannot start the epoch ticker: "),
            "{}",
            e.message()
        );
        assert!(!e.message().contains('\n'));
    }
}
