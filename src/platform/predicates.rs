//! The definitions of the two target switches, for build scripts only.
//!
//! This file is not part of the library's module tree: `src/platform/build.rs` (this crate's) and
//! `bindings/wasm/build.rs` include it with `#[path]`, so each predicate is written once, here,
//! and both crates see the same `cfg` names. Why they exist and what may use them:
//! `src/platform/mod.rs`.

/// `small_code`: favour code size over speed, because users download the code. Every wasm32
/// build: the npm module is the only wasm32 consumer, and its size is gated in CI.
fn small_code(arch: &str, _os: &str) -> bool {
    arch == "wasm32"
}

/// `no_os`: std has no operating system under it, so `SystemTime::now` panics and there is no
/// OS random source: `wasm32-unknown-unknown` (the host supplies time and randomness). WASI and
/// Emscripten have both, so they are not `no_os`.
fn no_os(arch: &str, os: &str) -> bool {
    arch == "wasm32" && os == "unknown"
}

/// Tells cargo which switches hold for the target being built, declares both names to the
/// `unexpected_cfgs` check (so a misspelt `#[cfg(small_cod)]` is a warning, denied in CI), and
/// asks for a rerun when this file or the including build script changes. `script` and
/// `this_file` are their paths relative to the including package's root.
pub(crate) fn emit(script: &str, this_file: &str) {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    #[allow(
        clippy::print_stdout,
        reason = "a build script talks to cargo on stdout"
    )]
    {
        println!("cargo::rerun-if-changed={script}");
        println!("cargo::rerun-if-changed={this_file}");
        for (name, holds) in [
            ("small_code", small_code(&arch, &os)),
            ("no_os", no_os(&arch, &os)),
        ] {
            println!("cargo::rustc-check-cfg=cfg({name})");
            if holds {
                println!("cargo::rustc-cfg={name}");
            }
        }
    }
}
