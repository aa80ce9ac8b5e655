//! The [`ResourceLimiter`] of one store: caps linear memory and table growth
//! at the manifest's limits and remembers which cap refused, so a failure can
//! be reported as [`MemoryLimit`](crate::ErrorKind::MemoryLimit) or
//! [`TableLimit`](crate::ErrorKind::TableLimit) instead of a bare trap.
//!
//! # How the totals stay sound
//!
//! Wasmtime tells a limiter the `current` and `desired` size of the one
//! memory (or table) that is about to grow, but not which one it is, and it
//! reports failures (`memory_grow_failed`, `table_grow_failed`) both after a
//! growth the limiter approved and *without* any approval at all (a
//! `table.grow` whose new size overflows, a memory growth its type cannot
//! represent). A limiter that undoes "the last approved growth" on a failure
//! therefore undoes growth that did happen: a table64 guest with a
//! 1,000-element cap once reached 1,990 elements that way.
//!
//! So this limiter keeps no pending state and ignores the failure reports.
//! It decides from the sizes wasmtime passes, and keeps for each memory (and
//! each table) the size it last approved for it: an
//! upper bound of its real size, because a growth happens only after an
//! approval. When a memory of `current` bytes asks to grow, the entry that
//! stands for it is replaced by `desired`; since the limiter cannot tell the
//! memories apart it replaces the smallest entry that is at least `current`
//! (a memory's own entry is at least its real size, so one exists, and
//! taking the smallest keeps every entry an upper bound of a distinct
//! memory). The sum of the entries is therefore never below the real total,
//! and a growth is approved only when that sum, with the new size, stays
//! within the cap. A growth that was approved and then failed (an `mmap`
//! that failed, a pooling slot too small) leaves its entry too high: the
//! total over-counts, which can refuse a later growth early but never lets
//! one through; the memory's next growth, which reports its real size,
//! replaces that entry again.
//!
//! Growth past the memory's or table's own declared maximum (the `maximum`
//! wasmtime passes) is refused here too, without counting as a refusal of
//! the manifest's cap: wasmtime would fail it anyway, after the approval.

use wasmtime::ResourceLimiter;

use crate::manifest::ResourceLimits;

/// Which cap, if any, refused a growth during the current guest call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Refusals {
    pub memory: bool,
    pub table: bool,
}

/// What the limiter knows of the sizes of one kind of resource (memories or
/// tables) in one store. See the module documentation for why the sum of
/// entries is never below the real total.
#[derive(Debug, Default)]
struct Sizes {
    /// One entry per memory (table) the limiter approved a size for: the
    /// size last approved for it. The first entry is kept inline, so an
    /// instance with one memory and one table (the common case) costs the
    /// limiter no allocation; the rest follow in `rest`.
    first: Option<usize>,
    rest: Vec<usize>,
    /// The sum of the entries; never above the cap.
    total: usize,
}

impl Sizes {
    /// Approves the growth of one memory (table) from `current` to `desired`
    /// if the total stays within `cap`, and records it.
    fn grow(&mut self, current: usize, desired: usize, cap: usize) -> bool {
        // A new memory (or an empty one) has no entry: it adds to the total.
        // Otherwise its entry is the smallest one at least `current` (the
        // first of equals).
        let slot = if current == 0 {
            None
        } else {
            self.first
                .iter_mut()
                .chain(self.rest.iter_mut())
                .filter(|size| **size >= current)
                .min_by_key(|size| **size)
        };
        // Without a matching entry (wasmtime reporting a memory it never
        // asked about), count `desired` in full: an over-count, never an
        // under-count.
        let freed = slot.as_deref().copied().unwrap_or(0);
        let total = (self.total - freed).saturating_add(desired);
        if total > cap {
            return false;
        }
        // A zero-size entry (a memory created empty) changes no sum and is
        // never chosen above, as `current > 0` there.
        match slot {
            Some(size) => *size = desired,
            None => match self.first {
                None => self.first = Some(desired),
                Some(_) => self.rest.push(desired),
            },
        }
        self.total = total;
        true
    }
}

/// Totals over all memories and tables of one store, against their caps.
#[derive(Debug)]
pub(crate) struct Limiter {
    max_memory: usize,
    max_table: usize,
    memory: Sizes,
    table: Sizes,
    peak_memory: usize,
    refused: Refusals,
}

impl Limiter {
    pub(crate) fn new(limits: &ResourceLimits) -> Self {
        Self {
            max_memory: usize::try_from(limits.max_memory_bytes).unwrap_or(usize::MAX),
            max_table: usize::try_from(limits.max_table_elements).unwrap_or(usize::MAX),
            memory: Sizes::default(),
            table: Sizes::default(),
            peak_memory: 0,
            refused: Refusals::default(),
        }
    }

    /// Forget refusals from earlier calls: a guest that coped with a refused
    /// `memory.grow` and later traps for another reason must not be reported
    /// as out of memory.
    pub(crate) fn reset_refusals(&mut self) {
        self.refused = Refusals::default();
    }

    pub(crate) fn refusals(&self) -> Refusals {
        self.refused
    }

    /// Bytes of linear memory in use, over all memories (an upper bound:
    /// see the module documentation).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.memory.total
    }

    /// The most linear memory this store ever had.
    pub(crate) fn peak_memory_bytes(&self) -> usize {
        self.peak_memory
    }

    /// Table elements in use, over all tables (an upper bound).
    #[cfg(test)]
    fn table_elements(&self) -> usize {
        self.table.total
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // `desired` is the new size of this memory, not an increment.
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        if !self.memory.grow(current, desired, self.max_memory) {
            self.refused.memory = true;
            return Ok(false);
        }
        self.peak_memory = self.peak_memory.max(self.memory.total);
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        // Deliberately nothing: this is also called for growth that was
        // never approved, so it cannot say which entry, if any, is too high.
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        if !self.table.grow(current, desired, self.max_table) {
            self.refused.table = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        // As `memory_grow_failed`: wasmtime calls this after an index
        // overflow without asking `table_growing` first.
        Ok(())
    }

    fn instances(&self) -> usize {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: usize = 65536;

    fn limiter(pages: u64) -> Limiter {
        Limiter::new(&ResourceLimits {
            max_memory_bytes: pages * PAGE as u64,
            max_table_elements: 10,
            ..ResourceLimits::default()
        })
    }

    fn failure() -> wasmtime::Error {
        wasmtime::Error::msg("growth failed")
    }

    #[test]
    fn desired_is_a_total_not_an_increment() {
        let mut l = limiter(2);
        assert!(l.memory_growing(0, PAGE, None).unwrap());
        // Growing from 1 page to 2 pages reaches the cap exactly: allowed.
        assert!(l.memory_growing(PAGE, 2 * PAGE, None).unwrap());
        assert_eq!(l.memory_bytes(), 2 * PAGE);
        assert!(!l.refusals().memory);
        assert!(!l.memory_growing(2 * PAGE, 3 * PAGE, None).unwrap());
        assert!(l.refusals().memory);
        l.reset_refusals();
        assert!(!l.refusals().memory);
        assert_eq!(l.peak_memory_bytes(), 2 * PAGE);
    }

    #[test]
    fn caps_the_sum_over_memories() {
        let mut l = limiter(3);
        assert!(l.memory_growing(0, 2 * PAGE, None).unwrap());
        assert!(!l.memory_growing(0, 2 * PAGE, None).unwrap());
        assert!(l.memory_growing(0, PAGE, None).unwrap());
        assert_eq!(l.memory_bytes(), 3 * PAGE);
    }

    #[test]
    fn tables_are_capped() {
        let mut l = limiter(1);
        assert!(l.table_growing(0, 10, None).unwrap());
        assert!(!l.table_growing(10, 11, None).unwrap());
        assert!(l.refusals().table);
        assert!(!l.refusals().memory);
    }

    // The reported bypass, as wasmtime drives the limiter: a table grows to
    // 995, then a `table.grow` whose new size overflows is reported failed
    // without `table_growing` being asked, then 995 more are asked for.
    #[test]
    fn a_failure_reported_without_an_approval_frees_nothing() {
        let mut l = Limiter::new(&ResourceLimits {
            max_table_elements: 1000,
            ..ResourceLimits::default()
        });
        assert!(l.table_growing(0, 995, None).unwrap());
        l.table_grow_failed(failure()).unwrap();
        assert_eq!(l.table_elements(), 995);
        assert!(!l.table_growing(995, 1990, None).unwrap());
        assert!(l.refusals().table);
        assert!(l.table_growing(995, 1000, None).unwrap());

        let mut l = limiter(4);
        assert!(l.memory_growing(0, 3 * PAGE, None).unwrap());
        l.memory_grow_failed(failure()).unwrap();
        assert_eq!(l.memory_bytes(), 3 * PAGE);
        assert!(!l.memory_growing(3 * PAGE, 5 * PAGE, None).unwrap());
        assert_eq!(l.memory_bytes(), 3 * PAGE);
    }

    // A growth approved and then failed (an mmap that failed) over-counts
    // until that memory grows again and reports its real size.
    #[test]
    fn a_growth_that_failed_after_approval_over_counts_until_the_next_growth() {
        let mut l = limiter(4);
        assert!(l.memory_growing(0, PAGE, None).unwrap());
        assert!(l.memory_growing(PAGE, 4 * PAGE, None).unwrap());
        l.memory_grow_failed(failure()).unwrap();
        assert_eq!(l.memory_bytes(), 4 * PAGE);
        // The memory is still 1 page: its entry is replaced.
        assert!(l.memory_growing(PAGE, 2 * PAGE, None).unwrap());
        assert_eq!(l.memory_bytes(), 2 * PAGE);
        assert!(l.memory_growing(0, 2 * PAGE, None).unwrap());
        assert_eq!(l.memory_bytes(), 4 * PAGE);
    }

    #[test]
    fn growth_past_the_declared_maximum_is_refused_without_a_refusal() {
        let mut l = limiter(4);
        assert!(l.memory_growing(0, PAGE, Some(2 * PAGE)).unwrap());
        assert!(!l.memory_growing(PAGE, 3 * PAGE, Some(2 * PAGE)).unwrap());
        assert!(!l.refusals().memory);
        assert_eq!(l.memory_bytes(), PAGE);
        assert!(l.memory_growing(PAGE, 2 * PAGE, Some(2 * PAGE)).unwrap());
        assert!(!l.table_growing(0, 6, Some(5)).unwrap());
        assert!(!l.refusals().table);
        assert!(l.table_growing(0, 5, Some(5)).unwrap());
        assert_eq!(l.table_elements(), 5);
    }

    #[test]
    fn the_entry_of_a_memory_is_found_among_others_by_its_size() {
        let mut l = limiter(10);
        assert!(l.memory_growing(0, PAGE, None).unwrap());
        assert!(l.memory_growing(0, 3 * PAGE, None).unwrap());
        // The 3-page memory grows: 1 + 5 pages.
        assert!(l.memory_growing(3 * PAGE, 5 * PAGE, None).unwrap());
        assert_eq!(l.memory_bytes(), 6 * PAGE);
        // The 1-page memory grows: 4 + 5 pages.
        assert!(l.memory_growing(PAGE, 4 * PAGE, None).unwrap());
        assert_eq!(l.memory_bytes(), 9 * PAGE);
        assert!(!l.memory_growing(4 * PAGE, 6 * PAGE, None).unwrap());
        assert!(l.memory_growing(5 * PAGE, 6 * PAGE, None).unwrap());
        assert_eq!(l.memory_bytes(), 10 * PAGE);
        assert_eq!(l.peak_memory_bytes(), 10 * PAGE);
    }

    /// A memory (or table) as wasmtime holds it, for the model below.
    struct Real {
        size: usize,
    }

    // A model of how wasmtime drives the limiter, over many random steps:
    // new memories, growths that happen, growths refused, growths that fail
    // after approval and failures reported without approval. The real total
    // must never pass the cap, and the limiter's total never fall below it.
    #[test]
    fn the_real_total_never_passes_the_cap_whatever_wasmtime_reports() {
        let cap = 64;
        for seed in 1..=64u64 {
            let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut next = |n: usize| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                usize::try_from(rng % n as u64).unwrap()
            };
            let mut l = Limiter::new(&ResourceLimits {
                max_table_elements: cap as u64,
                ..ResourceLimits::default()
            });
            let mut tables: Vec<Real> = Vec::new();
            for _ in 0..2000 {
                let op = next(10);
                if op == 0 || tables.is_empty() {
                    let size = next(12);
                    if l.table_growing(0, size, None).unwrap() {
                        tables.push(Real { size });
                    }
                } else {
                    let i = next(tables.len());
                    let t = &mut tables[i];
                    let desired = t.size + 1 + next(8);
                    match op {
                        1 => l.table_grow_failed(failure()).unwrap(),
                        _ if l.table_growing(t.size, desired, None).unwrap() => {
                            if op == 2 {
                                l.table_grow_failed(failure()).unwrap();
                            } else {
                                t.size = desired;
                            }
                        }
                        _ => {}
                    }
                }
                let real: usize = tables.iter().map(|t| t.size).sum();
                assert!(real <= cap, "seed {seed}: {real} elements");
                assert!(l.table_elements() >= real, "seed {seed}");
            }
        }
    }
}
