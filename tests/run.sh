#!/usr/bin/env bash
# The one test command: bash tests/run.sh [pytest args...]
# Installs the system packages a headless Tk run needs (Xvfb, DejaVu fonts, xauth, curl) and
# the browser the page's tests drive (Debian's chromium and its driver, issue 13),
# keeps the test tools in .venv, then runs: ruff, mypy on core/, pytest under Xvfb.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

APT_PKGS=(xvfb xauth fonts-dejavu-core curl chromium chromium-driver)

have_dejavu() {
    [ -d /usr/share/fonts/truetype/dejavu ] && return 0
    command -v fc-list >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi dejavu
}

missing=()
command -v Xvfb >/dev/null 2>&1 || missing+=(Xvfb)
have_dejavu || missing+=("DejaVu fonts")
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v xauth >/dev/null 2>&1 || missing+=(xauth)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromedriver)

if [ "${#missing[@]}" -gt 0 ]; then
    echo "== system packages (missing: ${missing[*]}) =="
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt_log="$(mktemp)"
        if ! { apt-get update -qq -o DPkg::Lock::Timeout=600 &&
            apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 \
                "${APT_PKGS[@]}"; } >"$apt_log" 2>&1; then
            tail -n 30 "$apt_log" >&2
            echo "run.sh: installing ${APT_PKGS[*]} with apt-get failed" >&2
            rm -f "$apt_log"
            exit 1
        fi
        rm -f "$apt_log"
        echo "installed: ${APT_PKGS[*]}"
    elif command -v apt-get >/dev/null 2>&1; then
        echo "run.sh: missing ${missing[*]}. Install them with:" >&2
        echo "    sudo apt-get install --no-install-recommends ${APT_PKGS[*]}" >&2
        exit 1
    else
        echo "run.sh: missing ${missing[*]}. Install Xvfb, xauth, the DejaVu fonts, curl and" >&2
        echo "chromium with its driver" >&2
        echo "with your system's package manager (Debian: sudo apt-get install ${APT_PKGS[*]})." >&2
        exit 1
    fi
fi

# Test tools live in .venv; reinstall only when tests/requirements.txt changes.
PY="${PYTHON:-python3}"
if ! .venv/bin/python -c '' >/dev/null 2>&1; then
    echo "== venv (.venv from $PY) =="
    rm -rf .venv
    "$PY" -m venv .venv || {
        echo "run.sh: '$PY -m venv' failed (Debian: apt-get install python3-venv)" >&2
        exit 1
    }
fi
stamp=.venv/.requirements.sha256
want="$(sha256sum tests/requirements.txt | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    echo "== installing tests/requirements.txt into .venv =="
    .venv/bin/python -m pip install -q --disable-pip-version-check -r tests/requirements.txt
    echo "$want" >"$stamp"
fi

echo "== lint =="
.venv/bin/ruff check .

echo "== types =="
if [ -d core ]; then
    .venv/bin/mypy core
else
    echo "(no core/ directory yet: skipped)"
fi

echo "== tests =="
# coreutils timeout runs pytest in a process group of its own and signals the whole group, so a
# hung Tk loop (and the Xvfb that pytest-xvfb started) cannot outlive the run. Ctrl-C or a TERM
# to this script is passed on to that group, and whatever is still in it when pytest ends is
# stopped: pytest-timeout's hard exit leaves pytest-xvfb's Xvfb running otherwise.
rc=0
timeout -k 30 1800 .venv/bin/python -m pytest --xvfb-backend xvfb "$@" &
run_pid=$!
trap 'kill -TERM -- "-$run_pid" 2>/dev/null || true' INT TERM HUP
while kill -0 "$run_pid" 2>/dev/null; do
    rc=0
    wait "$run_pid" || rc=$?
done
trap - INT TERM HUP
kill -TERM -- "-$run_pid" 2>/dev/null || true
case "$rc" in
    0) ;;
    5) echo "run.sh: FAILED: pytest collected no tests; CI must run real tests" >&2 ;;
    124 | 137) echo "run.sh: FAILED: the test run passed 1800 s and was killed" >&2 ;;
    *) echo "run.sh: FAILED: pytest exited with $rc" >&2 ;;
esac
exit "$rc"
