#!/usr/bin/env bash
# Builds the npm packages of wxnet, the way koffi ships its native code: the main
# package `wxnet` (JavaScript, .d.ts types, the wx layer wx.js inside) plus one
# package per platform holding only the stripped library, `@wxnet/wxnet-<os>-<cpu>`
# (package.json "os"/"cpu" so npm installs only the matching one), listed as
# optionalDependencies of the main package.
#
#   scripts/build-node-packages.sh [--debug] [--out DIR] [--library PATH --target OS-CPU]...
#
# Without --library the host's library is built (cargo build [--release]) and packed
# for the host (e.g. linux-x64). Each `--library PATH --target OS-CPU` pair adds a
# platform package for a library built elsewhere (e.g. --library
# target/aarch64-unknown-linux-gnu/release/libwxnet.so --target linux-arm64).
# Output: DIR (default target/npm/) holds wxnet-<version>.tgz and
# wxnet-wxnet-<os>-<cpu>-<version>.tgz; their paths are printed, one a line.
# Publish: `npm publish` each platform tarball first, then the main one.
# Needs: cargo, node, npm, binutils (strip).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE=release
OUT="$ROOT/target/npm"
LIBS=()
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --debug) PROFILE=debug ;;
    --out) OUT="$2"; shift ;;
    --library) LIBS+=("$2"); shift ;;
    --target) TARGETS+=("$2"); shift ;;
    *) echo "usage: $0 [--debug] [--out DIR] [--library PATH --target OS-CPU]..." >&2; exit 2 ;;
  esac
  shift
done
[ "${#LIBS[@]}" = "${#TARGETS[@]}" ] || { echo "build-node-packages: give one --target per --library" >&2; exit 2; }

cd "$ROOT"
if [ "${#LIBS[@]}" = 0 ]; then
  if [ "$PROFILE" = release ]; then cargo build --release >&2; else cargo build >&2; fi
  LIBS=("$ROOT/target/$PROFILE/libwxnet.so")
  TARGETS=("$(node -p 'process.platform + "-" + process.arch')")
fi

VERSION="$(node -p 'require("./bindings/node/package.json").version')"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$OUT"
rm -f "$OUT"/wxnet-[0-9]*.tgz "$OUT"/wxnet-wxnet-*.tgz

# Every platform the main package can use: the published set, plus any given here.
PLATFORMS="linux-x64 linux-arm64 darwin-x64 darwin-arm64 win32-x64 ${TARGETS[*]}"

for i in "${!LIBS[@]}"; do
  lib="${LIBS[$i]}"; target="${TARGETS[$i]}"
  [ -f "$lib" ] || { echo "build-node-packages: $lib is not a file" >&2; exit 1; }
  os="${target%-*}"; cpu="${target#*-}"
  file="$(basename "$lib")"
  dir="$STAGE/wxnet-$target"
  mkdir -p "$dir"
  case "$file" in
    *.so) strip --strip-unneeded -o "$dir/$file" "$lib" ;;
    *) cp "$lib" "$dir/$file" ;;  # a .dylib/.dll is stripped by its own toolchain
  esac
  node - "$dir" "$target" "$os" "$cpu" "$file" "$VERSION" <<'JS'
const [dir, target, os, cpu, file, version] = process.argv.slice(2);
const pkg = {
  name: `@wxnet/wxnet-${target}`,
  version,
  description: `The wxnet native library for ${target} (used by the wxnet package)`,
  license: 'MIT OR Apache-2.0',
  os: [os],
  cpu: [cpu],
  files: [file],
};
if (os === 'linux') pkg.libc = ['glibc'];
require('node:fs').writeFileSync(`${dir}/package.json`, JSON.stringify(pkg, null, 2) + '\n');
require('node:fs').writeFileSync(`${dir}/README.md`, `# @wxnet/wxnet-${target}\n\nThe wxnet shared library (${file}) for ${target}. Install \`wxnet\`, not this package: it depends on it.\n`);
JS
  (cd "$dir" && npm pack --silent --pack-destination "$OUT" >/dev/null)
done

main="$STAGE/wxnet"
mkdir -p "$main"
cp -r "$ROOT/bindings/node/src" "$ROOT/bindings/node/types" "$ROOT/bindings/node/README.md" "$main/"
cp "$ROOT/bindings/js/wx.js" "$main/src/wx.js"
node - "$ROOT/bindings/node/package.json" "$main/package.json" "$PLATFORMS" <<'JS'
const fs = require('node:fs');
const [from, to, platforms] = process.argv.slice(2);
const pkg = JSON.parse(fs.readFileSync(from, 'utf8'));
delete pkg.scripts; // the tests stay in the repository
pkg.optionalDependencies = {};
for (const p of [...new Set(platforms.split(/\s+/).filter(Boolean))].sort()) pkg.optionalDependencies[`@wxnet/wxnet-${p}`] = pkg.version;
fs.writeFileSync(to, JSON.stringify(pkg, null, 2) + '\n');
JS
(cd "$main" && npm pack --silent --pack-destination "$OUT" >/dev/null)
ls "$OUT"/wxnet-[0-9]*.tgz "$OUT"/wxnet-wxnet-*.tgz
