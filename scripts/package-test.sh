#!/usr/bin/env bash
# Builds the Debian package and tests it the way a Debian server would use it, without touching this
# machine's users, services or package database:
#   1. `cargo deb` builds target/debian/mashangban_*.deb (a release build: minutes from scratch).
#   2. The package's control fields, conffiles, maintainer scripts, file list and modes are checked,
#      and the systemd unit with `systemd-analyze verify` and `systemd-analyze security`.
#   3. `dpkg --root=ROOT --force-script-chrootless` installs it into a throwaway root: the real
#      maintainer scripts run with DPKG_ROOT=ROOT and create the user, the data directory and the
#      enablement symlink there.
#   4. The installed binary runs as the unit's ExecStart, User, WorkingDirectory, UMask and
#      Environment say, chrooted into ROOT (so /etc/mashangban/mashangban.toml and /var/lib/mashangban
#      are the installed ones) in a private network namespace (so 127.0.0.1:8080 is free), with ROOT
#      read-only except the data directory (as ProtectSystem=strict) and a private /tmp. It must answer
#      HTTP with the demo off, create its database, and stop on SIGTERM within TimeoutStopSec.
#   5. Reinstall (upgrade path) keeps an edited conffile; remove keeps configuration and data; purge
#      keeps the data unless MASHANGBAN_PURGE_DATA=yes.
#   6. This machine's /etc/passwd, /etc/group, dpkg database and /etc/mashangban, /var/lib/mashangban,
#      /usr/bin/mashangban are checked to be unchanged.
# Needs root (dpkg --root, chroot, namespaces) and cargo-deb (`cargo install cargo-deb --locked`).
# A package for another architecture (e.g. arm64, see docs/deployment.md) is tested the same way, its
# binary run under qemu user-mode emulation (packages qemu-user and libc6-dev-arm64-cross or similar).
# Usage: scripts/package-test.sh [PATH.deb]   (a given .deb skips the build)
set -euo pipefail
SELF=$(realpath "$0")
cd "$(dirname "$SELF")/.."

NAME=mashangban
FAILURES=0
fail() { echo "FAIL: $*" >&2; FAILURES=$((FAILURES + 1)); }
ok() { echo "ok: $*"; }
check() { # description, command...
  local what=$1; shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}
die() { echo "package-test: $*" >&2; exit 1; }

# --- the part that runs inside the private mount and network namespace -------------------------------
# --inside ROOT [EMULATOR SYSROOT]: runs the installed service as its unit says, checks it, then stops it.
# A package for another architecture runs under a qemu user-mode EMULATOR with that architecture's
# libraries from SYSROOT (e.g. qemu-aarch64 and /usr/aarch64-linux-gnu).
if [ "${1:-}" = "--inside" ]; then
  ROOT=$2
  emulator=${3:-}
  sysroot=${4:-}
  unit=$ROOT/lib/systemd/system/$NAME.service
  [ -f "$unit" ] || unit=$ROOT/usr/lib/systemd/system/$NAME.service
  key() { sed -n "s/^$1=//p" "$unit"; }
  exec_start=$(key ExecStart); user=$(key User); group=$(key Group)
  work_dir=$(key WorkingDirectory); umask_value=$(key UMask); stop_timeout=$(key TimeoutStopSec)
  mapfile -t environment < <(key Environment)
  uid=$(awk -F: -v u="$user" '$1 == u { print $3 }' "$ROOT/etc/passwd")
  gid=$(awk -F: -v g="$group" '$1 == g { print $3 }' "$ROOT/etc/group")
  listen=$(sed -n 's/^listen = "\(.*\)"$/\1/p' "$ROOT/etc/$NAME/$NAME.toml")
  data_dir=$(sed -n 's/^data_dir = "\(.*\)"$/\1/p' "$ROOT/etc/$NAME/$NAME.toml")
  [ -n "$uid" ] && [ -n "$gid" ] && [ -n "$listen" ] && [ -n "$data_dir" ] || die "unit or configuration unreadable"

  mount --make-rprivate /
  ip link set lo up
  # ROOT becomes a mount of its own so it can be made read-only, with the host's libraries (the binary
  # is linked against them), /dev and /proc, a private /tmp and the data directory writable.
  mount --bind "$ROOT" "$ROOT"
  for dir in /lib /lib64 /usr/lib /usr/lib64; do
    if [ -e "$dir" ]; then
      mkdir -p "$ROOT$dir"
      mount --rbind "$dir" "$ROOT$dir"
    fi
  done
  mkdir -p "$ROOT/dev" "$ROOT/proc" "$ROOT/tmp" "$ROOT/.setpriv"
  mount --rbind /dev "$ROOT/dev"
  mount --rbind /proc "$ROOT/proc"
  mount -t tmpfs -o mode=1777 tmpfs "$ROOT/tmp"
  mount --bind /usr/bin "$ROOT/.setpriv"
  mount --bind "$ROOT$data_dir" "$ROOT$data_dir"
  runner=()
  if [ -n "$emulator" ]; then
    mkdir -p "$ROOT$sysroot"
    mount --rbind "$sysroot" "$ROOT$sysroot"
    runner=("/.setpriv/$emulator" -L "$sysroot")
  fi
  mount -o remount,bind,ro "$ROOT"
  check "ROOT is read-only outside the data directory (as ProtectSystem=strict)" \
    bash -c "! touch '$ROOT/etc/probe' 2>/dev/null && touch '$ROOT$data_dir/probe' && rm '$ROOT$data_dir/probe'"

  log=$(mktemp)
  umask "$umask_value"
  # shellcheck disable=SC2086 # ExecStart is split into words as systemd does for this simple line.
  env -i PATH=/usr/bin:/bin "${environment[@]}" \
    unshare --root="$ROOT" --wd="$work_dir" \
    /.setpriv/setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs --inh-caps=-all \
    "${runner[@]}" $exec_start >"$log" 2>&1 &
  pid=$!
  base=http://$listen
  up=no
  for _ in $(seq 1 150); do
    if curl -sf -o /dev/null "$base/"; then up=yes; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  check "the service answers on http://$listen (as: ${runner[*]:+${runner[*]} }$exec_start)" [ "$up" = yes ]
  if [ "$up" = yes ]; then
    # env, unshare and setpriv each exec the next: $pid is the server itself (or its emulator).
    check "it runs as $user (uid $uid), not root" \
      grep -Eq "^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]" "/proc/$pid/status"
    portal=$(curl -sf "$base/" || true)
    check "the portal page is served" grep -q "马上办" <<<"$portal"
    services=$(curl -sf "$base/open311/v2/services.json" || true)
    check "the demo is off: no categories in Open311 services ($services)" [ "$services" = "[]" ]
    login=$(curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/auth/login" -H 'content-type: application/json' \
      -d '{"username": "dispatcher", "password": "mashangban-demo"}')
    check "the demo is off: demo account refused ($login)" [ "$login" = 401 ]
    db=$ROOT$data_dir/$NAME.db
    check "the database was created in $data_dir" [ -s "$db" ]
    check "the database belongs to $user with mode 0640 (UMask $umask_value)" \
      [ "$(stat -c '%u:%g %a' "$db")" = "$uid:$gid 640" ]
  fi
  stop_seconds=${stop_timeout%s}
  started=$(date +%s%N)
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((stop_seconds * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    fail "still running ${stop_seconds}s after SIGTERM (systemd would SIGKILL it)"
    kill -KILL "$pid"
  fi
  status=0
  wait "$pid" || status=$?
  elapsed_ms=$((($(date +%s%N) - started) / 1000000))
  check "SIGTERM stops it cleanly (exit $status) in ${elapsed_ms} ms, within TimeoutStopSec=$stop_timeout" \
    [ "$status" = 0 ]
  check "it said it stopped" grep -q "马上办已停止" "$log"
  if [ "$FAILURES" -ne 0 ]; then
    echo "--- service output ---" >&2
    cat "$log" >&2
  fi
  rm -f "$log"
  exit "$FAILURES"
fi

# --- preconditions ------------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "needs root (dpkg --root, chroot and namespaces)"
unshare --mount --net true 2>/dev/null || die "cannot create mount and network namespaces here"

# --- 1. build -----------------------------------------------------------------------------------------
if [ -n "${1:-}" ]; then
  deb=$1
else
  command -v cargo-deb >/dev/null || die "cargo-deb is missing: cargo install cargo-deb --locked"
  echo "== cargo deb -p $NAME (release build) =="
  build_started=$(date +%s)
  deb=$(cargo deb -p "$NAME" --locked | tail -n 1)
  echo "built in $(($(date +%s) - build_started)) s"
fi
[ -f "$deb" ] || die "no package at '$deb'"
echo "== $deb: $(stat -c %s "$deb") bytes =="

# --- 2. what the package holds ------------------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
host_arch=$(dpkg --print-architecture)
arch=$(field Architecture)
check "Package: $NAME" [ "$(field Package)" = "$NAME" ]
check "Architecture: $arch, as the file name says" [ "${deb##*/}" = "${NAME}_$(field Version)_$arch.deb" ]
check "Depends computed from the binary: $(field Depends)" grep -Eq "^libc6(:$arch)? \(>= 2\.[0-9]+\)$" <<<"$(field Depends)"
check "Section net, Priority optional" [ "$(field Section) $(field Priority)" = "net optional" ]
description=$(field Description)
check "Description in Chinese" grep -q "城市诉求办理平台" <<<"$description"
check "Description in English" grep -q "takes in requests" <<<"$description"

control=$(mktemp -d)
dpkg-deb -e "$deb" "$control"
check "conffiles lists exactly /etc/$NAME/$NAME.toml" [ "$(cat "$control/conffiles")" = "/etc/$NAME/$NAME.toml" ]
for script in postinst prerm postrm; do
  check "$script is executable" [ -x "$control/$script" ]
  check "$script passes sh -n" sh -n "$control/$script"
done
check "postinst creates the system user" grep -q "useradd --system" "$control/postinst"
check "postinst enables the unit" grep -q "deb-systemd-helper enable $NAME.service" "$control/postinst"
check "prerm stops the service on remove" grep -q "deb-systemd-invoke stop $NAME.service" "$control/prerm"

# Every file with its mode and owner; nothing else may be in the package.
listing=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $1, $2, $6 }' | sort) # owner as uid/gid
unit_path=$(awk '/systemd\/system\/mashangban.service$/ { print $3 }' <<<"$listing")
expected=$(sort <<EOF
-rw-r--r-- 0/0 $unit_path
-rw-r--r-- 0/0 ./usr/share/doc/$NAME/README.md
-rw-r--r-- 0/0 ./usr/share/doc/$NAME/copyright
-rw-r--r-- 0/0 ./usr/share/doc/$NAME/deployment.md
-rw-r--r-- 0/0 ./usr/share/doc/$NAME/notifications.md
-rw-r----- 0/0 ./etc/$NAME/$NAME.toml
-rwxr-xr-x 0/0 ./usr/bin/$NAME
EOF
)
check "files, modes and owners are exactly as expected" [ "$listing" = "$expected" ]
[ "$listing" = "$expected" ] || diff <(echo "$expected") <(echo "$listing") >&2 || true

unit_dir=$(mktemp -d)
dpkg-deb -x "$deb" "$unit_dir"
unit_file=$unit_dir/${unit_path#./}
check "ExecStart runs serve with the packaged configuration" \
  grep -qx "ExecStart=/usr/bin/$NAME serve --config /etc/$NAME/$NAME.toml" "$unit_file"
check "the unit runs as User=$NAME" grep -qx "User=$NAME" "$unit_file"
check "the default configuration sets data_dir and a loopback listen address" \
  grep -qx 'data_dir = "/var/lib/mashangban"' "$unit_dir/etc/$NAME/$NAME.toml"
grep -qx 'listen = "127.0.0.1:8080"' "$unit_dir/etc/$NAME/$NAME.toml" || fail "listen is not 127.0.0.1:8080"
# systemd-analyze checks the unit in a tree holding this machine's systemd units (for the targets it
# names) and the packaged binary (ExecStart must exist); any remark, e.g. an unknown key, is a failure.
analyze_unit() {
  verify_root=$(mktemp -d)
  mkdir -p "$verify_root/usr/lib/systemd" "$verify_root/usr/bin"
  cp -a /lib/systemd/system "$verify_root/usr/lib/systemd/"
  cp "$unit_file" "$verify_root/usr/lib/systemd/system/"
  ln "$unit_dir/usr/bin/$NAME" "$verify_root/usr/bin/$NAME" 2>/dev/null || cp "$unit_dir/usr/bin/$NAME" "$verify_root/usr/bin/"
  verify_unit=$verify_root/usr/lib/systemd/system/$NAME.service
  if verify=$(systemd-analyze verify --root="$verify_root" "$verify_unit" 2>&1) && [ -z "$verify" ]; then
    ok "systemd-analyze verify: no remarks"
  else
    fail "systemd-analyze verify: $verify"
  fi
  # Exposure 0 (locked down) to 10 (unprotected); --threshold is in tenths.
  if security=$(systemd-analyze security --offline=true --root="$verify_root" --threshold=20 "$verify_unit" 2>&1); then
    ok "systemd-analyze security: $(tail -n 1 <<<"$security" | sed 's/^→ //')"
  else
    fail "systemd-analyze security above 2.0: $(tail -n 1 <<<"$security")"
  fi
  rm -rf "$verify_root"
}
if command -v systemd-analyze >/dev/null; then
  analyze_unit
else
  echo "skipped: systemd-analyze is not installed (package systemd), the unit is not verified"
fi

# --- 3. install into a throwaway root -----------------------------------------------------------------
fingerprint() {
  sha256sum /etc/passwd /etc/group /etc/shadow /var/lib/dpkg/status
  ls -ld /etc/$NAME /var/lib/$NAME /usr/bin/$NAME /etc/systemd/system/multi-user.target.wants/$NAME.service 2>&1 |
    sed 's/.*cannot access/absent/' || true
}
before=$(fingerprint)

ROOT=$(mktemp -d /tmp/mashangban-root.XXXXXX)
cleanup() { rm -rf "$ROOT" "$control" "$unit_dir"; }
trap cleanup EXIT
mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$ROOT/var/lib/dpkg/triggers" "$ROOT/etc"
chmod 0755 "$ROOT" # the service user must reach / inside it
touch "$ROOT/var/lib/dpkg/status"
# The root's package database holds this machine's entries for the packages the .deb depends on, so
# dpkg checks Depends against what is really installed here; the accounts are copied so that the new
# system user gets an id that is free here too.
dpkg_options=()
if [ "$arch" != "$host_arch" ]; then
  dpkg --root="$ROOT" --add-architecture "$arch"
  echo "note: an $arch package on $host_arch: its Depends cannot be met here and are not checked"
  dpkg_options=(--force-depends)
else
  for dependency in $(field Depends | tr ',|' '\n\n' | sed 's/(.*)//; s/:.*//; s/[[:space:]]//g'); do
    if dpkg-query -s "$dependency" >>"$ROOT/var/lib/dpkg/status" 2>/dev/null; then
      echo >>"$ROOT/var/lib/dpkg/status"
      # An empty file list: the root holds none of its files, and dpkg need not warn about it.
      touch "$ROOT/var/lib/dpkg/info/$(dpkg-query -W -f='${binary:Package}' "$dependency").list"
    fi
  done
fi
touch "$ROOT/var/lib/dpkg/available"
cp -p /etc/passwd /etc/group /etc/shadow /etc/gshadow /etc/login.defs "$ROOT/etc/"
dpkg_root() { dpkg --root="$ROOT" --force-script-chrootless "${dpkg_options[@]}" --log="$ROOT/dpkg.log" "$@" </dev/null; }

echo "== dpkg --root=$ROOT -i =="
install_output=$(dpkg_root -i "$deb" 2>&1) || { echo "$install_output" >&2; die "dpkg -i failed"; }
echo "$install_output" | sed 's/^/  | /'
check "dpkg records it installed" grep -q "^install ok installed" \
  <<<"$(dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f='${Status}\n' "$NAME")"
user_line=$(grep "^$NAME:" "$ROOT/etc/passwd" || true)
IFS=: read -r _ _ uid gid _ home shell <<<"$user_line"
check "system user $NAME created: uid ${uid:-none} below 1000" [ "${uid:-1000}" -lt 1000 ]
check "its home is /var/lib/$NAME and its shell nologin" [ "$home:$shell" = "/var/lib/$NAME:/usr/sbin/nologin" ]
check "group $NAME created" grep -q "^$NAME:x:$gid:" "$ROOT/etc/group"
check "/var/lib/$NAME owned $NAME:$NAME mode 0750" \
  [ "$(stat -c '%u:%g %a' "$ROOT/var/lib/$NAME")" = "$uid:$gid 750" ]
check "/etc/$NAME/$NAME.toml owned root:$NAME mode 0640" \
  [ "$(stat -c '%u:%g %a' "$ROOT/etc/$NAME/$NAME.toml")" = "0:$gid 640" ]
check "the unit is enabled (multi-user.target.wants symlink)" \
  [ -L "$ROOT/etc/systemd/system/multi-user.target.wants/$NAME.service" ]

# --- 4. run it as the unit does -----------------------------------------------------------------------
echo "== the installed service, as its unit runs it =="
inside=(--inside "$ROOT")
if [ "$arch" != "$host_arch" ]; then
  gnu_type=$(dpkg-architecture -a"$arch" -qDEB_HOST_GNU_TYPE 2>/dev/null)
  emulator=qemu-$(dpkg-architecture -a"$arch" -qDEB_HOST_GNU_CPU 2>/dev/null)
  if command -v "$emulator" >/dev/null && [ -d "/usr/$gnu_type/lib" ]; then
    inside+=("$emulator" "/usr/$gnu_type")
  else
    inside=()
    echo "skipped: running an $arch binary needs $emulator (package qemu-user) and /usr/$gnu_type" \
      "(package libc6-$arch-cross or similar)"
  fi
fi
if [ "${#inside[@]}" -eq 0 ]; then :
elif unshare --mount --net --fork bash "$SELF" "${inside[@]}"; then :
else FAILURES=$((FAILURES + $?)); fi

# --- 5. upgrade, remove, purge ------------------------------------------------------------------------
echo "== reinstall (upgrade path) with an edited configuration =="
echo '# edited by the operator' >>"$ROOT/etc/$NAME/$NAME.toml"
dpkg_root -i "$deb" >/dev/null 2>&1 || fail "reinstall failed"
check "the edited conffile is kept" grep -q "edited by the operator" "$ROOT/etc/$NAME/$NAME.toml"
check "the user is not created twice" [ "$(grep -c "^$NAME:" "$ROOT/etc/passwd")" = 1 ]
check "the database survives the upgrade" [ -s "$ROOT/var/lib/$NAME/$NAME.db" ]

echo "== remove, then purge =="
dpkg_root -r "$NAME" >/dev/null 2>&1 || fail "dpkg -r failed"
check "remove takes the binary away" [ ! -e "$ROOT/usr/bin/$NAME" ]
check "remove keeps the configuration" [ -f "$ROOT/etc/$NAME/$NAME.toml" ]
check "remove keeps the data" [ -s "$ROOT/var/lib/$NAME/$NAME.db" ]
purge_output=$(dpkg_root -P "$NAME" 2>&1) || fail "dpkg -P failed: $purge_output"
check "purge removes the configuration" [ ! -e "$ROOT/etc/$NAME/$NAME.toml" ]
check "purge keeps the data unless asked" [ -s "$ROOT/var/lib/$NAME/$NAME.db" ]
check "purge says where the data is kept" grep -q "was kept" <<<"$purge_output"
check "purge drops the enablement symlink" [ ! -e "$ROOT/etc/systemd/system/multi-user.target.wants/$NAME.service" ]
dpkg_root -i "$deb" >/dev/null 2>&1 || fail "install after purge failed"
check "a reinstall after purge reuses the kept user" [ "$(grep -c "^$NAME:" "$ROOT/etc/passwd")" = 1 ]
MASHANGBAN_PURGE_DATA=yes dpkg_root -P "$NAME" >/dev/null 2>&1 || fail "dpkg -P with MASHANGBAN_PURGE_DATA=yes failed"
check "purge with MASHANGBAN_PURGE_DATA=yes removes the data" [ ! -e "$ROOT/var/lib/$NAME" ]

# --- 6. this machine is untouched ---------------------------------------------------------------------
check "this machine's accounts, dpkg database and paths are unchanged" [ "$before" = "$(fingerprint)" ]

if [ "$FAILURES" -ne 0 ]; then
  echo "package-test: $FAILURES check(s) failed" >&2
  exit 1
fi
echo "package-test: all checks passed"
