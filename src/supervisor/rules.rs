//! OTP's rules, as pure functions: which ends are restarted, which
//! children a restart takes along, and when restarts are too many. The
//! supervisor's task only carries these decisions out.

use std::collections::VecDeque;
use std::ops::Range;
use std::time::Instant;

use crate::supervisor::spec::{Intensity, Restart, Strategy};

impl Restart {
    /// Whether a child of this type is restarted after it ended,
    /// `abnormally` (Failed) or not (Terminated by a stop).
    pub fn restarts_after(self, abnormally: bool) -> bool {
        match self {
            Restart::Permanent => true,
            Restart::Transient => abnormally,
            Restart::Temporary => false,
        }
    }
}

impl Strategy {
    /// The children a restart of child `failed` (of `len`) stops and
    /// starts again.
    pub fn affected(self, failed: usize, len: usize) -> Range<usize> {
        match self {
            Strategy::OneForOne => failed..failed + 1,
            Strategy::OneForAll => 0..len,
            Strategy::RestForOne => failed..len,
        }
    }
}

/// The restarts of the last `period`: OTP's intensity check.
#[derive(Debug, Default)]
pub(crate) struct RestartWindow {
    times: VecDeque<Instant>,
}

impl RestartWindow {
    /// Records a restart at `now`; `false` when that makes more than
    /// `intensity.restarts` within `intensity.period` (the supervisor must
    /// give up instead).
    pub(crate) fn admit(&mut self, now: Instant, intensity: Intensity) -> bool {
        self.times.push_back(now);
        let keep = intensity.restarts as usize + 1;
        while let Some(&first) = self.times.front() {
            // Past the period, or more than enough to decide: at most
            // `restarts + 1` are kept, whatever the intensity.
            if now.saturating_duration_since(first) > intensity.period || self.times.len() > keep {
                self.times.pop_front();
            } else {
                break;
            }
        }
        self.times.len() <= intensity.restarts as usize
    }

    /// Forgets every restart (a supervisor started again starts afresh).
    pub(crate) fn clear(&mut self) {
        self.times.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn restart_types() {
        assert!(Restart::Permanent.restarts_after(false));
        assert!(Restart::Permanent.restarts_after(true));
        assert!(!Restart::Transient.restarts_after(false));
        assert!(Restart::Transient.restarts_after(true));
        assert!(!Restart::Temporary.restarts_after(false));
        assert!(!Restart::Temporary.restarts_after(true));
    }

    #[test]
    fn strategies() {
        assert_eq!(Strategy::OneForOne.affected(2, 5), 2..3);
        assert_eq!(Strategy::OneForAll.affected(2, 5), 0..5);
        assert_eq!(Strategy::RestForOne.affected(2, 5), 2..5);
        assert_eq!(Strategy::RestForOne.affected(4, 5), 4..5);
    }

    #[test]
    fn one_in_five_seconds() {
        let i = Intensity::default();
        let t0 = Instant::now();
        let mut w = RestartWindow::default();
        assert!(w.admit(t0, i));
        // A second restart within 5 s is one too many.
        assert!(!w.admit(t0 + Duration::from_secs(5), i));
        let mut w = RestartWindow::default();
        assert!(w.admit(t0, i));
        // Past the period, the first no longer counts.
        assert!(w.admit(t0 + Duration::from_millis(5001), i));
        assert!(!w.admit(t0 + Duration::from_millis(5002), i));
    }

    #[test]
    fn zero_restarts_gives_up_at_once() {
        let i = Intensity {
            restarts: 0,
            period: Duration::from_secs(1),
        };
        assert!(!RestartWindow::default().admit(Instant::now(), i));
    }

    #[test]
    fn at_most_restarts_plus_one_are_kept() {
        let i = Intensity {
            restarts: 2,
            period: Duration::from_secs(3600),
        };
        let t0 = Instant::now();
        let mut w = RestartWindow::default();
        assert!(w.admit(t0, i));
        assert!(w.admit(t0, i));
        for _ in 0..100 {
            assert!(!w.admit(t0, i));
        }
        assert_eq!(w.times.len(), 3);
    }

    #[test]
    fn clear_forgets() {
        let i = Intensity::default();
        let t0 = Instant::now();
        let mut w = RestartWindow::default();
        assert!(w.admit(t0, i));
        w.clear();
        assert!(w.admit(t0, i));
    }
}
