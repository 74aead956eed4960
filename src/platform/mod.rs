//! The one place where code varies by target: two named switches, and the code written for the
//! npm module's size.
//!
//! # The switches
//! - `small_code`: favour code size over speed, because users download the code (every wasm32
//!   build: the npm module). Code under it must compute exactly what the native path computes.
//! - `no_os`: std runs on no operating system, so `SystemTime::now` panics and there is no OS
//!   random source (`wasm32-unknown-unknown`: the host injects time and randomness).
//!
//! Each is defined once, in `predicates.rs` beside this file, and `build.rs` (this crate's, `src/platform/build.rs`, and
//! `bindings/wasm/build.rs`, which includes the same file) emits it as a plain cfg, so code writes
//! `#[cfg(small_code)]`, `#[cfg(not(no_os))]`, `cfg_attr(small_code, ..)` or `cfg!(no_os)`. A build
//! script rather than macros in this module: a cfg works in every position (items, statements,
//! match arms, attributes, `cfg!`) and in the bindings crate too, rustfmt and IDEs see through it,
//! and `cargo::rustc-check-cfg` makes a misspelt name a warning (denied in CI); a
//! `cfg_small_code! { .. }` macro would work on items only and hide the code from rustfmt.
//!
//! Cargo manifests cannot name custom cfgs: `Cargo.toml`'s
//! `[target.'cfg(not(all(target_arch = "wasm32", target_os = "unknown")))'.dependencies]` is
//! `not(no_os)`, and `bindings/wasm/Cargo.toml`'s `[target.'cfg(target_arch = "wasm32")'...]` is
//! `small_code`; keep them in step with `predicates.rs`.
//!
//! # The size substitutes
//! - [`sort`]: the crate's sorts. Under `small_code`, one shared index merge sort instead of an
//!   instantiation of std's sort per element type and comparator (~24 KB of the module).
//! - [`crc32`]: the frame checksum. Under `small_code`, a 64-byte table instead of crc32fast's
//!   16 KB one.
//! - [`hash`]: the crate's hash maps, hashbrown's, so the module carries one copy of the table
//!   code. Under `small_code`, foldhash's fixed seed instead of its run-time one (which has no
//!   randomness to draw on there anyway; ~1.1 KB).
//! - [`uuid_text`]: the hyphenated text of a UUID, parsed and written without uuid's code
//!   (~1.5 KB); not switched, every target runs it.
//!
//! Each has a unit test holding it to the native path (std's sort, crc32fast, uuid).
//!
//! # The rule
//! Outside this folder, library code (`src/`, `bindings/wasm/src/`) never calls std's slice sorts
//! (`.sort()`, `.sort_by(..)`, `.sort_unstable_by_key(..)`, ...: call `crate::platform::sort::*`)
//! and never writes `target_arch`, `target_os` or `target_family` (use `small_code` / `no_os`, or
//! add a switch here). `.dedup()` and the like are fine. The test in `rules.rs` enforces it by
//! reading the source tree. Tests, benches, examples and fuzz targets never build into the
//! module and are not checked.

#[cfg(feature = "sync")]
mod crc32;
pub(crate) mod hash;
#[cfg(test)]
mod rules;
pub(crate) mod sort;
pub(crate) mod uuid_text;

#[cfg(feature = "sync")]
pub(crate) use crc32::crc32;
