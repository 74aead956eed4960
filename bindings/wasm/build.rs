//! Emits the core crate's target switches `small_code` and `no_os` for this crate too (defined
//! once, in `src/platform/predicates.rs` of the core, explained in its `src/platform/mod.rs`).

#[path = "../../src/platform/predicates.rs"]
mod predicates;

fn main() {
    predicates::emit("build.rs", "../../src/platform/predicates.rs");
}
