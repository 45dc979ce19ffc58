#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Demo: the sample FastAPI app under uvicorn (uvloop + httptools) in a cgroup of
# its own, runway-bpfd watching it, a little mixed load, then the metrics.
#
#   scripts/demo.sh build/runway-bpfd        (or: make demo)
#
# Runs as root (BPF, cgroups).  All traffic stays on 127.0.0.1.
set -euo pipefail

BINARY=${1:?usage: scripts/demo.sh path/to/runway-bpfd}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=/usr/bin/python3 # Debian's, with python3-uvicorn & co.
HOST=127.0.0.1

say() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (BPF programs and cgroups need it)"
[ -x "$BINARY" ] || die "$BINARY: no such executable (run make first)"
BINARY=$(cd "$(dirname "$BINARY")" && pwd)/$(basename "$BINARY")
for tool in curl taskset ss; do
	command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
done

free_port() {
	"$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port_busy() { [ -n "$(ss -ltnH "sport = :$1")" ]; }

CGROOT=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
[ -n "$CGROOT" ] || die "no cgroup2 filesystem mounted (see /proc/mounts)"

WORK=$(mktemp -d /tmp/runway-demo.XXXXXX)
CGROUP=$CGROOT/runway-demo-$$
APP_PID=""
DAEMON_PID=""

cleanup() {
	local rc=$?
	set +e
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		say "stopping runway-bpfd (pid $DAEMON_PID)"
		kill -TERM "$DAEMON_PID"
		wait "$DAEMON_PID"
		local drc=$?
		[ "$drc" -eq 0 ] || { say "runway-bpfd exited with $drc"; rc=1; }
	fi
	if [ -n "$APP_PID" ] && kill -0 "$APP_PID" 2>/dev/null; then
		say "stopping uvicorn (pid $APP_PID)"
		kill -TERM "$APP_PID"
		for _ in $(seq 30); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
	fi
	if [ -d "$CGROUP" ]; then
		if [ -e "$CGROUP/cgroup.kill" ]; then
			echo 1 >"$CGROUP/cgroup.kill"
		else
			xargs -r kill -KILL <"$CGROUP/cgroup.procs"
		fi
		for _ in $(seq 50); do rmdir "$CGROUP" 2>/dev/null && break; sleep 0.1; done
		[ -d "$CGROUP" ] && say "warning: could not remove $CGROUP"
	fi
	[ -n "$APP_PID" ] && wait "$APP_PID" 2>/dev/null
	if [ "$rc" -ne 0 ]; then
		say "logs kept in $WORK"
		for f in "$WORK"/*.log; do echo "--- $f"; tail -n 20 "$f"; done
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# uvicorn on CPU 0 when there is a second core for the load and the daemon.
PIN=()
[ "$(nproc)" -ge 2 ] && PIN=(taskset -c 0)

APP_PORT=$(free_port)
say "starting uvicorn (uvloop + httptools) on $HOST:$APP_PORT in cgroup $CGROUP"
mkdir "$CGROUP"
# The shell moves itself into the cgroup, then execs: uvicorn keeps this pid.
sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CGROUP" \
	"${PIN[@]}" "$PYTHON" -m uvicorn sample_app:app --app-dir "$HERE/tests/apps" \
	--host "$HOST" --port "$APP_PORT" --loop uvloop --http httptools \
	--log-level warning --no-access-log >"$WORK/uvicorn.log" 2>&1 &
APP_PID=$!
APP=http://$HOST:$APP_PORT
for i in $(seq 200); do
	curl -sf -o /dev/null "$APP/healthz" && break
	kill -0 "$APP_PID" 2>/dev/null || die "uvicorn exited: $(tail -n 5 "$WORK/uvicorn.log")"
	[ "$i" -lt 200 ] || die "uvicorn did not answer within 20 s"
	sleep 0.1
done
say "uvicorn is up (pid $APP_PID)"

METRICS_PORT=9091
if port_busy "$METRICS_PORT"; then
	METRICS_PORT=$(free_port)
	say "port 9091 is taken; serving metrics on $METRICS_PORT instead"
fi
METRICS=http://$HOST:$METRICS_PORT/metrics
say "starting $BINARY --pid $APP_PID --listen $HOST:$METRICS_PORT"
"$BINARY" --pid "$APP_PID" --listen "$HOST:$METRICS_PORT" >"$WORK/daemon.log" 2>&1 &
DAEMON_PID=$!
for i in $(seq 200); do
	curl -sf -o /dev/null "$METRICS" && break
	kill -0 "$DAEMON_PID" 2>/dev/null || {
		wait "$DAEMON_PID" || true
		DAEMON_PID=""
		die "runway-bpfd exited: $(cat "$WORK/daemon.log")"
	}
	[ "$i" -lt 200 ] || die "runway-bpfd did not serve $METRICS within 20 s"
	sleep 0.1
done
say "runway-bpfd is up (pid $DAEMON_PID), metrics at $METRICS"

metric() { curl -s "$METRICS" | awk -v m="$1" '$1 == m {print $2}'; }
codes() { sort | uniq -c | awk '{printf "%s x%s  ", $2, $1} END {print ""}'; }

say "load: 200 x GET / on one keep-alive connection"
curl -s -o /dev/null -w '%{http_code}\n' "$APP/?n=[1-200]" | codes
say "load: 30 x GET /status/404, 10 x GET /status/500, 10 x HEAD /, 5 x DELETE /status/204"
{
	curl -s -o /dev/null -w '%{http_code}\n' "$APP/status/404?n=[1-30]"
	curl -s -o /dev/null -w '%{http_code}\n' "$APP/status/500?n=[1-10]"
	curl -s -o /dev/null -I -w '%{http_code}\n' "$APP/?n=[1-10]"
	curl -s -o /dev/null -X DELETE -w '%{http_code}\n' "$APP/status/204?n=[1-5]"
} | codes
say "load: 20 x POST /echo (4 KiB bodies)"
head -c 4096 /dev/zero | tr '\0' x >"$WORK/body"
for _ in $(seq 20); do
	curl -s -o /dev/null -w '%{http_code}\n' --data-binary "@$WORK/body" "$APP/echo"
done | codes
say "load: 10 x GET /healthz (excluded: not counted)"
curl -s -o /dev/null -w '%{http_code}\n' "$APP/healthz?n=[1-10]" | codes

# concurrently N PATH SECONDS WHILE: N clients at once on PATH; after
# SECONDS, print the two gauges (WHILE says when), then wait for the clients.
concurrently() {
	local pids=() _
	for _ in $(seq "$1"); do
		curl -s -o /dev/null "$APP$2" &
		pids+=($!)
	done
	sleep "$3"
	say "  $4: runway_requests_in_flight = $(metric runway_requests_in_flight)," \
		"runway_requests_queued = $(metric runway_requests_queued)"
	wait "${pids[@]}"
}

say "load: 20 concurrent GET /sleep?ms=1500 (the event loop stays free)"
concurrently 20 "/sleep?ms=1500" 0.7 "while they sleep"

say "load: 8 concurrent GET /block?ms=300 (each one blocks the event loop)"
concurrently 8 "/block?ms=300" 0.5 "while the loop is blocked"

say "load: 3 x GET /stream?chunks=4&delay_ms=100 (chunked)"
for _ in 1 2 3; do curl -s -o /dev/null "$APP/stream?chunks=4&delay_ms=100"; done
sleep 0.5

say "curl -s $METRICS | grep '^runway_'"
curl -s "$METRICS" | grep '^runway_'
say "done"
