//! The core crate's build script (`build` in Cargo.toml; here, beside what it emits, so the
//! top level keeps its fixed layout). Emits the target switches `small_code` and `no_os` (defined in `src/platform/predicates.rs`,
//! explained in `src/platform/mod.rs`).

#[path = "predicates.rs"]
mod predicates;

fn main() {
    predicates::emit("src/platform/build.rs", "src/platform/predicates.rs");
}
