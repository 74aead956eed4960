//! A bound on nesting while decoding, so hostile input cannot exhaust the stack.
//!
//! Maps nest in maps and register values in lists and objects, and serde decodes them by
//! recursion: without a bound, a few hundred kilobytes of crafted bytes overflow the stack, which
//! aborts the process. serde gives a `Deserialize` impl no way to pass state down to the nested
//! calls, so the depth lives in a thread-local counter, raised by a guard for the duration of each
//! nested decode.

use core::cell::Cell;

/// The deepest nesting of document maps, or of lists and objects in a register, that decodes.
pub const MAX_NESTING: u32 = 128;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// One level of nesting, released on drop.
pub(crate) struct Level(());

impl Level {
    /// Enters one more level.
    ///
    /// # Errors
    /// A decode error once [`MAX_NESTING`] levels are open.
    pub(crate) fn enter<E: serde::de::Error>() -> Result<Self, E> {
        let max = crate::codec::session::max_depth().map_or(MAX_NESTING, |m| m.min(MAX_NESTING));
        DEPTH.with(|depth| {
            let open = depth.get();
            if open >= max {
                return Err(crate::codec::session::fail(
                    crate::codec::session::Fault::TooDeep { max },
                ));
            }
            depth.set(open + 1);
            Ok(Self(()))
        })
    }
}

impl Drop for Level {
    fn drop(&mut self) {
        DEPTH.with(|depth| depth.set(depth.get().saturating_sub(1)));
    }
}
