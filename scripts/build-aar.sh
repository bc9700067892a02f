#!/usr/bin/env bash
# Builds the Android library (AAR) of the Kotlin binding, and a local Maven repository that
# holds it, from the Android libraries that scripts/build-android.sh produced:
#
#   <out>/wxnet-<version>.aar
#       AndroidManifest.xml          package com.wxnet, minSdkVersion 24
#       classes.jar                  the Kotlin binding (mvn package in bindings/kotlin)
#       libs/rustls-platform-verifier-<v>.jar
#                                    the Android component of rustls-platform-verifier (the
#                                    classes of the AAR its crate ships; version from Cargo.lock)
#       jni/<abi>/libwxnet.so        arm64-v8a, armeabi-v7a, x86_64
#       proguard.txt                 consumer keep rules for R8 (JNI-reached classes)
#       R.txt                        empty (no resources)
#       META-INF/com/android/build/gradle/aar-metadata.properties
#   <out>/maven/com/wxnet/wxnet/<version>/wxnet-<version>.{aar,pom}
#       the same AAR as a Maven repository; the pom pins kotlin-stdlib and
#       kotlinx-coroutines-android
#
#   scripts/build-aar.sh [--jni-libs DIR] [--out DIR] [--no-abi-check]
#
# --jni-libs DIR   DIR/<abi>/libwxnet.so for the three ABIs (default target/android/jniLibs,
#                  the output of scripts/build-android.sh)
# --out DIR        where the AAR and maven/ go (default target/aar)
# --no-abi-check   accept libraries whose ELF machine does not match their ABI directory
#                  (only for testing the archive layout with host-built libraries)
#
# Each library must be an ELF shared object exporting the JNI entry points (built with
# `--features jni`); its ELF machine must match its ABI unless --no-abi-check is given.
# Needs: mvn and a JDK (the Kotlin build), cargo (to find the verifier component), python3,
# nm (binutils) for the JNI check.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
jni_libs=$ROOT/target/android/jniLibs
out=$TARGET_DIR/aar
abi_check=1
while [ $# -gt 0 ]; do
  case "$1" in
    --jni-libs) jni_libs="$2"; shift ;;
    --out) out="$2"; shift ;;
    --no-abi-check) abi_check=0 ;;
    -h|--help) sed -n "2,30p" "$0"; exit 0 ;;
    *) echo "build-aar.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
ABIS=(arm64-v8a armeabi-v7a x86_64)
MIN_SDK=24
die() { echo "build-aar.sh: $*" >&2; exit 1; }
for tool in mvn cargo python3; do command -v "$tool" >/dev/null || die "$tool not found"; done

# 1. The native libraries: present, ELF shared objects of the right machine, with JNI entries.
# ELF e_machine: 183 AArch64, 40 ARM, 62 x86-64.
declare -A MACHINE=([arm64-v8a]=183 [armeabi-v7a]=40 [x86_64]=62)
for abi in "${ABIS[@]}"; do
  lib=$jni_libs/$abi/libwxnet.so
  [ -f "$lib" ] || die "$lib is missing (build it with scripts/build-android.sh, which writes <out>/jniLibs/<abi>/libwxnet.so)"
  python3 - "$lib" "${MACHINE[$abi]}" "$abi_check" "$abi" <<'EOF' || exit 1
import struct, sys
path, want, check, abi = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
head = open(path, "rb").read(20)
if len(head) < 20 or head[:4] != b"\x7fELF":
    sys.exit(f"build-aar.sh: {path} is not an ELF file")
endian = "<" if head[5] == 1 else ">"
e_type, e_machine = struct.unpack(endian + "HH", head[16:20])
if e_type != 3:
    sys.exit(f"build-aar.sh: {path} is not a shared object (ELF type {e_type})")
if check and e_machine != want:
    sys.exit(f"build-aar.sh: {path} is built for ELF machine {e_machine}, not {abi} ({want}); "
             "pass --no-abi-check only to test the layout with host libraries")
EOF
  if command -v nm >/dev/null && nm -D --defined-only "$lib" >/dev/null 2>&1; then
    nm -D --defined-only "$lib" | grep -q Java_com_wxnet_internal_Native_appNew \
      || die "$lib has no JNI entry points: build it with --features jni (scripts/build-android.sh does)"
  fi
done

# 2. classes.jar: the Kotlin binding's classes.
(cd "$ROOT/bindings/kotlin" && mvn -q -B package -DskipTests) || die "mvn package failed"
version=$(cd "$ROOT/bindings/kotlin" && python3 -c '
import xml.etree.ElementTree as ET
ns = {"m": "http://maven.apache.org/POM/4.0.0"}
r = ET.parse("pom.xml").getroot()
p = r.find("m:properties", ns)
print(r.find("m:version", ns).text, p.find("m:kotlin.version", ns).text, p.find("m:coroutines.version", ns).text)')
read -r version kotlin_version coroutines_version <<<"$version"
jar=$ROOT/bindings/kotlin/target/wxnet-$version.jar
[ -f "$jar" ] || die "$jar was not built"

# 3. rustls-platform-verifier's Android component: the AAR shipped in the
#    rustls-platform-verifier-android crate that Cargo.lock pins (as its README finds it).
verifier=$(cd "$ROOT" && cargo metadata -q --format-version 1 --filter-platform aarch64-linux-android \
  --manifest-path "$ROOT/Cargo.toml" | python3 -c '
import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "rustls-platform-verifier-android":
        print(os.path.dirname(p["manifest_path"]), p["version"])
        break')
read -r verifier_dir verifier_crate_version <<<"$verifier"
[ -n "${verifier_dir:-}" ] || die "rustls-platform-verifier-android not found in cargo metadata"
verifier_aar=$(ls "$verifier_dir"/maven/rustls/rustls-platform-verifier/*/rustls-platform-verifier-*.aar 2>/dev/null | head -1)
[ -f "$verifier_aar" ] || die "no rustls-platform-verifier AAR in $verifier_dir/maven"
verifier_version=$(basename "$(dirname "$verifier_aar")")

# 4. The archive.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage=$work/aar
mkdir -p "$stage/libs" "$stage/META-INF/com/android/build/gradle"
cp "$jar" "$stage/classes.jar"
python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("classes.jar"))' \
  "$verifier_aar" >"$stage/libs/rustls-platform-verifier-$verifier_version.jar" || die "cannot read classes.jar in $verifier_aar"
for abi in "${ABIS[@]}"; do
  mkdir -p "$stage/jni/$abi"
  cp "$jni_libs/$abi/libwxnet.so" "$stage/jni/$abi/libwxnet.so"
done
cat >"$stage/AndroidManifest.xml" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android"
    package="com.wxnet">
    <uses-sdk android:minSdkVersion="$MIN_SDK" />
    <uses-permission android:name="android.permission.INTERNET" />
</manifest>
EOF
cat >"$stage/proguard.txt" <<'EOF'
# wxnet: classes and members the native library reaches through JNI.
-keep class com.wxnet.internal.** { *; }
# rustls-platform-verifier's Android component, reached through JNI as well.
-keep, includedescriptorclasses class org.rustls.platformverifier.** { *; }
EOF
: >"$stage/R.txt"
printf 'aarFormatVersion=1.0\naarMetadataVersion=1.0\nminCompileSdk=1\n' \
  >"$stage/META-INF/com/android/build/gradle/aar-metadata.properties"

mkdir -p "$out"
aar=$out/wxnet-$version.aar
rm -f "$aar"
# Fixed timestamps and order: the same inputs give the same archive.
python3 - "$stage" "$aar" <<'EOF'
import os, sys, zipfile
stage, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
    for dirpath, dirs, files in os.walk(stage):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(dirpath, name)
            info = zipfile.ZipInfo(os.path.relpath(full, stage), (1980, 2, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with open(full, "rb") as f:
                z.writestr(info, f.read())
EOF

# 5. A local Maven repository with the AAR and a pom pinning its Kotlin dependencies.
repo=$out/maven/com/wxnet/wxnet/$version
rm -rf "$out/maven"
mkdir -p "$repo"
cp "$aar" "$repo/wxnet-$version.aar"
cat >"$repo/wxnet-$version.pom" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.wxnet</groupId>
  <artifactId>wxnet</artifactId>
  <version>$version</version>
  <packaging>aar</packaging>
  <dependencies>
    <dependency>
      <groupId>org.jetbrains.kotlin</groupId>
      <artifactId>kotlin-stdlib</artifactId>
      <version>$kotlin_version</version>
    </dependency>
    <dependency>
      <groupId>org.jetbrains.kotlinx</groupId>
      <artifactId>kotlinx-coroutines-android</artifactId>
      <version>$coroutines_version</version>
    </dependency>
  </dependencies>
</project>
EOF
echo "$aar ($(stat -c %s "$aar") bytes; verifier component $verifier_version from rustls-platform-verifier-android $verifier_crate_version)"
echo "$out/maven (com.wxnet:wxnet:$version)"
