#!/bin/sh
# Run each unit-test binary given as an argument (cmocka programs built from
# tests/unit/test_*.c), showing its full output, cmocka's summary included.
# Exits non-zero if any of them fails, cannot be run, or dies of a signal.
#
#   scripts/run-unit-tests.sh build/tests/test_http_framing build/tests/test_latency_buckets
set -u

if [ "$#" -eq 0 ]; then
	echo "usage: $0 TEST_BINARY..." >&2
	exit 2
fi

failed=""
for test in "$@"; do
	echo "==> $test"
	if [ ! -x "$test" ]; then
		echo "==> $test: not found or not executable"
		failed="$failed $test"
		continue
	fi
	# Not in a pipeline, so that $? is the test's own status.
	"$test"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "==> $test: FAILED (exit status $rc)"
		failed="$failed $test"
	fi
done

if [ -n "$failed" ]; then
	echo "unit tests FAILED:$failed"
	exit 1
fi
echo "unit tests passed: $# program(s)"
