#!/usr/bin/env bash
# Runs the Kotlin binding's tests (bindings/kotlin) on the desktop JVM against the
# real shared library (built with the `jni` feature) and the local test server.
#
#   scripts/test-kotlin.sh [extra mvn args, e.g. -Dtest=RequestTest]
#
# Needs cargo, a JDK (17+) and Maven; Maven fetches its plugins and the test
# dependencies from Maven Central on the first run. Then scripts/test-aar.sh builds the
# Android AAR with the host library as a placeholder and inspects the archive
# (WXNET_SKIP_AAR_TEST=1 skips it, e.g. with -Dtest=... runs). The JVM runs with
# -Xcheck:jni; any JNI warning it prints fails the run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$TARGET_DIR"
TARGET_DIR=$(cd "$TARGET_DIR" && pwd -P)
LIB_DIR=$TARGET_DIR/debug

log() { printf '[test-kotlin] %s\n' "$*" >&2; }

for tool in cargo java mvn; do
    command -v "$tool" >/dev/null || { log "error: $tool not found"; exit 1; }
done

# Other builds in the same target dir (without the feature) overwrite
# target/debug/libwxnet.so at any time: test a private copy, checked to
# export the JNI entry points (a build without them fails every test with
# UnsatisfiedLinkError).
TEST_LIB_DIR=$TARGET_DIR/kotlin-lib
mkdir -p "$TEST_LIB_DIR"
has_jni() { nm -D --defined-only "$1" 2>/dev/null | grep -q Java_com_wxnet_internal_Native_appNew; }
for attempt in 1 2 3; do
    log "cargo build --features jni (library), test server"
    (cd "$ROOT" && cargo build -q --lib --features jni && cargo build -q -p wxnet-testserver)
    cp "$LIB_DIR/libwxnet.so" "$TEST_LIB_DIR/libwxnet.so.tmp"
    if has_jni "$TEST_LIB_DIR/libwxnet.so.tmp"; then
        mv "$TEST_LIB_DIR/libwxnet.so.tmp" "$TEST_LIB_DIR/libwxnet.so"
        break
    fi
    log "libwxnet.so was rebuilt without the jni feature meanwhile (attempt $attempt)"
    [[ $attempt == 3 ]] && { log "error: no libwxnet.so with JNI exports"; exit 1; }
done
cp "$LIB_DIR/wxnet-testserver" "$TEST_LIB_DIR/wxnet-testserver"

OUT=$TARGET_DIR/kotlin-test.log
rm -rf "$ROOT/bindings/kotlin/target/surefire-reports"
log "mvn test (output also in $OUT)"
set +e
(cd "$ROOT/bindings/kotlin" && mvn -q -B test \
    -Dwxnet.lib.dir="$TEST_LIB_DIR" \
    -Dwxnet.testserver="$TEST_LIB_DIR/wxnet-testserver" \
    "$@") 2>&1 | tee "$OUT"
rc=${PIPESTATUS[0]}
set -e

# -q hides Surefire's summary: print it from the reports.
REPORTS=$ROOT/bindings/kotlin/target/surefire-reports
if compgen -G "$REPORTS/TEST-*.xml" >/dev/null; then
    python3 - "$REPORTS" <<'EOF' || true
import glob, sys, xml.etree.ElementTree as ET
t = f = e = s = 0
skipped = []
for path in sorted(glob.glob(sys.argv[1] + "/TEST-*.xml")):
    root = ET.parse(path).getroot()
    t += int(root.get("tests", 0)); f += int(root.get("failures", 0))
    e += int(root.get("errors", 0)); s += int(root.get("skipped", 0))
    for case in root.iter("testcase"):
        sk = case.find("skipped")
        if sk is not None:
            why = sk.get("message") or (sk.text or "").strip().splitlines()[0] if (sk.get("message") or sk.text) else ""
            skipped.append(f"  skipped {root.get('name').split('.')[-1]}.{case.get('name')}: {why}")
print("\n".join(skipped))
print(f"[INFO] Tests run: {t}, Failures: {f}, Errors: {e}, Skipped: {s}")
EOF
fi

if grep -E "WARNING in native method|JNI local refs|FATAL ERROR in native method" "$OUT" >/dev/null; then
    log "error: the JVM reported JNI problems (-Xcheck:jni):"
    grep -E -A3 "WARNING in native method|JNI local refs|FATAL ERROR in native method" "$OUT" | head -40 >&2
    exit 1
fi

# The Android AAR (scripts/build-aar.sh), its layout checked with the host library as a
# placeholder in every ABI directory (no NDK here): see scripts/test-aar.sh.
aar_rc=0
if [[ -z ${WXNET_SKIP_AAR_TEST:-} ]]; then
    log "AAR layout test (host library as placeholder for the Android ABIs)"
    bash "$ROOT/scripts/test-aar.sh" "$TEST_LIB_DIR/libwxnet.so" || aar_rc=$?
else
    log "SKIPPED: AAR layout test (WXNET_SKIP_AAR_TEST is set)"
fi
[[ $rc != 0 ]] && exit "$rc"
exit "$aar_rc"
