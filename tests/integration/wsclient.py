"""A small WebSocket client (RFC 6455) on the standard library, for the tests: the handshake,
masked frames out, fragmented frames in, ping answered, close. Every read has a deadline."""
import base64
import hashlib
import json
import os
import socket
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class HandshakeRefused(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status = status
        self.body = body


class Closed(Exception):
    def __init__(self, code, reason):
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


class WebSocket:
    def __init__(self, port, path, headers=None, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = self._until(b"\r\n\r\n", time.monotonic() + timeout)
        status_line, *fields = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        hdrs = {}
        for f in fields:
            if ":" in f:
                k, v = f.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        if status != 101:
            length = int(hdrs.get("content-length", "0"))
            body = self._exactly(length, time.monotonic() + timeout) if length else b""
            self.sock.close()
            raise HandshakeRefused(status, body)
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        assert hdrs.get("sec-websocket-accept") == accept, hdrs

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no WebSocket data in time")
        self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise Closed(1006, "connection closed without a close frame")
        self.buf += chunk

    def _until(self, marker, deadline):
        while marker not in self.buf:
            self._fill(deadline)
        head, self.buf = self.buf.split(marker, 1)
        return head

    def _exactly(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, data, binary=None):
        if isinstance(data, (dict, list)):
            data = json.dumps(data)
        if binary is None:
            binary = isinstance(data, bytes)
        self._frame(0x2 if binary else 0x1, data if isinstance(data, bytes) else data.encode())

    def _frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def recv(self, timeout=10):
        """The next message as (binary, bytes); raises Closed at a close frame."""
        deadline = time.monotonic() + timeout
        parts, first_op = [], None
        while True:
            b0, b1 = self._exactly(2, deadline)
            op, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exactly(2, deadline))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exactly(8, deadline))[0]
            payload = self._exactly(n, deadline)
            if op == 0x8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
                raise Closed(code, payload[2:].decode(errors="replace"))
            if op == 0x9:
                self._frame(0xA, payload)
                continue
            if op == 0xA:
                continue
            if first_op is None:
                first_op = op
            parts.append(payload)
            if b0 & 0x80:
                return first_op == 0x2, b"".join(parts)

    def read_until(self, needle, timeout=10):
        """Binary output gathered until it holds `needle` (bytes, or a compiled pattern to
        search for); text frames kept in self.texts."""
        deadline = time.monotonic() + timeout
        out = b""
        self.texts = getattr(self, "texts", [])
        found = (lambda o: needle.search(o)) if hasattr(needle, "search") else (
            lambda o: needle in o)
        while not found(out):
            binary, data = self.recv(max(0.01, deadline - time.monotonic()))
            if binary:
                out += data
            else:
                self.texts.append(json.loads(data))
        return out

    def until_closed(self, timeout=10):
        """Reads to the close frame: (the text messages on the way, the close code)."""
        deadline = time.monotonic() + timeout
        texts = []
        try:
            while True:
                binary, data = self.recv(max(0.01, deadline - time.monotonic()))
                if not binary:
                    texts.append(data)
        except Closed as c:
            return texts, c.code

    def close(self):
        try:
            self._frame(0x8, struct.pack(">H", 1000))
        except OSError:
            pass
        self.sock.close()
