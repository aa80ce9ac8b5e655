//! The [`ResourceLimiter`] of one store: caps linear memory and table growth
//! at the manifest's limits and remembers which cap refused, so a failure can
//! be reported as [`MemoryLimit`](crate::ErrorKind::MemoryLimit) or
//! [`TableLimit`](crate::ErrorKind::TableLimit) instead of a bare trap.

use wasmtime::ResourceLimiter;

use crate::manifest::ResourceLimits;

/// Which cap, if any, refused a growth during the current guest call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Refusals {
    pub memory: bool,
    pub table: bool,
}

/// Totals over all memories and tables of one store, against their caps.
#[derive(Debug)]
pub(crate) struct Limiter {
    max_memory: usize,
    max_table: usize,
    memory: usize,
    table: usize,
    /// Growth approved but not yet known to have happened; undone when
    /// wasmtime reports the growth failed after approval.
    pending_memory: usize,
    pending_table: usize,
    peak_memory: usize,
    refused: Refusals,
}

impl Limiter {
    pub(crate) fn new(limits: &ResourceLimits) -> Self {
        Self {
            max_memory: usize::try_from(limits.max_memory_bytes).unwrap_or(usize::MAX),
            max_table: usize::try_from(limits.max_table_elements).unwrap_or(usize::MAX),
            memory: 0,
            table: 0,
            pending_memory: 0,
            pending_table: 0,
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

    /// Bytes of linear memory in use, over all memories.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.memory
    }

    /// The most linear memory this store ever had.
    pub(crate) fn peak_memory_bytes(&self) -> usize {
        self.peak_memory
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // `desired` is the new size of this memory, not an increment.
        let growth = desired.saturating_sub(current);
        let total = self.memory.saturating_add(growth);
        if total > self.max_memory {
            self.refused.memory = true;
            return Ok(false);
        }
        self.memory = total;
        self.pending_memory = growth;
        self.peak_memory = self.peak_memory.max(total);
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory -= self.pending_memory;
        self.pending_memory = 0;
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current);
        let total = self.table.saturating_add(growth);
        if total > self.max_table {
            self.refused.table = true;
            return Ok(false);
        }
        self.table = total;
        self.pending_table = growth;
        Ok(true)
    }

    fn table_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.table -= self.pending_table;
        self.pending_table = 0;
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
    }

    #[test]
    fn failed_growth_is_undone() {
        let mut l = limiter(2);
        assert!(l.memory_growing(0, 2 * PAGE, None).unwrap());
        l.memory_grow_failed(wasmtime::Error::msg("mmap failed"))
            .unwrap();
        assert_eq!(l.memory_bytes(), 0);
    }

    #[test]
    fn tables_are_capped() {
        let mut l = limiter(1);
        assert!(l.table_growing(0, 10, None).unwrap());
        assert!(!l.table_growing(10, 11, None).unwrap());
        assert!(l.refusals().table);
        assert!(!l.refusals().memory);
    }
}
