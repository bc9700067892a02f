#!/usr/bin/env bash
# Runs the Swift package's tests (Package.swift at the repository root, sources in
# bindings/swift) against the real library and the local test server, then builds and runs
# a separate consumer package that depends on a clean copy of the package
# (bindings/swift/consumer-test), with Debian's `swiftlang` in a Debian trixie chroot
# (Swift is not installed on the build machines).
#
#   scripts/test-swift.sh               build, (re)use the chroot, swift build + swift test + consumer
#   scripts/test-swift.sh --setup-only  only create/verify the chroot
#
# Needs root (debootstrap, chroot, mount). The chroot lives in
# $CARGO_TARGET_DIR/swift-chroot (default target/swift-chroot) and is reused on
# later runs once it is complete (stamp file). Every mount this script makes is
# undone on exit, whatever happens. Environment:
#   WXNET_DEBIAN_MIRROR  Debian mirror (default: the one this machine's apt uses)
#   WXNET_SWIFT_CHROOT   chroot directory
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$TARGET_DIR"
TARGET_DIR=$(cd "$TARGET_DIR" && pwd -P)
CHROOT=${WXNET_SWIFT_CHROOT:-$TARGET_DIR/swift-chroot}
SUITE=trixie
# What the chroot needs besides the minimal base: the Swift toolchain (swiftc,
# SwiftPM, Foundation, XCTest) and a C toolchain/libc headers for the
# system-library module and linking.
PACKAGES=(swiftlang libc6-dev gcc binutils libcurl4 libxml2 ca-certificates)
STAMP_TEXT="wxnet swift chroot v1: $SUITE ${PACKAGES[*]}"
STAMP=$CHROOT/.wxnet-swift-ready
SETUP_ONLY=0
[[ ${1:-} == --setup-only ]] && SETUP_ONLY=1

log() { printf '[test-swift] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root (debootstrap, chroot and bind mounts)"

# One run at a time per chroot (a second run waits).
mkdir -p "$(dirname "$CHROOT")"
exec 9>"$CHROOT.lock"
flock 9

# --- mounts: tracked, undone in reverse order on any exit -------------------
MOUNTS=()
mounted_under() { # prints mount points at or below $1 (deepest first)
    awk -v p="$1" '{ m=$5; gsub(/\\040/, " ", m); if (m == p || index(m, p "/") == 1) print m }' /proc/self/mountinfo | sort -r
}
unmount_all() {
    local m
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null || true
    done
    MOUNTS=()
    # Leftovers of an earlier run that was killed before its trap ran.
    while read -r m; do
        [[ -n $m ]] || continue
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done < <(mounted_under "$CHROOT"; mounted_under "$CHROOT.partial")
}
chroot_pids() { # processes whose root is the chroot (only this script starts any)
    local p
    for p in /proc/[0-9]*; do
        if [[ $(readlink "$p/root" 2>/dev/null) == "$CHROOT" ]]; then echo "${p#/proc/}"; fi
    done
    return 0
}
stop_chroot_processes() { # e.g. swift test and the test server it spawned, after an interrupt
    local pids
    pids=$(chroot_pids)
    [[ -n $pids ]] || return 0
    kill $pids 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        sleep 0.2
        pids=$(chroot_pids)
        [[ -n $pids ]] || return 0
    done
    kill -9 $pids 2>/dev/null || true
    sleep 0.2
}
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM HUP
    stop_chroot_processes
    unmount_all
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

bind() { # bind SRC DEST-inside-root ROOTDIR [ro]
    local src=$1 dest=$3$2
    mkdir -p "$dest"
    mount --bind "$src" "$dest"
    MOUNTS+=("$dest")
    if [[ ${4:-} == ro ]]; then mount -o remount,bind,ro "$dest"; fi
}
mount_system() { # /proc, /dev and /dev/pts inside the chroot
    local r=$1
    mkdir -p "$r/proc" "$r/dev"
    mount -t proc proc "$r/proc"
    MOUNTS+=("$r/proc")
    bind /dev /dev "$r"
    if [[ -d /dev/pts ]]; then bind /dev/pts /dev/pts "$r"; fi
}

# Never delete a directory that still has something mounted below it (the
# checkout is bind-mounted inside the chroot during a run).
safe_rm() {
    local d=$1
    [[ -e $d ]] || return 0
    unmount_all
    if [[ -n $(mounted_under "$d") ]]; then
        die "refusing to delete $d: still mounted: $(mounted_under "$d" | tr '\n' ' ')"
    fi
    rm -rf --one-file-system "$d"
}

debian_mirror() {
    if [[ -n ${WXNET_DEBIAN_MIRROR:-} ]]; then echo "$WXNET_DEBIAN_MIRROR"; return; fi
    local uri
    uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }')
    if [[ -z $uri ]]; then
        uri=$(cat /etc/apt/sources.list 2>/dev/null | awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }')
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

chroot_swift_version() { # needs /proc in the chroot: ld.so resolves $ORIGIN through /proc/self/exe
    local rc=0
    mount_system "$CHROOT"
    chroot "$CHROOT" /usr/bin/env -i PATH=/usr/bin:/bin swift --version 2>&1 | head -1 || rc=1
    unmount_all
    return $rc
}
chroot_ok() {
    [[ -f $STAMP && $(cat "$STAMP") == "$STAMP_TEXT" ]] || return 1
    chroot_swift_version | grep -q '^Swift version'
}

ensure_chroot() {
    if chroot_ok; then
        log "reusing the chroot at $CHROOT ($(chroot_swift_version))"
        return
    fi
    local start=$SECONDS mirror partial=$CHROOT.partial
    mirror=$(debian_mirror)
    if ! command -v debootstrap >/dev/null; then
        log "installing debootstrap"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
    fi
    safe_rm "$CHROOT"
    if [[ -f $partial/.wxnet-debootstrap-done ]]; then
        log "resuming from a completed debootstrap in $partial"
    else
        safe_rm "$partial"
        log "debootstrap $SUITE from $mirror into $partial (first run: several minutes)"
        debootstrap --variant=minbase "$SUITE" "$partial" "$mirror" >"$TARGET_DIR/swift-debootstrap.log" 2>&1 ||
            die "debootstrap failed; see $TARGET_DIR/swift-debootstrap.log"
        touch "$partial/.wxnet-debootstrap-done"
    fi
    log "installing ${PACKAGES[*]} in the chroot"
    mount_system "$partial"
    chroot "$partial" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends ${PACKAGES[*]} && apt-get clean" \
        >"$TARGET_DIR/swift-apt.log" 2>&1 || die "apt-get in the chroot failed; see $TARGET_DIR/swift-apt.log"
    unmount_all
    mv "$partial" "$CHROOT"
    echo "$STAMP_TEXT" >"$STAMP"
    chroot_ok || die "swift does not run in the new chroot"
    log "chroot ready in $((SECONDS - start)) s"
}

ensure_chroot
[[ $SETUP_ONLY == 1 ]] && exit 0

# --- build the library and the test server (on the host) --------------------
# Tests use private copies: other builds in the same target dir may replace
# target/debug/libwxnet.so at any moment. WXNET_NO_BUILD=1 reuses what is built.
if [[ ${WXNET_NO_BUILD:-0} != 1 ]]; then
    log "cargo build (library, test server)"
    (cd "$ROOT" && cargo build -q --lib && cargo build -q -p wxnet-testserver)
fi
[[ -f $TARGET_DIR/debug/libwxnet.so ]] || die "no $TARGET_DIR/debug/libwxnet.so"
[[ -x $TARGET_DIR/debug/wxnet-testserver ]] || die "no $TARGET_DIR/debug/wxnet-testserver"
LIB_DIR=$TARGET_DIR/swift-lib
mkdir -p "$LIB_DIR"
cp "$TARGET_DIR/debug/libwxnet.so" "$LIB_DIR/libwxnet.so.tmp" && mv "$LIB_DIR/libwxnet.so.tmp" "$LIB_DIR/libwxnet.so"
cp "$TARGET_DIR/debug/wxnet-testserver" "$LIB_DIR/wxnet-testserver.tmp" && mv "$LIB_DIR/wxnet-testserver.tmp" "$LIB_DIR/wxnet-testserver"
# How a Linux user points SwiftPM at the library: $LIB_DIR/pkgconfig/wxnet.pc (-L, -lwxnet).
bash "$ROOT/scripts/swift-pkgconfig.sh" "$LIB_DIR" >/dev/null

# --- run swift in the chroot -------------------------------------------------
# The checkout (and the target dir, if elsewhere) appear at the same absolute
# paths inside the chroot, so the package's relative header include and every
# path below work unchanged. The checkout is read-only in there (a stray
# delete through the bind mount cannot touch it); only the Swift build
# directory is writable.
SCRATCH=$TARGET_DIR/swift-build
mkdir -p "$SCRATCH"
mount_system "$CHROOT"
bind "$ROOT" "$ROOT" "$CHROOT" ro
case "$TARGET_DIR/" in
"$ROOT"/*) ;;
*) bind "$TARGET_DIR" "$TARGET_DIR" "$CHROOT" ro ;;
esac
bind "$SCRATCH" "$SCRATCH" "$CHROOT"
mkdir -p "$CHROOT/tmp" && chmod 1777 "$CHROOT/tmp"
rm -rf --one-file-system "$CHROOT"/tmp/wxnet-swift-* "$CHROOT"/tmp/TemporaryDirectory.* # earlier runs

run_swift() { # runs "$@" in the chroot, in $SWIFT_CWD (default: the checkout = the package)
    chroot "$CHROOT" /usr/bin/env -i \
        PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 TMPDIR=/tmp \
        LD_LIBRARY_PATH="$LIB_DIR" \
        PKG_CONFIG_PATH="$LIB_DIR/pkgconfig" \
        WXNET_TESTSERVER="$LIB_DIR/wxnet-testserver" \
        WXNET_HEADER="$ROOT/include/wxnet.h" \
        sh -c 'cd "$1" && shift && exec "$@"' sh "${SWIFT_CWD:-$ROOT}" "$@"
}
SWIFT_FLAGS=(--scratch-path "$SCRATCH" -Xlinker -rpath -Xlinker "$LIB_DIR") # -L comes from wxnet.pc
log "swift build"
run_swift swift build --build-tests "${SWIFT_FLAGS[@]}"
log "swift test"
run_swift swift test --skip-build --disable-swift-testing "${SWIFT_FLAGS[@]}"

# --- a separate package that depends on this one, from a clean place ---------
# The package's files as git would deliver them (tracked and new files of the working
# tree, no target/ or build output) are copied to a fresh directory in the chroot, where
# nothing around them holds the header or the library; a consumer package depends on that
# copy and builds and runs one request against the test server. A manifest with unsafe
# flags could not be used as a versioned dependency by URL: refuse it here.
if grep -n 'unsafeFlags' "$ROOT/Package.swift"; then die "Package.swift uses unsafeFlags: a versioned dependency by URL would be refused"; fi
git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1 || die "the consumer test copies the package's files with git ls-files, and git cannot list $ROOT (not a git work tree, or owned by another user: git config --global --add safe.directory $ROOT)"
CLEAN=/tmp/wxnet-swift-consumer
rm -rf --one-file-system "$CHROOT$CLEAN"
mkdir -p "$CHROOT$CLEAN/wxnet" "$CHROOT$CLEAN/consumer/Sources/Consumer"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [[ -f $f ]] && printf '%s\0' "$f"
done | xargs -0 cp --parents -t "$CHROOT$CLEAN/wxnet")
[[ ! -e $CHROOT$CLEAN/wxnet/target ]] || die "the clean copy has a target/ directory"
sed "s#@WXNET_PACKAGE@#$CLEAN/wxnet#" "$ROOT/bindings/swift/consumer-test/Package.swift.in" >"$CHROOT$CLEAN/consumer/Package.swift"
cp "$ROOT/bindings/swift/consumer-test/Sources/Consumer/main.swift" "$CHROOT$CLEAN/consumer/Sources/Consumer/"
# No linker flags: the library is found through wxnet.pc (PKG_CONFIG_PATH, as
# scripts/swift-pkgconfig.sh documents); at run time through LD_LIBRARY_PATH.
log "consumer package: swift build (depends on the clean copy at $CLEAN/wxnet)"
SWIFT_CWD=$CLEAN/consumer run_swift swift build -c debug --scratch-path "$SCRATCH/consumer"
log "consumer package: run"
SWIFT_CWD=$CLEAN/consumer run_swift "$SCRATCH/consumer/debug/Consumer"
log "consumer package: OK"
