//! The two memory hints the loader gives the processor and the kernel. Both are hints: neither
//! changes what the program computes, and both do nothing where the platform lacks them.
//!
//! Measured on the 1 M-node network (10 M flows; BENCHMARKS.md): parsing and resolving
//! flows.csv took 3.2 s without them, 2.6–2.8 s with the prefetch alone and 2.2–2.5 s with both.

/// Starts loading `slice[i]` into the cache without waiting for it (one function for the
/// whole workspace, in the trace crate).
pub(crate) use lodestone_trace::hint::prefetch;

/// Asks the kernel to back the whole 2 MB pages inside `v`'s allocation with huge pages
/// (transparent huge pages in `madvise` mode, the default of many distributions). Call it before
/// the pages are first touched.
pub(crate) fn advise_huge_pages<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = v.as_ptr() as usize;
        let end = start + v.capacity() * std::mem::size_of::<T>();
        let first = start.next_multiple_of(HUGE);
        if end >= first + HUGE {
            let len = (end - first) / HUGE * HUGE;
            // SAFETY: the range [first, first + len) lies inside `v`'s own allocation, which
            // outlives the call; MADV_HUGEPAGE changes how pages are backed, never their
            // contents, and a refusal (an error return) is harmless and ignored.
            unsafe {
                libc::madvise(first as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}
