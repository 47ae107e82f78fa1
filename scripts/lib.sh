# shellcheck shell=bash
#
# scripts/lib.sh: shared functions for the local stack scripts.
#
# Sourced, never run.  It finds the repository root from the location of the
# script that sources it, sets BRR_VAR (default <repo>/var) and the standard
# directories below it, and provides logging (say, warn, die), privilege
# helpers (as_root, as_postgres), pid-file handling and a bounded wait_for
# loop that fails with the tail of the relevant log.
#
# Layout under $BRR_VAR:
#   pg/     the throwaway PostgreSQL cluster
#   kafka/  libs/ (broker jars), data/ (log dirs), server.properties, ...
#   pki/    development CA, certificates, keys and secrets
#   log/    one log file per process
#   run/    pid files, the PostgreSQL socket dir, kafka.bootstrap

if [[ -n "${BRR_LIB_SOURCED:-}" ]]; then
    return 0
fi
BRR_LIB_SOURCED=1

BRR_PROG=$(basename -- "${0}")
BRR_REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
# BRR_STACK (0..9) runs a further stack beside the first on this machine:
# every port moves up by 10 per step and the state lives in var-<n>.
BRR_STACK=${BRR_STACK:-0}
[[ "${BRR_STACK}" =~ ^[0-9]$ ]] || {
    printf '%s: error: BRR_STACK must be 0..9\n' "${BRR_PROG}" >&2
    exit 1
}
BRR_PORT_OFFSET=$((BRR_STACK * 10))
if ((BRR_STACK == 0)); then
    BRR_VAR=${BRR_VAR:-${BRR_REPO}/var}
else
    BRR_VAR=${BRR_VAR:-${BRR_REPO}/var-${BRR_STACK}}
fi
BRR_LOG_DIR=${BRR_VAR}/log
BRR_RUN_DIR=${BRR_VAR}/run
BRR_PKI_DIR=${BRR_VAR}/pki
BRR_PG_PORT=${BRR_PG_PORT:-$((55432 + BRR_PORT_OFFSET))}
BRR_KAFKA_PORT=${BRR_KAFKA_PORT:-$((19092 + BRR_PORT_OFFSET))}
BRR_KRAFT_CONTROLLER_PORT=${BRR_KRAFT_CONTROLLER_PORT:-$((19093 + BRR_PORT_OFFSET))}
export BRR_REPO BRR_VAR BRR_LOG_DIR BRR_RUN_DIR BRR_PKI_DIR BRR_STACK

# say MSG...: progress on stderr, prefixed with the script's name.
say() {
    printf '%s: %s\n' "${BRR_PROG}" "$*" >&2
}

warn() {
    printf '%s: warning: %s\n' "${BRR_PROG}" "$*" >&2
}

# die MSG...: print an error and exit 1.
die() {
    printf '%s: error: %s\n' "${BRR_PROG}" "$*" >&2
    exit 1
}

# tail_log FILE [LINES]: show the end of a log file on stderr, if any.
tail_log() {
    local file=$1 lines=${2:-40}
    if [[ -s "${file}" ]]; then
        printf '%s: --- last %s lines of %s ---\n' \
            "${BRR_PROG}" "${lines}" "${file}" >&2
        tail -n "${lines}" -- "${file}" >&2
        printf '%s: --- end of %s ---\n' "${BRR_PROG}" "${file}" >&2
    else
        printf '%s: (log %s is empty or missing)\n' \
            "${BRR_PROG}" "${file}" >&2
    fi
}

is_root() {
    [[ ${EUID} -eq 0 ]]
}

# as_root CMD...: run CMD as root, through sudo when we are not root.
as_root() {
    if is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -- "$@"
    else
        die "need root for '$*' and sudo is not installed"
    fi
}

# as_postgres CMD...: run CMD as the postgres OS user when we are root
# (postgres refuses to run as root); otherwise as ourselves.
as_postgres() {
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# ensure_dirs: create the standard directories under $BRR_VAR.
ensure_dirs() {
    mkdir -p -- "${BRR_VAR}" "${BRR_LOG_DIR}" "${BRR_RUN_DIR}"
}

# pid_alive PID [PATTERN]: true when PID is a live process, and when PATTERN
# is given, its command line contains PATTERN (guards against pid reuse).
pid_alive() {
    local pid=$1 pattern=${2:-}
    [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
    kill -0 "${pid}" 2>/dev/null || return 1
    # A killed process stays a zombie until its parent reaps it.
    local stat
    stat=$(cat "/proc/${pid}/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ "${stat:0:1}" != Z ]] || return 1
    if [[ -n "${pattern}" ]]; then
        local cmdline
        cmdline=$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null) || return 1
        [[ "${cmdline}" == *"${pattern}"* ]] || return 1
    fi
    return 0
}

# wait_gone PID SECONDS: wait until PID has vanished (zombie reaped); fails
# after SECONDS.
wait_gone() {
    local pid=$1 seconds=$2 i
    [[ "${pid}" =~ ^[0-9]+$ ]] || return 0
    for ((i = 0; i < seconds * 10; i++)); do
        [[ -e "/proc/${pid}" ]] || return 0
        sleep 0.1
    done
    return 1
}

# read_pid FILE: print the pid stored in FILE (first line), or nothing.
read_pid() {
    local file=$1 pid=""
    if [[ -r "${file}" ]]; then
        read -r pid <"${file}" || true
    fi
    printf '%s' "${pid}"
}

# rotate_log FILE: keep the previous run's log as FILE.1, so a failure
# shows only this run's lines.
rotate_log() {
    if [[ -s "$1" ]]; then
        mv -f -- "$1" "$1.1"
    fi
}

# port_in_use PORT: true when something listens on 127.0.0.1:PORT.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# stop_pid PID NAME [GRACE]: SIGTERM, wait up to GRACE seconds (default 30),
# then SIGKILL and wait for the process to disappear.
stop_pid() {
    local pid=$1 name=$2 grace=${3:-30} i
    kill -TERM "${pid}" 2>/dev/null || return 0
    for ((i = 0; i < grace * 10; i++)); do
        pid_alive "${pid}" || return 0
        sleep 0.1
    done
    warn "${name} (pid ${pid}) still running after ${grace}s; sending SIGKILL"
    kill -KILL "${pid}" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        pid_alive "${pid}" || return 0
        sleep 0.1
    done
    die "${name} (pid ${pid}) survived SIGKILL"
}

# wait_for [--pid PID] SECONDS WHAT LOG CMD...: run CMD (quietly) until it
# succeeds or SECONDS pass.  With --pid, fail early when PID dies.  On
# failure prints what was awaited and the tail of LOG, and exits 1.
wait_for() {
    local watch=""
    if [[ "${1:-}" == "--pid" ]]; then
        watch=$2
        shift 2
    fi
    local seconds=$1 what=$2 log=$3
    shift 3
    local deadline=$((SECONDS + seconds))
    while true; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if [[ -n "${watch}" ]] && ! pid_alive "${watch}"; then
            tail_log "${log}"
            die "${what}: process ${watch} exited before it was ready"
        fi
        if ((SECONDS >= deadline)); then
            tail_log "${log}"
            die "${what}: not ready after ${seconds}s"
        fi
        sleep 0.25
    done
}

# pg_bindir: the PostgreSQL server binaries (initdb, pg_ctl, postgres).
pg_bindir() {
    if [[ -n "${BRR_PG_BINDIR:-}" ]]; then
        printf '%s' "${BRR_PG_BINDIR}"
        return 0
    fi
    if [[ -x /usr/lib/postgresql/15/bin/pg_ctl ]]; then
        printf '%s' /usr/lib/postgresql/15/bin
        return 0
    fi
    local d best=""
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "${d}/pg_ctl" ]] && best=${d}
    done
    [[ -n "${best}" ]] || die "PostgreSQL server binaries not found" \
        "(run scripts/setup, or set BRR_PG_BINDIR)"
    printf '%s' "${best}"
}

# brr_pg_dsn: the libpq connection string for the brr database.
brr_pg_dsn() {
    printf 'host=127.0.0.1 port=%s dbname=brr user=brr' "${BRR_PG_PORT}"
}

# usage_from_header: print the script's header comment (the lines after the
# shebang that start with '#'), as --help text.
usage_from_header() {
    local script=$1
    sed -n '2,/^[^#]/{/^#/!q;s/^# \{0,1\}//;p}' -- "${script}"
}
