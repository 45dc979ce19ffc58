#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages runway-bpfd needs to build and test.
# Idempotent: on a machine that has them all, it does nothing (no apt-get).
set -eu

# Build: BPF objects, skeletons, the daemon, the unit tests; libFuzzer's
# runtime for make fuzz (gcc brings ASan and UBSan for make sanitize-test).
BUILD="clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libmicrohttpd-dev
libcmocka-dev make gcc pkg-config libclang-rt-dev"
# Integration tests, demo, benchmarks: uvicorn + FastAPI from Debian (no PyPI),
# prometheus_client for the seed's middleware that the benchmarks compare with,
# promtool, wrk, ab (apache2-utils), ss (iproute2), taskset and unshare
# (util-linux), ps/pgrep (procps), curl.
TEST="python3 python3-uvicorn python3-fastapi python3-uvloop python3-httptools
python3-h11 python3-wsproto python3-prometheus-client prometheus wrk apache2-utils iproute2
util-linux procps curl"

missing=""
for pkg in $BUILD $TEST; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $pkg"
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing:$missing; run as root to install them" >&2
	exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# The prometheus package would start a Prometheus server: the tests need only
# promtool.  Keep services from starting, as Debian's container images do.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
tries=0
until apt-get update; do
	tries=$((tries + 1))
	[ "$tries" -lt 3 ] || { echo "install-deps: apt-get update failed" >&2; exit 1; }
	sleep 5
done
# shellcheck disable=SC2086 # one word per package on purpose
apt-get install -y --no-install-recommends $missing
