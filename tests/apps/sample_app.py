# SPDX-License-Identifier: MIT
"""FastAPI app that runway-bpfd's integration tests, demo and benchmarks watch.

Run it with Debian's uvicorn (never the pyenv python on PATH):

    /usr/bin/python3 -m uvicorn sample_app:app --app-dir tests/apps \
        --loop uvloop --http httptools --port 8000

Each route exercises one thing the daemon has to get right from the kernel:

    GET  /                       small JSON (also answers HEAD)
    GET  /sleep?ms=N             async handler, asyncio.sleep: the loop stays free
    GET  /block?ms=N             async handler calling time.sleep: blocks the loop,
                                 so later requests wait in the kernel (queued)
    GET  /sync?ms=N              plain def handler, runs in the thread pool
    GET  /cpu?ms=N               plain def handler that spins for N ms of its own CPU
                                 time holding the GIL: the pod's one core of Python,
                                 so it saturates at about one request at a time
                                 (runway-sweep's CPU-bound example)
    GET  /stream?chunks=N&delay_ms=M
                                 chunked StreamingResponse, M ms before every chunk
    ANY  /status/{code}          that status with a small body (none for 1xx/204/304)
    GET  /tokens?n=N&pause_ms=M  chunked StreamingResponse of 2N tiny chunks: N written
                                 back to back (they merge into one packet, as LLM
                                 token streams do), a pause of M ms, N more
    GET  /headers?kib=K          200 with K KiB of response headers
    POST /echo                   reads the whole body, answers its length
    POST /discard                answers without reading the body
    GET  /healthz                excluded from runway metrics by default
    GET  /metrics                the app's own metrics ("app metrics"), also excluded
    WS   /ws                     echoes messages (only if uvicorn has a WebSocket
                                 implementation: python3-wsproto or websockets)
"""

import asyncio
import importlib.util
import time

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import (JSONResponse, PlainTextResponse, Response,
                               StreamingResponse)

# Bounds keep a typo in a test from hanging a worker for an hour.
MAX_MS = 60_000
MAX_CHUNKS = 10_000

HAVE_WEBSOCKET = any(importlib.util.find_spec(m) is not None
                     for m in ("websockets", "wsproto"))

app = FastAPI(title="runway-bpfd sample app", docs_url=None, redoc_url=None,
              openapi_url=None)


def _seconds(ms: int) -> float:
    return max(0, min(ms, MAX_MS)) / 1000.0


@app.api_route("/", methods=["GET", "HEAD"])
async def hello():
    return JSONResponse({"hello": "runway"})


@app.get("/sleep")
async def sleep(ms: int = 100):
    await asyncio.sleep(_seconds(ms))
    return {"slept_ms": ms}


@app.get("/block")
async def block(ms: int = 100):
    time.sleep(_seconds(ms))  # on purpose: holds the event loop
    return {"blocked_ms": ms}


@app.get("/sync")
def sync(ms: int = 100):
    time.sleep(_seconds(ms))  # a worker thread of the pool, not the loop
    return {"slept_ms": ms}


@app.get("/cpu")
def cpu(ms: int = 10):
    # The thread's own CPU time, not the wall clock: a request costs N ms of
    # CPU however many others share the GIL, as real CPU-bound work does.
    # (Spinning until a wall-clock deadline would let concurrent requests
    # overlap and never saturate.)
    deadline = time.thread_time() + _seconds(ms)
    spins = 0
    while time.thread_time() < deadline:
        spins += 1
    return {"cpu_ms": ms, "spins": spins}


@app.get("/stream")
async def stream(chunks: int = 5, delay_ms: int = 100):
    count = max(0, min(chunks, MAX_CHUNKS))
    delay = _seconds(delay_ms)

    async def generate():
        # The delay comes before every chunk, so a response of N chunks
        # lasts at least N * delay on the server whatever the timer slack.
        for i in range(count):
            if delay:
                await asyncio.sleep(delay)
            yield b"chunk %d\n" % i

    return StreamingResponse(generate(), media_type="text/plain")


@app.get("/tokens")
async def tokens(n: int = 16, pause_ms: int = 0):
    count = max(0, min(n, MAX_CHUNKS))
    pause = _seconds(pause_ms)

    async def generate():
        for i in range(count):
            yield b"data: %d\n\n" % i
        if pause:
            await asyncio.sleep(pause)
        for i in range(count):
            yield b"data: %d\n\n" % (count + i)

    return StreamingResponse(generate(), media_type="text/event-stream")


@app.get("/headers")
async def headers(kib: int = 1):
    # 1 KiB header lines, as many as make `kib` KiB (few enough for
    # http.client's limit of 100 headers).
    lines = max(0, min(kib, 64))
    return PlainTextResponse("ok\n", headers={"x-pad-%02d" % i: "v" * 1014 for i in range(lines)})


@app.api_route("/status/{code}",
               methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
async def status(code: int):
    if code < 100 or code > 599:
        return PlainTextResponse("bad status\n", status_code=400)
    if code < 200 or code in (204, 304):
        return Response(status_code=code)
    return PlainTextResponse("status %d\n" % code, status_code=code)


@app.post("/echo")
async def echo(request: Request):
    body = await request.body()
    return {"length": len(body)}


@app.post("/discard")
async def discard():
    return PlainTextResponse("not read\n")


@app.get("/healthz")
async def healthz():
    return PlainTextResponse("ok\n")


@app.get("/metrics")
async def app_metrics():
    return PlainTextResponse("app metrics\n")


if HAVE_WEBSOCKET:
    @app.websocket("/ws")
    async def ws_echo(websocket: WebSocket):
        await websocket.accept()
        try:
            while True:
                await websocket.send_text(await websocket.receive_text())
        except WebSocketDisconnect:
            pass


if __name__ == "__main__":
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=8000)
