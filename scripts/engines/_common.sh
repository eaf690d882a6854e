# Shared helpers for scripts/engines/*: sourced, not run.
# State (PID files, logs, configs) lives in $DOCKYARD_ENGINES_DIR (default: <repo>/.cache).

ENGINES_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE_DIR=${DOCKYARD_ENGINES_DIR:-$ENGINES_REPO/.cache}
mkdir -p "$STATE_DIR"

log() { echo "[engines] $*" >&2; }
die() { echo "[engines] ERROR: $*" >&2; exit 1; }

# pid_alive FILE: true when FILE holds the PID of a live process.
pid_alive() {
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# stop_pid FILE NAME: stop the process whose PID is in FILE (TERM, then KILL after 20 s).
stop_pid() {
    local file=$1 name=$2 pid
    if ! pid_alive "$file"; then
        log "$name: not running (no live PID in $file)"
        rm -f "$file"
        return 0
    fi
    pid=$(cat "$file")
    log "$name: stopping PID $pid"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name: PID $pid ignored TERM for 20 s, sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}
