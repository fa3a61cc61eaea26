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
