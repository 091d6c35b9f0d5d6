#!/usr/bin/env bash
# Builds kchan.sys and the end-to-end tests, loads the driver into a Wine
# prefix of its own and runs the tests there. Stand-alone until `cargo xtask
# test` drives the same steps.
#
#   crates/kchan-e2e/scripts/run.sh [cargo test args...]
#
# Environment: CARGO_TARGET_DIR (default: <repo>/target), KCHAN_E2E_PREFIX
# (default: $CARGO_TARGET_DIR/e2e-wine). Only this prefix's wineserver is
# ever stopped.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
export WINEPREFIX=${KCHAN_E2E_PREFIX:-$target_dir/e2e-wine}
export WINEDEBUG=${WINEDEBUG:--all} WINEDLLOVERRIDES="mscoree,mshtml="
export CARGO_TARGET_DIR=$target_dir
triple=x86_64-pc-windows-gnu

cd "$repo"
cargo build -p kchan-driver --target $triple --release
sys=$target_dir/$triple/release/kchan_driver.dll
headers=$(x86_64-w64-mingw32-objdump -p "$sys")
imports=$(awk '/DLL Name:/ {print $3}' <<<"$headers" | sort -u | tr '\n' ' ')
[ "$imports" = "hal.dll ntoskrnl.exe " ] || { echo "kchan.sys imports: $imports" >&2; exit 1; }
grep -q 'Subsystem.*(NT native)' <<<"$headers" || { echo "kchan.sys is not a native image" >&2; exit 1; }

if [ ! -f "$WINEPREFIX/system.reg" ]; then
    mkdir -p "$WINEPREFIX"
    wine wineboot -i >/dev/null 2>&1
fi
sys32=$WINEPREFIX/drive_c/windows/system32
shim=$target_dir/kchan-e2e-shim/bcryptprimitives.dll
mkdir -p "$(dirname "$shim")"
x86_64-w64-mingw32-gcc -O2 -shared -o "$shim" shim/bcryptprimitives.c shim/bcryptprimitives.def -ladvapi32
cp "$shim" "$sys32/"

# Fresh server for this prefix only, kept alive so the demand-start driver
# stays loaded between the test binaries.
wineserver -k 2>/dev/null || true
wineserver -w
wineserver -p
cp "$sys" "$sys32/drivers/kchan.sys"
wine sc query kchan >/dev/null 2>&1 ||
    wine sc create kchan type= kernel start= demand binPath= 'C:\windows\system32\drivers\kchan.sys' >/dev/null
wine sc start kchan | grep -q RUNNING || { echo "sc start kchan failed" >&2; exit 1; }

status=0
cargo test --target $triple -p kchan-e2e "$@" || status=$?
wine sc stop kchan >/dev/null 2>&1 || true
wineserver -k
exit $status
