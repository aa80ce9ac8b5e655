//! loom models of [`Wake`](super::Wake), the handshake between guest calls
//! and the epoch ticker that parks when idle. The ticker thread runs the
//! real loop ([`Wake::run`](super::Wake::run)) with a bounded number of
//! ticks. A guest call in progress while the ticker is parked for good would
//! freeze the epoch and with it every deadline; loom reports that as a
//! deadlock when the model joins the ticker. Built only with
//! `--cfg component_actor_loom` and run by `ci/loom`.

use std::mem::ManuallyDrop;

use loom::sync::Arc;
use loom::thread;

use crate::sync::loom_model as model;

use super::Wake;

/// A ticker that ticks `ticks` times (sleeping whenever it is quiet) and
/// then ends.
fn ticker(wake: &Arc<Wake>, ticks: usize) -> thread::JoinHandle<()> {
    let wake = wake.clone();
    thread::spawn(move || {
        let mut left = ticks;
        wake.run(1, || {
            left = left.saturating_sub(1);
            left > 0
        });
    })
}

/// A call begins while the ticker may be deciding to sleep: the ticker
/// must still tick on (it never sleeps for good while the call runs).
#[test]
fn a_call_that_begins_keeps_the_ticker_awake() {
    model("a_call_that_begins_keeps_the_ticker_awake", || {
        let wake = Arc::new(Wake::new());
        let ticker = ticker(&wake, 3);
        // Not dropped while unwinding from a loom failure: its drop
        // touches a loom atomic, and a second panic would abort the run.
        let busy = ManuallyDrop::new(wake.enter());
        ticker.join().unwrap();
        drop(ManuallyDrop::into_inner(busy));
    });
}

/// One call ends (the ticker may go to sleep), then another begins from a
/// different thread: the second call wakes the ticker.
#[test]
fn the_next_call_wakes_a_sleeping_ticker() {
    model("the_next_call_wakes_a_sleeping_ticker", || {
        let wake = Arc::new(Wake::new());
        let ticker = ticker(&wake, 3);
        drop(wake.enter());
        let caller = {
            let wake = wake.clone();
            thread::spawn(move || {
                let busy = ManuallyDrop::new(wake.enter());
                ticker.join().unwrap();
                drop(ManuallyDrop::into_inner(busy));
            })
        };
        caller.join().unwrap();
    });
}
