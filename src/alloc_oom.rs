//! talc's `WasmHandler` (talc 4.4.3, MIT), without its `unwrap()`: that one call kept
//! `core::fmt`'s padding and `Debug` machinery in the wasm (a `Result::unwrap` failure
//! formats its error), about 1 KB that an edge isolate loaded for nothing. A failed claim
//! is an allocation failure here, as a failed `memory.grow` is. The only `unsafe` in
//! the crate: talc's heap calls, on a single-threaded wasm32 instance that owns its memory.
#![allow(unsafe_code)]

use core::alloc::Layout;
use talc::{OomHandler, Span, Talc};

/// Grows the wasm memory by as many 64 KiB pages as the allocation needs (halving the
/// request while `memory.grow` refuses), then extends the heap or claims the new pages.
pub struct Grow {
    prev_heap: Span,
}

// SAFETY: compiled only for wasm32 without threads (talc's own `WasmHandler` says the same).
unsafe impl Send for Grow {}

impl Grow {
    /// No heap yet.
    pub const EMPTY: Grow = Grow {
        prev_heap: Span::empty(),
    };
}

impl OomHandler for Grow {
    fn handle_oom(talc: &mut Talc<Self>, layout: Layout) -> Result<(), ()> {
        const PAGE_SIZE: usize = 64 * 1024;
        let required = (layout.size() + 8).max(layout.align() * 2);
        let mut delta_pages = required.div_ceil(PAGE_SIZE);
        let prev = loop {
            if delta_pages == 0 {
                return Err(());
            }
            let result = core::arch::wasm32::memory_grow::<0>(delta_pages);
            if result != usize::MAX {
                break result;
            }
            delta_pages >>= 1;
        };
        let prev_heap_acme = (prev * PAGE_SIZE) as *mut u8;
        let new_heap_acme = prev_heap_acme.wrapping_add(delta_pages * PAGE_SIZE);
        if let Some((prev_base, prev_acme)) = talc.oom_handler.prev_heap.get_base_acme() {
            if prev_acme == prev_heap_acme {
                // SAFETY: the new pages follow the heap talc manages; nothing else uses them.
                talc.oom_handler.prev_heap = unsafe {
                    talc.extend(
                        talc.oom_handler.prev_heap,
                        Span::new(prev_base, new_heap_acme),
                    )
                };
                return Ok(());
            }
        }
        // SAFETY: fresh pages from memory.grow, owned by nobody else.
        talc.oom_handler.prev_heap =
            unsafe { talc.claim(Span::new(prev_heap_acme, new_heap_acme)) }?;
        Ok(())
    }
}
