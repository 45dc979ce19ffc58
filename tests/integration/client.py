# SPDX-License-Identifier: MIT
"""HTTP/1.1 and WebSocket clients for the tests, on loopback only.

http.client covers plain keep-alive traffic; RawHTTP is for what it cannot
do: a request sent in pieces, Expect: 100-continue, reading a chunked body one
chunk at a time, closing or resetting a connection mid-request, upgrades.
"""

import base64
import http.client
import os
import socket
import struct
import threading
import time

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _check_target(host):
    # Load from these tests must never leave the machine.
    if host not in LOOPBACK:
        raise ValueError("refusing to send test traffic to %r" % host)


class KeepAlive:
    """One persistent http.client connection."""

    def __init__(self, host, port, timeout=15.0):
        _check_target(host)
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.will_close:
            raise AssertionError("server closed a keep-alive connection after %s %s" %
                                 (method, path))
        return resp.status, data

    def request_in_pieces(self, method, path, pieces, gap=0.02):
        """Headers in one send, then the body in several, with pauses."""
        body_len = sum(len(p) for p in pieces)
        self.conn.putrequest(method, path)
        self.conn.putheader("Content-Length", str(body_len))
        self.conn.putheader("Content-Type", "application/octet-stream")
        self.conn.endheaders()
        for p in pieces:
            time.sleep(gap)
            self.conn.send(p)
        resp = self.conn.getresponse()
        return resp.status, resp.read()

    def close(self):
        self.conn.close()


def one_shot(host, port, method, path, body=None, timeout=15.0):
    """A request on a fresh connection that the client closes afterwards."""
    _check_target(host)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"Connection": "close"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class RawHTTP:
    """A TCP connection with just enough HTTP/1.1 to drive the odd cases."""

    def __init__(self, host, port, timeout=15.0):
        _check_target(host)
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def request_head(self, method, path, headers=None, host="test"):
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % host]
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("server closed the connection")
        self.buf += data

    def read_until(self, delim):
        while delim not in self.buf:
            self._fill()
        i = self.buf.index(delim) + len(delim)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_head(self):
        head = self.read_until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        return status, headers

    def read_chunk(self):
        """The next chunk's data; b"" for the last chunk (trailers consumed)."""
        size = int(self.read_until(b"\r\n").split(b";")[0].strip(), 16)
        if size == 0:
            while self.read_until(b"\r\n") != b"\r\n":
                pass
            return b""
        data = self.read_exact(size)
        if self.read_exact(2) != b"\r\n":
            raise AssertionError("chunk not followed by CRLF")
        return data

    def read_body(self, status, headers, method="GET"):
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                chunk = self.read_chunk()
                if not chunk:
                    return body
                body += chunk
        if "content-length" in headers:
            return self.read_exact(int(headers["content-length"]))
        body = self.buf
        self.buf = b""
        while True:
            data = self.sock.recv(65536)
            if not data:
                return body
            body += data

    def read_response(self, method="GET"):
        status, headers = self.read_head()
        return status, headers, self.read_body(status, headers, method)

    def close(self):
        self.sock.close()

    def reset(self):
        """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    # -- WebSocket (RFC 6455), client side ---------------------------------
    def ws_handshake(self, path="/ws"):
        key = base64.b64encode(os.urandom(16)).decode()
        self.send(self.request_head("GET", path, {
            "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13"}))
        return self.read_head()

    def ws_send(self, payload, opcode=0x1):
        if isinstance(payload, str):
            payload = payload.encode()
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.send(head + mask + masked)

    def ws_recv(self):
        b0, b1 = self.read_exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.read_exact(8))[0]
        mask = self.read_exact(4) if b1 & 0x80 else None
        data = self.read_exact(n)
        if mask:
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        return b0 & 0x0F, data

    def ws_close(self):
        self.ws_send(struct.pack("!H", 1000), opcode=0x8)


class Clients:
    """n threads each running worker(i, stop_event) -> (completed, errors)
    until stop_event is set or the worker returns."""

    def __init__(self, n, worker):
        self.n = n
        self.worker = worker
        self.stop_event = threading.Event()
        self.completed = [0] * n
        self.errors = []
        self.statuses = {}
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(n)]

    def _run(self, i):
        try:
            self.worker(self, i)
        except Exception as e:  # noqa: BLE001 - reported by the test
            with self._lock:
                self.errors.append("client %d: %r" % (i, e))

    def record(self, i, status):
        with self._lock:
            self.completed[i] += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def error(self, i, e):
        with self._lock:
            self.errors.append("client %d: %r" % (i, e))

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self, timeout=30.0):
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = sum(t.is_alive() for t in self.threads)
        if alive:
            raise AssertionError("%d client threads still running after %.0f s" %
                                 (alive, timeout))
        return sum(self.completed)

    @property
    def total(self):
        return sum(self.completed)


def keepalive_loop(host, port, path, method="GET", timeout=15.0):
    """A Clients worker: one keep-alive connection, requests back to back."""
    def worker(clients, i):
        conn = KeepAlive(host, port, timeout=timeout)
        try:
            while not clients.stop_event.is_set():
                status, _ = conn.request(method, path)
                clients.record(i, status)
        finally:
            conn.close()
    return worker


def new_connection_loop(host, port, path, timeout=20.0):
    """A Clients worker: a new connection for every request."""
    def worker(clients, i):
        while not clients.stop_event.is_set():
            try:
                status, _ = one_shot(host, port, "GET", path, timeout=timeout)
                clients.record(i, status)
            except (OSError, http.client.HTTPException) as e:
                clients.error(i, e)
    return worker


# <asm-generic/socket.h> (x86, arm64) and <linux/net_tstamp.h>: the kernel's
# own times of a socket's segments, as CLOCK_REALTIME, in control messages.
# SO_TIMESTAMPNS: the receive time of each segment read; SO_TIMESTAMPING with
# these flags: the send time of each write's last byte, on the error queue.
# Python has no names for them.
SO_TIMESTAMPNS = 35
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
SO_TIMESTAMPING = 37
SCM_TIMESTAMPING = SO_TIMESTAMPING
SOF_TIMESTAMPING_TX_SOFTWARE = 1 << 1
SOF_TIMESTAMPING_SOFTWARE = 1 << 4
SOF_TIMESTAMPING_OPT_ID = 1 << 7
SOF_TIMESTAMPING_OPT_TSONLY = 1 << 11
_TIMESPEC = struct.Struct("@qq")


def _timespec(payload):
    seconds, nanoseconds = _TIMESPEC.unpack(payload[:_TIMESPEC.size])
    return seconds + nanoseconds / 1e9


class TimedKeepAlive:
    """A keep-alive connection for GETs that tells when each request was out
    and answered, by the kernel's clock, as ground truth for what the
    server's kernel sees: out when the client's kernel sent the request's
    last byte (SO_TIMESTAMPING), answered when it received the segment that
    completed the response (SO_TIMESTAMPNS).  When the client thread gets
    the CPU, before or after, does not count.  Responses must have a
    Content-Length (uvicorn's JSON answers do).

    A server may close a keep-alive connection just as a request goes out
    on it (uvicorn after 5 s without a request, which a stalled client can
    take).  Then, as browsers and proxies do, the request is sent again on
    a new connection.  The lost attempt never reached a server that was
    reading, so it is not counted; `retries` says how many there were."""

    def __init__(self, host, port, timeout=60.0):
        _check_target(host)
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = None
        self.buf = b""
        self.retries = 0
        self.untimed = 0  # segments read without a kernel receive time

    def _connect(self):
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING,
                             SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
                             SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY)
        self.buf = b""

    def _sent_time(self):
        """The send time of the last write, from the error queue (queued
        by the time its response came back)."""
        sent = None
        # Non-blocking: with a timeout, Python would first wait for the
        # socket to be readable, which the error queue never makes it.
        self.sock.settimeout(0)
        try:
            while True:
                try:
                    _, ancillary, _, _ = self.sock.recvmsg(
                        64, socket.CMSG_SPACE(3 * _TIMESPEC.size) + socket.CMSG_SPACE(64),
                        socket.MSG_ERRQUEUE)
                except BlockingIOError:
                    break
                for level, kind, payload in ancillary:
                    if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPING:
                        sent = _timespec(payload)  # the first of three: software
        finally:
            self.sock.settimeout(self.timeout)
        if sent is None:
            raise AssertionError("no SO_TIMESTAMPING send time from the kernel")
        return sent

    def _receive(self):
        """More bytes into buf; the receive time of the last segment read."""
        data, ancillary, _, _ = self.sock.recvmsg(
            65536, socket.CMSG_SPACE(_TIMESPEC.size) + socket.CMSG_SPACE(3 * _TIMESPEC.size))
        now = time.time()
        if not data:
            raise EOFError("server closed the connection")
        self.buf += data
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS:
                return _timespec(payload)
        # Rarely a segment comes without its time (seen under heavy load):
        # the time of the read, just after it, is the next best.
        self.untimed += 1
        return now

    def _exchange(self, request):
        """(status, sent, answered) of one request on the open connection."""
        self.sock.sendall(request)
        answered = None
        while b"\r\n\r\n" not in self.buf:
            answered = self._receive()
        head, _, _ = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length is None:
            raise AssertionError("response without Content-Length: %r" % head)
        end = len(head) + 4 + length
        while len(self.buf) < end:
            answered = self._receive()
        if len(self.buf) > end:
            raise AssertionError("bytes after the response: %r" % self.buf[end:])
        self.buf = b""
        return status, self._sent_time(), answered

    def get(self, path):
        """(status, sent, answered) of one GET."""
        request = ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, self.host)).encode()
        reused = self.sock is not None
        if not reused:
            self._connect()
        try:
            return self._exchange(request)
        except (EOFError, ConnectionResetError, BrokenPipeError):
            # Only on a reused connection, and only before any byte of the
            # response: anything else is the server's failure to report.
            if not reused or self.buf:
                raise
        self.retries += 1
        self.close()
        self._connect()
        return self._exchange(request)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
