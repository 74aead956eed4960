//! WebAssembly bindings for [`deltacrdt`]: the npm package `deltacrdt-wasm`.
//!
//! A thin layer over the crate's **public** API. Each exported JavaScript class lives in its
//! own file: [`WasmDoc`] (JS `Doc`, in `doc.rs`) holds a [`deltacrdt::SyncEngine`] of a
//! [`deltacrdt::Doc`], and [`CounterRef`], [`SetRef`], [`RegisterRef`], [`FlagRef`] and
//! [`MapRef`] address a path inside it. The native peers' encrypted channel (auth protocol 2) is
//! not here: the package's `channel/` speaks it in JavaScript over WebCrypto, which keeps the
//! module within its size budget.
//!
//! Rules the bindings keep:
//! - **No panic reaches JavaScript.** Every entry point returns `Result<_, JsError>`; a panic
//!   in wasm would poison the instance. Bad input becomes a JS `Error` with a stable string
//!   `code` property (see [`Code`]) and leaves the document unchanged.
//! - **Time and randomness come from the host**: the physical clock is `Date.now()` and new
//!   replica ids are read from `crypto.getRandomValues`, both through `js-sys` (the core has
//!   no clock or RNG on `wasm32-unknown-unknown`).
//! - **Re-entrancy is safe**: the engine sits in a `RefCell` shared by the `Doc` and its refs;
//!   subscribers are called only after every borrow is released, and a borrow conflict becomes
//!   a `BUSY` error instead of a panic.
//!
//! Only code that talks to JavaScript is wasm-specific; the rest (errors, the save format,
//! value checks) is plain Rust with native unit tests.

/// The module's allocator: Talc grows the wasm memory as needed like std's dlmalloc, in less
/// code. Single-threaded wasm only (a module built with atomics keeps the default).
#[cfg(all(small_code, not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

mod convert;
mod counter;
mod doc;
mod error;
mod flag;
mod map;
mod register;
mod save;
mod set;
mod shared;
mod stats;

pub use counter::CounterRef;
pub use doc::WasmDoc;
pub use error::{Code, Failure};
pub use flag::FlagRef;
pub use map::MapRef;
pub use register::RegisterRef;
pub use save::{SAVE_VERSION, Saved};
pub use set::SetRef;
