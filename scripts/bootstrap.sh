#!/usr/bin/env bash
# Provision everything Siaga needs on a Debian 12 machine, idempotently:
# system packages (Chromium for the browser tests among them), PostgreSQL and
# Redis (only when nothing answers on their ports), the Python venv, the web
# app's front-end packages (npm, web/package-lock.json), Asterisk 22 (a host binary, else a Debian-sid
# chroot in .asterisk/root), the prompts and the database schema.
# A second run only checks, and takes a few seconds.
#
# Database for the tests: postgresql://postgres@127.0.0.1:5432/siaga_test.
# When this script installs PostgreSQL itself it lets the postgres user in
# without a password from loopback only (trust on 127.0.0.1/::1, as on the
# development machines), so that URL works unchanged everywhere.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
VAR=$ROOT/var
VENV=$ROOT/.venv
CHROOT=$ROOT/.asterisk/root
TEST_DB=siaga_test
PACKAGES=(python3 python3-venv debootstrap debian-archive-keyring sip-tester espeak-ng sox chromium)
STEPS=9
STEP=0
STARTED=$SECONDS
export DEBIAN_FRONTEND=noninteractive

if [ -t 1 ]; then B=$'\033[1m'; G=$'\033[32m'; Y=$'\033[33m'; R=$'\033[31m'; N=$'\033[0m'; else B= G= Y= R= N=; fi
step() { STEP=$((STEP + 1)); printf '%s[%d/%d] %s%s\n' "$B" "$STEP" "$STEPS" "$*" "$N"; }
ok() { printf '      %sok%s %s\n' "$G" "$N" "$*"; }
say() { printf '      %s\n' "$*"; }
warn() { printf '      %s%s%s\n' "$Y" "$*" "$N"; }
die() { printf '%serror: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "root is needed for: $*"; fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

APT_UPDATED=
apt_install() {
    local missing=() p
    for p in "$@"; do installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    if [ -z "$APT_UPDATED" ]; then as_root apt-get update -q; APT_UPDATED=1; fi
    as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
}

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

wait_port() {  # port seconds
    local deadline=$((SECONDS + $2))
    until port_open "$1"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.5
    done
}

write_if_changed() {  # file content
    # Never write through a symlink: in the chroot it would point at the host's file.
    [ -L "$1" ] && as_root rm -f "$1"
    if [ "$(cat "$1" 2>/dev/null)" != "$2" ]; then
        printf '%s\n' "$2" | as_root tee "$1" >/dev/null
        say "wrote ${1#"$ROOT"/}"
    fi
}

# debootstrap prints a line per package and phase: condense those into counters.
condense() {
    awk -v tty="$([ -t 1 ] && echo 1 || echo 0)" '
        /^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) [a-z0-9]/ && !/required packages|base system/ {
            phase = tolower($2); n[phase]++
            if (tty) { printf "\r\033[K      %s: %d packages (%s)", phase, n[phase], $3; fflush() }
            else if (n[phase] % 50 == 1) { printf "      %s: %d packages ...\n", phase, n[phase]; fflush() }
            next
        }
        { if (tty) printf "\r\033[K"; print "      " $0; fflush() }
        END { if (tty) printf "\r\033[K" }'
}

mkdir -p "$VAR/log"
# One bootstrap at a time. The lock is held by a flock(1) parent that closes
# its descriptor (-o) before running this script again: daemons started below
# (PostgreSQL, Redis, services started by apt) would otherwise inherit it and
# hold the lock for their whole life, and the next run would wait forever.
LOCK=$VAR/bootstrap.lock
if [ "${SIAGA_BOOTSTRAP_LOCK:-}" != "$LOCK" ]; then
    export SIAGA_BOOTSTRAP_LOCK=$LOCK
    rc=0
    flock -n -o -E 75 "$LOCK" bash "$ROOT/scripts/bootstrap.sh" "$@" || rc=$?
    if [ $rc -eq 75 ]; then
        say "another bootstrap is running; waiting for it"
        exec flock -o "$LOCK" bash "$ROOT/scripts/bootstrap.sh" "$@"
    fi
    exit $rc
fi

# ---------------------------------------------------------------------------
step "System packages"
apt_install "${PACKAGES[@]}"
ok "${PACKAGES[*]}"

# ---------------------------------------------------------------------------
step "PostgreSQL on 127.0.0.1:5432, database $TEST_DB"
start_clusters() {
    command -v pg_lsclusters >/dev/null || return 0
    local newest
    newest=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
    if [ -z "$(pg_lsclusters --no-header 2>/dev/null)" ] && [ -n "$newest" ]; then
        say "creating cluster $newest/main"
        as_root pg_createcluster "$newest" main >/dev/null
    fi
    # Read the list first: the server started below must not inherit a pipe.
    local clusters version name port status rest
    clusters=$(pg_lsclusters --no-header)
    while read -r version name port status rest; do
        # Only the cluster we need; "online,recovery" is running too.
        [ "$port" = 5432 ] || continue
        case $status in online*) continue ;; esac
        say "starting cluster $version/$name"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start </dev/null
    done <<<"$clusters"
}
if ! port_open 5432; then
    start_clusters  # installed but stopped (e.g. after a reboot without systemd)
    if ! port_open 5432; then
        apt_install postgresql
        start_clusters
    fi
    wait_port 5432 30 || die "PostgreSQL does not answer on 127.0.0.1:5432"
fi
command -v psql >/dev/null || apt_install postgresql-client
psql_tcp() { psql -X -w -q -h 127.0.0.1 -U postgres -d postgres -Atc "$1"; }
if ! psql_tcp 'select 1' >/dev/null 2>&1; then
    command -v pg_lsclusters >/dev/null || die "cannot log in as postgres@127.0.0.1 without a password; allow it in pg_hba.conf"
    hba=$(as_root runuser -u postgres -- psql -X -Atc 'show hba_file')
    say "allowing postgres@loopback without password in $hba"
    as_root sed -i '1i host all postgres 127.0.0.1/32 trust  # siaga bootstrap: test database on loopback\nhost all postgres ::1/128 trust  # siaga bootstrap' "$hba"
    as_root runuser -u postgres -- psql -X -q -c 'select pg_reload_conf()' >/dev/null
    psql_tcp 'select 1' >/dev/null || die "still cannot log in as postgres@127.0.0.1; check $hba"
fi
if [ "$(psql_tcp "select 1 from pg_database where datname = '$TEST_DB'")" != 1 ]; then
    psql_tcp "create database $TEST_DB" && say "created database $TEST_DB"
fi
ok "postgresql://postgres@127.0.0.1:5432/$TEST_DB"

# ---------------------------------------------------------------------------
step "Redis on 127.0.0.1:6379"
if ! port_open 6379; then
    command -v redis-server >/dev/null || apt_install redis-server
    # The package may have started its own server just now.
    if ! port_open 6379; then
        # A cache for tests and demos: no persistence. --dir is also its working
        # directory, so it must not be this checkout (CI deletes it).
        rdir=/var/lib/redis; [ -d "$rdir" ] || rdir=/tmp
        rlog=/var/log/redis/siaga.log; [ -d /var/log/redis ] || rlog=/tmp/siaga-redis.log
        say "starting redis-server on 127.0.0.1:6379 (log $rlog)"
        as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 \
            --save "" --appendonly no --dir "$rdir" --logfile "$rlog" >/dev/null
    fi
    wait_port 6379 15 || die "Redis does not answer on 127.0.0.1:6379 (see ${rlog:-its log})"
fi
ok "redis://127.0.0.1:6379"

# ---------------------------------------------------------------------------
step "Python environment (.venv)"
[ -x "$VENV/bin/python" ] || { say "creating $VENV"; python3 -m venv "$VENV"; }
# Exact versions and hashes come from requirements.lock (`make lock` regenerates it from
# pyproject.toml); the project itself is installed editable on top, without dependencies.
# The stamp lives in the venv: a new venv is always installed into.
STAMP=$VENV/.siaga-lock.sha256
HASH=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$HASH" ]; then
    say "requirements.lock changed: installing it into .venv"
    # One line per package fetched or built; none for the ones already there.
    "$VENV/bin/pip" install --disable-pip-version-check --require-hashes -r requirements.lock 2>&1 \
        | { grep -v -E '^(Requirement already satisfied|Looking in (indexes|links))' || true; }
    "$VENV/bin/pip" install --disable-pip-version-check --quiet --no-deps -e .
    echo "$HASH" >"$STAMP"
fi
ok "$("$VENV/bin/python" --version), dependencies as in requirements.lock"

# ---------------------------------------------------------------------------
step "Front-end packages (web/node_modules)"
# Node.js and npm only install and bundle these; the web app serves the files itself.
# Debian's packages where the machine has none of its own (an npm from elsewhere counts).
command -v npm >/dev/null || apt_install nodejs npm
# Exact versions and hashes come from web/package-lock.json; package.json's postinstall
# bundles JsSIP for the browser. The stamp lives in node_modules, which npm ci replaces whole.
NPM_STAMP=$ROOT/web/node_modules/.siaga-lock.sha256
NPM_HASH=$(cat web/package.json web/package-lock.json | sha256sum | cut -d' ' -f1)
if [ "$(cat "$NPM_STAMP" 2>/dev/null)" != "$NPM_HASH" ]; then
    say "web/package-lock.json changed: npm ci in web/"
    # SCARF_ANALYTICS: swagger-ui-dist's install-time telemetry, for an npm that would run it.
    (cd web && SCARF_ANALYTICS=false npm ci --omit=dev --no-audit --no-fund --loglevel=error) 2>&1 \
        | { grep -v -E '^(> |$)' || true; } | sed 's/^/      /'
    [ -f web/node_modules/.siaga/jssip.min.js ] || die "npm ci in web/ did not bundle JsSIP (web/package.json's postinstall)"
    echo "$NPM_HASH" >"$NPM_STAMP"
fi
ok "node $(node --version), npm $(npm --version), packages as in web/package-lock.json"

# ---------------------------------------------------------------------------
step "Asterisk 22"
if command -v asterisk >/dev/null && asterisk -V 2>/dev/null | grep -q '^Asterisk 22\.'; then
    ok "host binary: $(asterisk -V)"
else
    if [ ! -x "$CHROOT/usr/sbin/asterisk" ]; then
        # Build next to the target and move it in place at the end, so an
        # interrupted run never leaves a half chroot that looks finished.
        PARTIAL=$CHROOT.partial
        say "no host Asterisk 22: building a Debian sid chroot with Asterisk in ${CHROOT#"$ROOT"/} (about 70 s, ~500 MB)"
        as_root rm -rf --one-file-system "$PARTIAL"
        mkdir -p "$(dirname "$CHROOT")"
        as_root debootstrap --variant=minbase --include=asterisk,asterisk-modules,asterisk-core-sounds-en-gsm \
            sid "$PARTIAL" 2>&1 | tee "$VAR/log/debootstrap.log" | condense
        [ -x "$PARTIAL/usr/sbin/asterisk" ] || die "debootstrap ended without Asterisk; see var/log/debootstrap.log"
        [ -e "$CHROOT" ] && as_root rm -rf --one-file-system "$CHROOT"
        as_root mv "$PARTIAL" "$CHROOT"
    fi
    # Asterisk resolves this machine's hostname (and A.ROOT-SERVERS.NET) to find
    # "our" address: name the host locally and make DNS fail at once instead of
    # blocking a SIP thread for seconds per call (see ASTERISK-NOTES.md).
    HOST=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)
    # Prefer the machine's own address: with it Asterisk needs no DNS at all.
    ADDR=$(hostname -I 2>/dev/null | awk '{ print $1 }' || true)
    [ -n "$ADDR" ] || ADDR=$(timeout 3 getent ahostsv4 "$HOST" 2>/dev/null | awk 'NR == 1 { print $1 }' || true)
    write_if_changed "$CHROOT/etc/hosts" "127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
${ADDR:-127.0.1.1} $HOST"
    write_if_changed "$CHROOT/etc/resolv.conf" "nameserver 127.0.0.1"
    write_if_changed "$CHROOT/README.siaga" "Siaga's Asterisk 22: a Debian sid chroot made by scripts/bootstrap.sh.
Not a system to log into; Siaga runs 'chroot <this folder> asterisk' itself.
Instances live in /var/lib/siaga/<name>/ (config, logs, spool); prompts in
/usr/share/asterisk/sounds/siaga/. DNS is off on purpose (resolv.conf points
at 127.0.0.1): use IP addresses for the trunk. Delete the folder and re-run
'make bootstrap' to rebuild it."
    [ -d "$CHROOT/var/lib/siaga" ] || as_root mkdir -p "$CHROOT/var/lib/siaga"
    ok "chroot ${CHROOT#"$ROOT"/}: $(as_root chroot "$CHROOT" asterisk -V)"
fi

# ---------------------------------------------------------------------------
step "Certificate of the browser phones' secure WebSocket (var/tls)"
# Self-signed, made once; a real certificate at the same paths is kept (docs/WEB.md).
"$VENV/bin/python" -c 'from app.asterisk.tls import main; main()'

# ---------------------------------------------------------------------------
step "Database schema"
if "$VENV/bin/siaga" db --help >/dev/null 2>&1; then
    "$VENV/bin/siaga" db upgrade
else
    warn "skipped: 'siaga db' is not available yet"
fi

# ---------------------------------------------------------------------------
# After the schema: rendering prompts writes an audit entry.
step "Prompts"
"$VENV/bin/siaga" prompts render

printf '%sbootstrap done in %ds%s\n' "$G" $((SECONDS - STARTED)) "$N"
