//! Hints to the processor: they never change what the program computes, and do nothing where
//! the platform lacks them. Used where a loop's random reads are known some iterations ahead.

/// Starts loading `slice[i]` into the cache without waiting for it (nothing if `i` is out of
/// bounds).
#[inline]
pub fn prefetch<T>(slice: &[T], i: usize) {
    if i >= slice.len() {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` only hints; it never faults, whatever the address. The pointer is
    // in bounds in any case (checked above). SSE is part of the x86_64 baseline.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(slice.as_ptr().add(i).cast());
    }
}

/// A vector of `len` default values written in order, so that all its pages are taken from the
/// kernel before any random write (`vec![0.0; len]` leaves them untouched until first written).
/// Measured in the trace's propagation on the 1M-node network: placing 250k additions at random
/// into two fresh 64 MB arrays took 270–300 ms; writing the arrays in order first took 30 ms and
/// the placing then 5 ms. A page-fault benchmark on its own (examples/memory_model) shows no such
/// difference between faults in order and at random, so the cause is not established; the
/// measurement is in BENCHMARKS.md ("What the machine allows").
pub fn filled_in_order<T: Clone + Default>(len: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    v.resize(len, T::default());
    v
}
