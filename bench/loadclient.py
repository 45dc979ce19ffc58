# SPDX-License-Identifier: MIT
"""HTTP/1.1 clients for part 6 of `make bench`, with asyncio streams (uvloop
when installed), so that one process pinned to one CPU can hold 10,000
connections or churn through them.  (The accuracy part's closed-loop clients
are in C: bench/closedloop.c.)

  idle    opens --connections keep-alive connections, --requests-per-connection
          requests (default 1) on each, one after the other,
          prints {"opened": n, "failed": m}, keeps them open until a line (or
          EOF) arrives on stdin, closes them all, prints {"closed": n}.
  churn   --clients workers, each: connect, one request with "Connection:
          close", read to EOF, repeat until --duration is over; a worker
          finishes the request it is in.  Prints the requests answered.
"""

import argparse
import asyncio
import json
import resource
import sys
import time

try:
    import uvloop
except ImportError:  # pragma: no cover - Debian's python3-uvloop is expected
    uvloop = None


def request_bytes(path, close):
    return ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: runway-bench\r\n%s\r\n" %
            (path, "Connection: close\r\n" if close else "")).encode()


async def read_response(reader):
    """Reads one response with a Content-Length body; returns its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def idle(args):
    sem = asyncio.Semaphore(args.concurrency)
    request = request_bytes(args.path, False)
    kept, failed = [], []

    async def one():
        async with sem:
            try:
                reader, writer = await asyncio.open_connection(args.host, args.port)
                for _ in range(args.requests_per_connection):
                    writer.write(request)
                    if await read_response(reader) != 200:
                        raise ValueError("status")
                kept.append(writer)
            except (OSError, asyncio.IncompleteReadError, ValueError) as e:
                failed.append(type(e).__name__)

    await asyncio.gather(*(one() for _ in range(args.connections)))
    print(json.dumps({"opened": len(kept), "failed": len(failed),
                      "failure_kinds": sorted(set(failed))[:5]}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    for w in kept:
        w.close()
    await asyncio.sleep(0.5)
    print(json.dumps({"closed": len(kept)}), flush=True)


async def churn(args):
    request = request_bytes(args.path, True)
    counts = {"requests": 0, "connections": 0, "errors": 0}
    start = time.monotonic()
    stop_at = start + args.duration

    async def worker():
        while time.monotonic() < stop_at:
            writer = None
            try:
                reader, writer = await asyncio.open_connection(args.host, args.port)
                counts["connections"] += 1
                writer.write(request)
                status = await read_response(reader)
                await reader.read()  # to EOF: the server closes
                if status == 200:
                    counts["requests"] += 1
                else:
                    counts["errors"] += 1
            except (OSError, asyncio.IncompleteReadError, ValueError):
                counts["errors"] += 1
                await asyncio.sleep(0.01)
            finally:
                if writer is not None:
                    writer.close()

    await asyncio.gather(*(worker() for _ in range(args.clients)))
    counts["elapsed"] = time.monotonic() - start
    print(json.dumps(counts), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["idle", "churn"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/")
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--connections", type=int, default=10000)
    p.add_argument("--concurrency", type=int, default=200)
    p.add_argument("--requests-per-connection", type=int, default=1)
    args = p.parse_args()
    raise_nofile()
    if uvloop is not None:
        uvloop.install()
    run = {"idle": idle, "churn": churn}[args.mode]
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
