#!/bin/sh
# Install flume-mqtt as a systemd service from this checkout, or remove it again.
#
#   sudo sh systemd/install.sh              install or upgrade, check, enable and start
#   sudo sh systemd/install.sh --uninstall  remove it; keep /etc/flume-mqtt and the state
#   sudo sh systemd/install.sh --uninstall --purge   remove those too
#
# Options:
#   --root DIR     install under DIR instead of /: no systemctl, no check, no root needed
#                  (the tests use this)
#   --python PATH  the Python 3.11+ that builds the venv (default python3)
#   --offline      download nothing: build the wheel with PATH's pip and let the venv
#                  use PATH's installed packages (for tests and machines without PyPI)
#
# Running it again is safe: the venv is refreshed, the unit replaced, and the settings
# (/etc/flume-mqtt/flume-mqtt.env) and credentials are never overwritten.
set -eu

name=flume-mqtt
checkout=$(cd "$(dirname "$0")/.." && pwd)
root=""
python=python3
offline=no
action=install
purge=no

say() { echo "$name: $*" >&2; }
die() {
    say "$*"
    exit 1
}

while [ $# -gt 0 ]; do
    case $1 in
    --root)
        [ $# -ge 2 ] || die "--root needs a directory"
        mkdir -p "$2"
        root=$(cd "$2" && pwd)
        shift
        ;;
    --python)
        [ $# -ge 2 ] || die "--python needs a path"
        python=$2
        shift
        ;;
    --offline) offline=yes ;;
    --uninstall) action=uninstall ;;
    --purge) purge=yes ;;
    -h | --help)
        sed -n '2,16s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done
[ "$purge" = no ] || [ "$action" = uninstall ] || die "--purge goes with --uninstall"

opt=$root/opt/$name
venv=$opt/venv
etc=$root/etc/$name
env_file=$etc/$name.env
credentials=$etc/credentials
unit=$root/etc/systemd/system/$name.service
state=$root/var/lib/$name
private_state=$root/var/lib/private/$name

# Only a real install touches the machine's service manager.
systemctl_() {
    if [ -z "$root" ]; then systemctl "$@"; fi
}

make_venv() {
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "$python is older than Python 3.11"
    # Debian ships venv's pip bootstrap apart from python3 itself.
    if [ -z "$root" ] && [ "$offline" = no ] &&
        ! "$python" -c 'import ensurepip' 2>/dev/null; then
        apt-get install -y -qq python3-venv >/dev/null
    fi
    mkdir -p "$opt"
    chmod 0755 "$opt"
    if [ "$offline" = yes ]; then
        install_offline
    else
        [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --upgrade pip
        # --force-reinstall: a checkout with new code may carry the same version number.
        "$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps "$checkout"
        "$venv/bin/python" -m pip install --quiet "$checkout"
    fi
}

install_offline() {
    # No pip in the venv: PATH's pip installs into it (pip 22.3+), and no ensurepip wait.
    [ -x "$venv/bin/python" ] || "$python" -m venv --without-pip "$venv"
    wheels=$(mktemp -d)
    "$python" -m pip wheel --quiet --no-deps --no-index --no-build-isolation \
        --wheel-dir "$wheels" "$checkout"
    "$python" -m pip --python "$venv/bin/python" install --quiet --force-reinstall \
        --no-deps --no-index "$wheels"/*.whl
    rm -rf "$wheels"
    # The dependencies come from PATH's environment, found through a .pth file.
    site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
    "$python" -c 'import site; print("\n".join(site.getsitepackages()))' \
        >"$site/$name-offline.pth"
}

install_unit() {
    mkdir -p "$(dirname "$unit")"
    cp "$checkout/systemd/$name.service" "$unit.tmp"
    chmod 0644 "$unit.tmp"
    mv -f "$unit.tmp" "$unit"
}

install_config() {
    (
        umask 077
        mkdir -p "$etc" "$credentials"
        if [ ! -e "$env_file" ]; then
            cp "$checkout/.env.example" "$env_file.tmp"
            mv "$env_file.tmp" "$env_file"
            say "created $env_file: fill in the Flume and broker details"
        fi
    )
    chmod 0700 "$etc" "$credentials"
    chmod 0600 "$env_file"
    # Secrets stay readable by root alone; systemd hands the service its own copies.
    find "$credentials" -type f -exec chmod 0600 {} +
}

check() {
    scratch=$(mktemp -d)
    # What the service will see: the env file, the credentials, no login environment.
    # A scratch STATE_DIR: the check must not leave root-owned files in the service's.
    status=0
    env -i PATH="$PATH" LANG=C.UTF-8 HOME="$scratch" STATE_DIR="$scratch" \
        CREDENTIALS_DIRECTORY="$credentials" \
        "$venv/bin/$name" --env-file "$env_file" check || status=$?
    rm -rf "$scratch"
    return "$status"
}

start() {
    systemctl daemon-reload
    systemctl enable --quiet "$name.service"
    systemctl restart "$name.service"
    say "running; follow it with: journalctl -u $name -f"
}

do_install() {
    if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
        die "run it as root: sudo make install"
    fi
    make_venv
    install_unit
    install_config
    say "installed $venv, $unit and $etc"
    [ -z "$root" ] || return 0
    status=0
    check || status=$?
    case $status in
    0) start ;;
    78)
        systemctl daemon-reload
        say "not started: fix the line above in $env_file (secrets may go in"
        say "$credentials/, one file per lower-case variable), then run this again"
        exit 78
        ;;
    *)
        # Flume or the broker is unreachable now; the service retries on its own.
        say "the check failed (exit $status); starting anyway, the service retries"
        start
        ;;
    esac
}

do_uninstall() {
    if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
        die "run it as root: sudo make uninstall"
    fi
    if [ -z "$root" ] && [ -e "$unit" ]; then
        systemctl disable --now --quiet "$name.service" || true
    fi
    rm -f "$unit"
    systemctl_ daemon-reload
    rm -rf "$opt"
    if [ "$purge" = yes ]; then
        rm -rf "$etc" "$state" "$private_state"
        say "removed, with $etc and the state in $state"
    else
        say "removed; kept the settings in $etc and the state (token, counters) in $state"
    fi
}

"do_$action"
