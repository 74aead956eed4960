#!/usr/bin/env bash
# Builds the npm package into bindings/wasm/pkg/{web,node}: cargo (profile wasm-release) →
# wasm-bindgen (--target web and --target nodejs) → wasm-opt from npm's binaryen.
# Needs: the wasm32-unknown-unknown target, wasm-bindgen-cli at the version in Cargo.lock,
# and `npm ci` run in bindings/wasm (scripts/ci.sh installs all three).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/../.." && pwd)"
export PATH="$here/node_modules/.bin:$PATH"

# Debian's binaryen (wasm-opt 108) writes modules that fail at load; only npm's is trusted.
wasm_opt="$here/node_modules/.bin/wasm-opt"
[ -x "$wasm_opt" ] || { echo "build.sh: run npm ci in $here first (needs npm's binaryen)" >&2; exit 1; }

cd "$root"
# Preferred: nightly rebuilds std at opt-level z with immediate-abort panics (no panic messages,
# locations or formatting machinery in the module, and no source paths: location-detail=none),
# with std's optimize_for_size implementations: ~45 KB smaller. Needs nightly + rust-src
# (scripts/ci.sh installs both). Its own target dir, so the stable build's cache stays warm.
# The flag's spelling is for nightlies from late 2025 on (older ones used
# -Zbuild-std-features=panic_immediate_abort).
# shellcheck source=toolchain.env
. "$here/scripts/toolchain.env"
if rustup run "$NIGHTLY" rustc -V >/dev/null 2>&1 &&
  rustup component list --toolchain "$NIGHTLY" --installed 2>/dev/null | grep -q '^rust-src'; then
  RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none" \
    cargo "+$NIGHTLY" build -p deltacrdt-wasm --lib --target wasm32-unknown-unknown \
    --profile wasm-release -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size \
    --target-dir "$root/target/wasm-min"
  wasm="$root/target/wasm-min/wasm32-unknown-unknown/wasm-release/deltacrdt_wasm.wasm"
else
  echo "build.sh: no $NIGHTLY toolchain with rust-src: stable build, ~50 KB larger" >&2
  cargo build -p deltacrdt-wasm --lib --target wasm32-unknown-unknown --profile wasm-release
  wasm="$root/target/wasm32-unknown-unknown/wasm-release/deltacrdt_wasm.wasm"
fi

rm -rf "$here/pkg"
wasm-bindgen --target web --out-dir "$here/pkg/web" "$wasm"
wasm-bindgen --target nodejs --out-dir "$here/pkg/node" "$wasm"
# Both targets emit the same module: the package ships it once, in pkg/web; the nodejs glue
# reads it from there (checked: the two are byte for byte equal before one is dropped).
cmp -s "$here/pkg/web/deltacrdt_wasm_bg.wasm" "$here/pkg/node/deltacrdt_wasm_bg.wasm" ||
  { echo "build.sh: the web and nodejs modules differ" >&2; exit 1; }
rm "$here/pkg/node/deltacrdt_wasm_bg.wasm"
node_glue="$here/pkg/node/deltacrdt_wasm.js"
grep -q '`${__dirname}/deltacrdt_wasm_bg.wasm`' "$node_glue" ||
  { echo "build.sh: the nodejs glue no longer names its module as expected" >&2; exit 1; }
sed -i 's|`${__dirname}/deltacrdt_wasm_bg.wasm`|`${__dirname}/../web/deltacrdt_wasm_bg.wasm`|' "$node_glue"
# The licences travel in the package (npm takes LICENSE* from its root; gitignored copies).
cp "$root/LICENSE-MIT" "$root/LICENSE-APACHE" "$here/"
f="$here/pkg/web/deltacrdt_wasm_bg.wasm"
# --gufa between two -Oz rounds: whole-program type flow finds ~1 KB more dead code.
# --low-memory-unused lets wasm-opt fold small constants added to a pointer into the
# load/store offset (~2.3 KB). The two differ only when the addition wraps past 4 GiB into the
# lowest KiB, which valid Rust never does (pointer arithmetic may not overflow); Rust's layout
# keeps its stack in [0, 1 MiB), reached from below only 1 KiB short of stack overflow, and
# stack addresses never wrap.
"$wasm_opt" -Oz --gufa -Oz --low-memory-unused --strip-debug --strip-producers "$f" -o "$f.opt"
mv "$f.opt" "$f"
# The nodejs output is CommonJS; tell Node so even inside an ESM package tree. Its snippets
# (src/stats.rs's inline JS) are ES modules that it require()s: Node >= 20.19 loads those.
echo '{"type":"commonjs"}' > "$here/pkg/node/package.json"
echo '{"type":"module"}' > "$here/pkg/node/snippets/package.json"

# One set of types for every entry (entry/ gives Node the web build's `init`/`initSync`), as
# .d.mts for `import` and .d.cts for `require` (TypeScript's node16/nodenext resolution reads
# the module kind from the extension), without `[Symbol.dispose]`, which needs
# `lib: esnext.disposable` (TS2550 under es2022): `free()` does the same.
mkdir -p "$here/pkg/types"
grep -v '\[Symbol.dispose\]' "$here/pkg/web/deltacrdt_wasm.d.ts" > "$here/pkg/types/deltacrdt.d.ts"
for ext in mts cts; do cp "$here/pkg/types/deltacrdt.d.ts" "$here/pkg/types/deltacrdt.d.$ext"; done

echo "wasm size: raw $(stat -c %s "$wasm") B from cargo, $(stat -c %s "$f") B optimised, $(gzip -9c "$f" | wc -c) B gzipped"
