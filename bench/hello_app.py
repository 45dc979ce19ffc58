# SPDX-License-Identifier: MIT
"""The bench's hello world: a raw ASGI app, so that what is measured is uvicorn
plus the observer and not a framework.

    /usr/bin/python3 -m uvicorn hello_app:app --app-dir bench --port 8000
"""

BODY = b'{"hello":"runway"}'
START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"),
                (b"content-length", str(len(BODY)).encode())],
}
END = {"type": "http.response.body", "body": BODY}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send(START)
    await send(END)
