//! Emits the target switches `small_code` and `no_os` (defined in `src/platform/predicates.rs`,
//! explained in `src/platform/mod.rs`).

#[path = "src/platform/predicates.rs"]
mod predicates;

fn main() {
    predicates::emit("src/platform/predicates.rs");
}
