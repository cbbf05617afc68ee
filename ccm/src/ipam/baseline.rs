//! The linear-scan baseline of the benchmarks: what MetalLB does (walk the pool from its first
//! address, skipping held and avoided addresses), over one range of one family.

use std::collections::HashSet;

/// A single-range allocator that finds the lowest free address by scanning.
#[derive(Debug, Clone)]
pub struct LinearScan {
    first: u128,
    last: u128,
    avoid_buggy_v4: bool,
    held: HashSet<u128>,
    /// Every address below this one is held (a pool filled from the bottom).
    watermark: u128,
}

impl LinearScan {
    /// A pool `first..=last` (integers of one family); `avoid_buggy_v4` skips `.0`/`.255`.
    pub fn new(first: u128, last: u128, avoid_buggy_v4: bool) -> Self {
        LinearScan {
            first,
            last,
            avoid_buggy_v4,
            held: HashSet::new(),
            watermark: first,
        }
    }

    /// Marks every address below `addr` held. The scan still does one hash lookup per
    /// address, as MetalLB does one map lookup per address.
    pub fn prefill_below(&mut self, addr: u128) {
        self.watermark = addr;
    }

    /// Marks `addr` held without searching (to pre-fill the pool).
    pub fn hold(&mut self, addr: u128) {
        self.held.insert(addr);
    }

    /// Takes the lowest free address, walking from the first one.
    pub fn allocate(&mut self) -> Option<u128> {
        let mut a = self.first;
        loop {
            let buggy = self.avoid_buggy_v4 && matches!(a & 0xff, 0 | 255);
            if !buggy && !self.held.contains(&a) && a >= self.watermark {
                self.held.insert(a);
                return Some(a);
            }
            if a == self.last {
                return None;
            }
            a += 1;
        }
    }

    /// Frees `addr`.
    pub fn release(&mut self, addr: u128) {
        self.held.remove(&addr);
    }
}
