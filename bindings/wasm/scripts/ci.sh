#!/usr/bin/env bash
# CI for the npm package (called by .ci/run): installs what it needs on a fresh Debian 12 machine
# as root (Chromium + ChromeDriver, the wasm32 target, wasm-bindgen-cli at the version in
# Cargo.lock, the npm devDependencies), builds the package, runs the Node tests, the type
# check, the headless-Chromium demo and providers tests and the loopback interop test with native peers,
# and prints sizes and instantiate times.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
t() { local s=$SECONDS rc=0; "$@" || rc=$?; echo "::step $((SECONDS - s))s rc=$rc: $*" >&2; return $rc; }
start=$SECONDS

# 1. Debian's Chromium for the browser test (Playwright's own browser downloads are not used).
if ! [ -x /usr/bin/chromium ]; then
  t apt-get update -qq
  t env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver
fi

# 2. Rust target and the wasm-bindgen CLI at exactly the version Cargo.lock pins.
rustup target list --installed | grep -qx wasm32-unknown-unknown || t rustup target add wasm32-unknown-unknown
wb_version=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$wb_version" ]; then
  # Not --locked: its published lockfile pins a crate version the registry no longer serves.
  t cargo install wasm-bindgen-cli --version "$wb_version"
fi

# 2b. The pinned nightly + rust-src: build.sh rebuilds std with immediate-abort panics (the
# smaller module).
. "$here/scripts/toolchain.env"
rustup toolchain list | grep -q "^$NIGHTLY" || t rustup toolchain install "$NIGHTLY" --profile minimal
rustup component list --toolchain "$NIGHTLY" --installed | grep -q '^rust-src' ||
  t rustup component add rust-src --toolchain "$NIGHTLY"

# 3. npm devDependencies from the committed lockfile: binaryen (wasm-opt), playwright-core, ws, typescript.
t npm ci --prefix "$here" --no-audit --no-fund

# 4. Lints for the wasm target, then build (cargo → wasm-bindgen → wasm-opt).
t cargo clippy -p deltacrdt-wasm --lib --target wasm32-unknown-unknown -- -D warnings
t "$here/scripts/build.sh"
# The native p2p demo, for the interop test (tokio,redb: works whichever of them it requires).
t cargo build --release --features tokio,redb --example p2p

# 5. Tests: Node (every API method, hostile input, convergence, golden interop, the WebSocket
# provider against native peers: P2P_BIN set, so a missing binary fails), types, browser.
(cd "$here" && P2P_BIN="$root/target/release/examples/p2p" t node --test test/*.test.mjs)
for types in types types/node16 types/nodenext; do
  (cd "$here" && t node_modules/.bin/tsc --noEmit -p "$types")
done
(cd "$here" && SHOT="$root/target/wasm-demo-screenshot.png" t node demo/e2e.mjs)
# The providers in Chromium: BroadcastChannel between pages, IndexedDB persistence across a
# closed page and a killed browser, one writer per replica id, corrupt bytes, bytes per edit.
(cd "$here" && t node demo/providers-e2e.mjs)
# Interop on loopback: the page dials a native peer over WebSocket (auth protocol 2 in JS over
# WebCrypto), edits on both sides converge across two native peers, and keys that either side's
# allow-list leaves out are refused.
(cd "$here" && P2P_BIN="$root/target/release/examples/p2p" t node demo/native.mjs)

# 6. Report: sizes (module, glue, JS channel) and instantiate time in Node (the e2e printed Chromium's),
# and the package against Yjs, Loro and Automerge (quick: checks they all end in one state).
node "$here/scripts/measure.mjs"
(cd "$here" && DELTACRDT_BENCH_QUICK=1 t node bench/compare.mjs)
node "$here/scripts/pack-report.mjs"
echo "wasm package CI step: $((SECONDS - start)) s"
