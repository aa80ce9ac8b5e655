//! The epoch ticker: one OS thread per [`Runtime`](crate::Runtime) that
//! advances the engine's epoch every tick, so that each store's epoch
//! callback can compare the clock with its own deadline.
//!
//! Ticks are needed only while guest code runs. After [`IDLE_AFTER`] in
//! which no guest call began or was in progress, the ticker parks; the next
//! guest call to begin ([`Wake::enter`]) unparks it. An idle runtime
//! therefore costs no wake-ups, and a busy one pays one atomic add and one
//! atomic subtraction per guest call. The handshake between a call that
//! begins and a ticker that goes to sleep is [`Wake`]; the loom models in
//! `ticker/loom_models.rs` check that no interleaving leaves a call running
//! while the ticker sleeps.

use std::sync::Arc as StdArc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::Engine;

use crate::sync::atomic::{AtomicU64, Ordering::SeqCst};
use crate::sync::{Mutex, thread};

/// How long the ticker keeps ticking with no guest call before it parks.
pub(crate) const IDLE_AFTER: Duration = Duration::from_millis(100);

/// [`Wake::state`]: the ticker is parked (or about to park).
const PARKED: u64 = 1;
/// [`Wake::state`]: one guest call in progress (bits 1 to 31 count them).
const ACTIVE: u64 = 1 << 1;
/// [`Wake::state`]: one guest call begun (bits 32 to 63 count them,
/// wrapping).
const BEGUN: u64 = 1 << 32;
/// [`Wake::state`]: the bits that count calls in progress.
const ACTIVE_MASK: u64 = BEGUN - ACTIVE;

/// The handshake between guest calls and the ticker thread.
///
/// Everything the two sides decide on is one atomic word, so every change
/// to it is in one total order: a call that begins ([`enter`](Self::enter))
/// either comes before the ticker's decision to park, which then fails
/// because the word changed, or after it, and then sees [`PARKED`] and
/// unparks the ticker. The loom models in `ticker/loom_models.rs` check it.
pub(crate) struct Wake {
    /// [`PARKED`], calls in progress ([`ACTIVE`]) and calls begun
    /// ([`BEGUN`]).
    state: AtomicU64,
    /// The ticker thread, once it has registered itself.
    ticker: Mutex<Option<thread::Thread>>,
}

impl Wake {
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicU64::new(0),
            ticker: Mutex::new(None),
        }
    }

    /// A guest call begins; the ticker ticks until the guard is dropped.
    /// One atomic add, and an unpark only when the ticker sleeps.
    pub(crate) fn enter(&self) -> Busy<'_> {
        let before = self.state.fetch_add(ACTIVE + BEGUN, SeqCst);
        if before & PARKED != 0 {
            let ticker = self
                .ticker
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(ticker) = ticker.as_ref() {
                ticker.unpark();
            }
        }
        Busy(self)
    }

    /// Ticker side: makes the calling thread the one [`enter`](Self::enter)
    /// unparks.
    pub(crate) fn register(&self) {
        *self
            .ticker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(thread::current());
    }

    /// The ticker thread's loop: `tick` waits one tick and advances the
    /// epoch (false: stop). After `idle_ticks` ticks in a row at which no
    /// call was in progress and none had begun since the tick before, it
    /// parks until a call begins (or anything else unparks the thread).
    pub(crate) fn run(&self, idle_ticks: u128, mut tick: impl FnMut() -> bool) {
        self.register();
        let mut seen = self.state.load(SeqCst);
        let mut quiet_ticks = 0;
        while tick() {
            let now = self.state.load(SeqCst);
            let quiet = now == seen && now & ACTIVE_MASK == 0;
            seen = now;
            if !quiet {
                quiet_ticks = 0;
                continue;
            }
            quiet_ticks += 1;
            if quiet_ticks < idle_ticks {
                continue;
            }
            quiet_ticks = 0;
            // Fails if any call began since `now` was read.
            if self
                .state
                .compare_exchange(now, now | PARKED, SeqCst, SeqCst)
                .is_ok()
            {
                // Returns at once if a call unparked it already; may also
                // return spuriously, and the loop goes on either way.
                thread::park();
                self.state.fetch_and(!PARKED, SeqCst);
            }
            seen = self.state.load(SeqCst);
        }
    }
}

/// A guest call in progress; see [`Wake::enter`].
pub(crate) struct Busy<'a>(&'a Wake);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.state.fetch_sub(ACTIVE, SeqCst);
    }
}

/// The ticker thread. It holds only a weak reference to the engine, and
/// stops (and is joined) as soon as its `Ticker` is dropped, parked or not.
pub(crate) struct Ticker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    /// Starts ticking `engine` every `tick`; guest calls keep it awake
    /// through `wake`.
    pub(crate) fn spawn(
        engine: &Engine,
        tick: Duration,
        wake: StdArc<Wake>,
    ) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let weak = engine.weak();
        let idle_ticks = idle_ticks(tick);
        let thread = std::thread::Builder::new()
            .name("component-actor-epoch".into())
            .spawn(move || {
                wake.run(idle_ticks, || {
                    if stopped.recv_timeout(tick) != Err(RecvTimeoutError::Timeout) {
                        return false;
                    }
                    match weak.upgrade() {
                        Some(engine) => {
                            engine.increment_epoch();
                            true
                        }
                        None => false,
                    }
                });
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// How many quiet ticks of `tick` make up [`IDLE_AFTER`] (at least one).
fn idle_ticks(tick: Duration) -> u128 {
    (IDLE_AFTER.as_nanos() / tick.as_nanos().max(1)).max(1)
}

impl Drop for Ticker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // Parked or not, it sees the closed channel on its next wait.
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

#[cfg(all(test, component_actor_loom))]
mod loom_models;

#[cfg(all(test, not(component_actor_loom)))]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64 as StdAtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use super::{PARKED, SeqCst, Wake, idle_ticks};

    #[test]
    fn it_parks_after_idle_after_of_quiet_ticks() {
        assert_eq!(idle_ticks(Duration::from_millis(1)), 100);
        assert_eq!(idle_ticks(Duration::from_micros(100)), 1000);
        assert_eq!(idle_ticks(Duration::from_millis(30)), 3);
        // A tick longer than IDLE_AFTER still waits one quiet tick.
        assert_eq!(idle_ticks(Duration::from_secs(1)), 1);
    }

    /// Two calls in progress at once keep the ticker awake as one does,
    /// whatever the count of calls begun; it parks once both have ended.
    #[test]
    fn calls_in_progress_keep_it_awake_however_many() {
        for calls in [2usize, 3, 4] {
            let wake = Arc::new(Wake::new());
            let ticks = Arc::new(StdAtomicU64::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let ticker = std::thread::spawn({
                let (wake, ticks, stop) = (wake.clone(), ticks.clone(), stop.clone());
                move || {
                    wake.run(2, || {
                        ticks.fetch_add(1, Ordering::SeqCst);
                        !stop.load(Ordering::SeqCst)
                    })
                }
            });
            let busy: Vec<_> = (0..calls).map(|_| wake.enter()).collect();
            let t = Instant::now();
            while ticks.load(Ordering::SeqCst) < 10 {
                assert!(t.elapsed() < Duration::from_secs(10), "it does not tick");
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(
                wake.state.load(SeqCst) & PARKED,
                0,
                "parked with {calls} calls in progress"
            );
            drop(busy);
            let t = Instant::now();
            while wake.state.load(SeqCst) & PARKED == 0 {
                assert!(t.elapsed() < Duration::from_secs(10), "never parked");
                std::thread::sleep(Duration::from_millis(1));
            }
            stop.store(true, Ordering::SeqCst);
            drop(wake.enter());
            ticker.join().unwrap();
        }
    }

    /// The ticker parks after exactly `idle_ticks` quiet ticks (no sooner,
    /// no later), and a call that begins wakes it: it ticks, and parks again.
    #[test]
    fn parks_after_exactly_idle_ticks_quiet_ticks_and_a_call_wakes_it() {
        for idle_ticks in [1u64, 3, 7] {
            let wake = Arc::new(Wake::new());
            let ticks = Arc::new(StdAtomicU64::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let ticker = std::thread::spawn({
                let (wake, ticks, stop) = (wake.clone(), ticks.clone(), stop.clone());
                move || {
                    wake.run(u128::from(idle_ticks), || {
                        ticks.fetch_add(1, Ordering::SeqCst);
                        !stop.load(Ordering::SeqCst)
                    })
                }
            });
            let parked = || {
                let t = Instant::now();
                while wake.state.load(SeqCst) & PARKED == 0 {
                    assert!(t.elapsed() < Duration::from_secs(10), "never parked");
                    std::thread::sleep(Duration::from_millis(1));
                }
                ticks.load(Ordering::SeqCst)
            };
            assert_eq!(parked(), idle_ticks, "ticks before the first park");
            // A call that begins wakes it; it does not park while the call
            // runs, and parks again once the call has ended.
            let busy = wake.enter();
            let t = Instant::now();
            while ticks.load(Ordering::SeqCst) <= idle_ticks + 1 {
                assert!(
                    t.elapsed() < Duration::from_secs(10),
                    "a call did not wake it"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(wake.state.load(SeqCst) & PARKED, 0, "parked during a call");
            drop(busy);
            assert!(parked() > idle_ticks + 1);
            stop.store(true, Ordering::SeqCst);
            drop(wake.enter());
            ticker.join().unwrap();
        }
    }
}
