#!/usr/bin/env bash
# Tests scripts/build-aar.sh: builds the Android AAR and inspects the archive (entry list,
# manifest, libraries, jars) with python3's zipfile.
#
#   scripts/test-aar.sh HOST_LIBWXNET_SO
#
# There is no Android NDK on the build machines, so the three ABI directories are fed a
# PLACEHOLDER: the host (Linux x86_64) libwxnet.so built with --features jni, passed with
# --no-abi-check. This checks the archive LAYOUT (entries, manifest, the verifier component,
# the Maven repository), not Android code. The ABI check itself is tested: without the flag
# the host library is refused for arm64-v8a. Called by scripts/test-kotlin.sh.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
host_lib=${1:?usage: test-aar.sh HOST_LIBWXNET_SO}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1" >&2; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

ABIS=(arm64-v8a armeabi-v7a x86_64)
# Zip listing and extraction with python3's zipfile (unzip need not be installed).
zls() { python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$1"; }
zcat() { python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' "$1" "$2"; }
libs=$work/jniLibs
# Stripped of debug info when strip exists (the debug build is ~100 MB; the JNI exports are
# in .dynsym, which strip keeps).
placeholder=$work/libwxnet-host.so
strip -o "$placeholder" "$host_lib" 2>/dev/null || cp "$host_lib" "$placeholder"
host_lib=$placeholder
for abi in "${ABIS[@]}"; do mkdir -p "$libs/$abi" && cp "$host_lib" "$libs/$abi/libwxnet.so"; done

version=$(sed -n 's:^  <version>\(.*\)</version>:\1:p' "$ROOT/bindings/kotlin/pom.xml" | head -1)
verifier_version=$(awk '/^name = "rustls-platform-verifier-android"/ { getline; gsub(/[^0-9.]/, ""); print }' "$ROOT/Cargo.lock")
out=$work/out
aar=$out/wxnet-$version.aar

# --- the layout, with placeholder (host) libraries ---------------------------------------
if bash "$ROOT/scripts/build-aar.sh" --jni-libs "$libs" --out "$out" --no-abi-check >"$work/build.log" 2>&1; then
  ok "placeholder_host_libs_build_aar"
else
  bad "placeholder_host_libs_build_aar"; cat "$work/build.log" >&2
fi

entries() { zls "$aar" | sort; }
expected=$(printf '%s\n' AndroidManifest.xml classes.jar R.txt proguard.txt \
  META-INF/com/android/build/gradle/aar-metadata.properties \
  "libs/rustls-platform-verifier-$verifier_version.jar" \
  jni/arm64-v8a/libwxnet.so jni/armeabi-v7a/libwxnet.so jni/x86_64/libwxnet.so | sort)
check "aar_entries_are_exactly_the_expected_ones" test "$(entries 2>/dev/null)" = "$expected"
[ "$(entries 2>/dev/null)" = "$expected" ] || diff <(echo "$expected") <(entries 2>/dev/null) >&2

manifest=$(zcat "$aar" AndroidManifest.xml 2>/dev/null)
check "manifest_min_sdk_is_24" grep -q 'android:minSdkVersion="24"' <<<"$manifest"
check "manifest_package_is_com_wxnet" grep -q 'package="com.wxnet"' <<<"$manifest"
check "manifest_asks_for_internet" grep -q 'android.permission.INTERNET' <<<"$manifest"

same_libs() {
  local abi
  for abi in "${ABIS[@]}"; do
    zcat "$aar" "jni/$abi/libwxnet.so" | cmp -s - "$host_lib" || { echo "jni/$abi/libwxnet.so differs" >&2; return 1; }
  done
}
check "each_abi_dir_has_the_given_libwxnet_so" same_libs

mkdir -p "$work/x"
zcat "$aar" classes.jar >"$work/x/classes.jar" 2>/dev/null
zcat "$aar" "libs/rustls-platform-verifier-$verifier_version.jar" >"$work/x/verifier.jar" 2>/dev/null
classes=$(zls "$work/x/classes.jar" 2>/dev/null)
check "classes_jar_has_the_binding" grep -qx 'com/wxnet/App.class' <<<"$classes"
check "classes_jar_has_the_jni_class" grep -qx 'com/wxnet/internal/Native.class' <<<"$classes"
check "classes_jar_has_no_kotlin_stdlib" bash -c '! grep -q "^kotlin/" <<<"$1"' _ "$classes"
verifier_classes=$(zls "$work/x/verifier.jar" 2>/dev/null)
check "verifier_component_pinned_to_cargo_lock_${verifier_version}" \
  grep -qx 'org/rustls/platformverifier/CertificateVerifier.class' <<<"$verifier_classes"
check "proguard_keeps_jni_classes" grep -q "keep class com.wxnet.internal" <<<"$(zcat "$aar" proguard.txt 2>/dev/null)"

repo=$out/maven/com/wxnet/wxnet/$version
check "maven_repo_holds_the_same_aar" cmp -s "$aar" "$repo/wxnet-$version.aar"
pom=$(cat "$repo/wxnet-$version.pom" 2>/dev/null)
kotlin_version=$(sed -n 's:.*<kotlin.version>\(.*\)</kotlin.version>.*:\1:p' "$ROOT/bindings/kotlin/pom.xml")
coroutines_version=$(sed -n 's:.*<coroutines.version>\(.*\)</coroutines.version>.*:\1:p' "$ROOT/bindings/kotlin/pom.xml")
check "maven_pom_is_an_aar" grep -q '<packaging>aar</packaging>' <<<"$pom"
check "maven_pom_pins_kotlin_stdlib_${kotlin_version}" grep -q "<version>$kotlin_version</version>" <<<"$pom"
check "maven_pom_pins_coroutines_android_${coroutines_version}" \
  bash -c 'grep -A1 kotlinx-coroutines-android <<<"$1" | grep -q "<version>$2</version>"' _ "$pom" "$coroutines_version"

# --- what the script refuses --------------------------------------------------------------
refuses() { # name, expected message, args...
  local name=$1 msg=$2; shift 2
  if bash "$ROOT/scripts/build-aar.sh" --out "$work/refused" "$@" >"$work/refuse.log" 2>&1; then
    bad "$name (built)"
  elif grep -q -- "$msg" "$work/refuse.log"; then
    ok "$name"
  else
    bad "$name (message: $(tail -1 "$work/refuse.log"))"
  fi
}
refuses "refuses_host_lib_as_arm64_without_no_abi_check" "not arm64-v8a" --jni-libs "$libs"
mkdir -p "$work/missing/arm64-v8a" "$work/missing/armeabi-v7a"
cp "$host_lib" "$work/missing/arm64-v8a/libwxnet.so"; cp "$host_lib" "$work/missing/armeabi-v7a/libwxnet.so"
refuses "refuses_a_missing_abi" "x86_64/libwxnet.so is missing" --jni-libs "$work/missing" --no-abi-check
cp -r "$libs" "$work/notelf"; echo "not a library" >"$work/notelf/x86_64/libwxnet.so"
refuses "refuses_a_file_that_is_not_elf" "is not an ELF file" --jni-libs "$work/notelf" --no-abi-check
if command -v cc >/dev/null; then
  cp -r "$libs" "$work/nojni"
  echo 'int wxnet_other(void) { return 1; }' | cc -shared -fPIC -x c - -o "$work/nojni/x86_64/libwxnet.so"
  refuses "refuses_a_library_without_jni_entry_points" "has no JNI entry points" --jni-libs "$work/nojni" --no-abi-check
else
  echo "SKIPPED refuses_a_library_without_jni_entry_points: no C compiler (cc) to build one"
fi

echo "aar: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
