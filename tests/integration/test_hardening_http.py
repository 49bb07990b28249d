"""Regression tests for the defects found by trying to break the agent (issue 15) in the HTTP layer: the log, keys,
connections, framing, keep-alive and shutdown.
Each failed on the code before its fix."""
import http.client
import json
import os
import re
import signal
import socket
import threading
import time
import unittest

from agent import Agent


def raw(agent, data, source="127.0.0.1", timeout=10):
    """Sends raw bytes on a new connection and returns everything the agent sends back."""
    s = socket.create_connection(("127.0.0.1", agent.port), timeout=timeout,
                                 source_address=(source, 0))
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


def status_of(reply):
    m = re.match(rb"HTTP/1\.1 (\d{3})", reply)
    return int(m.group(1)) if m else None


def split_reply(reply):
    head, _, body = reply.partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        headers[k.decode().lower()] = v.decode().strip()
    return headers, body


class AccessLog(unittest.TestCase):
    def test_control_characters_cannot_forge_a_line(self):
        with Agent() as a:
            forged = "2026-01-01T00:00:00.000Z info FORGED"
            r = a.get("/x%0d%0a" + forged.replace(" ", "%20"), key=False)
            self.assertEqual(r.status, 401)
            r = a.get("/y%0a" + forged.replace(" ", "%20"))
            self.assertEqual(r.status, 404)
            log = a.log()
            for line in log.splitlines():
                self.assertFalse(line.startswith("2026-01-01T00:00:00.000Z"), line)
            self.assertIn("/x\\r\\n" + forged, log)
            self.assertIn("/y\\n" + forged, log)


class Authentication(unittest.TestCase):
    def test_bearer_scheme_in_any_case(self):
        with Agent() as a:
            for scheme in ("Bearer", "bearer", "BEARER", "bEaReR"):
                r = a.get("/status", key=False,
                          headers={"Authorization": f"{scheme} {a.key}"})
                self.assertEqual(r.status, 200, scheme)

    def test_wrong_keys_slow_down_but_never_lock_the_owner_out(self):
        with Agent("--no-rate-limit", "--set", "rate_limit.auth_failures=3") as a:
            # Requests with no key are not guesses: a web page firing them counts for nothing.
            for _ in range(50):
                self.assertEqual(a.get("/status", key=False).status, 401)
            for _ in range(3):
                self.assertEqual(a.get("/status", key="guess").status, 401)
            # Past the allowance, each wrong key is answered later than the last...
            waits = []
            for _ in range(3):
                t0 = time.monotonic()
                self.assertEqual(a.get("/status", key="guess").status, 401)
                waits.append(time.monotonic() - t0)
            self.assertGreaterEqual(waits[0], 0.09)
            self.assertGreaterEqual(waits[2], 0.35)
            # ...and the right key still gets in, at once.
            t0 = time.monotonic()
            r = a.get("/status")
            self.assertEqual(r.status, 200)
            self.assertLess(time.monotonic() - t0, 2)


class ConnectionLimits(unittest.TestCase):
    def test_one_address_cannot_take_every_connection(self):
        with Agent("--set", "limits.max_connections_per_client=4") as a:
            held = [socket.create_connection(("127.0.0.1", a.port), source_address=("127.0.0.2", 0))
                    for _ in range(4)]
            try:
                time.sleep(0.2)
                reply = raw(a, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", source="127.0.0.2")
                self.assertEqual(status_of(reply), 503, reply)
                headers, body = split_reply(reply)
                self.assertEqual(int(headers["content-length"]), len(body))
                self.assertIn("your address", json.loads(body)["error"])
                # Another address is served.
                self.assertEqual(a.get("/status").status, 200)
            finally:
                for s in held:
                    s.close()

    def test_full_table_closes_the_longest_idle_keep_alive_connection(self):
        with Agent("--no-rate-limit", "--set", "limits.max_connections=4") as a:
            conns = []
            for i in range(4):
                c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10,
                                               source_address=(f"127.0.0.{10 + i}", 0))
                c.request("GET", "/status", headers={"X-API-Key": a.key})
                r = c.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
                conns.append(c)
                time.sleep(0.05)
            # The table is full of connections idling between requests: a newcomer is served
            # and the one idle longest is closed.
            self.assertEqual(a.get("/status").status, 200)
            conns[0].sock.settimeout(5)
            self.assertEqual(conns[0].sock.recv(10), b"")
            conns[3].request("GET", "/status", headers={"X-API-Key": a.key})
            self.assertEqual(conns[3].getresponse().status, 200)
            for c in conns:
                c.close()


class Framing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent("--no-rate-limit")

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()

    def post(self, extra_headers, body):
        a = self.agent
        return raw(a, b"POST /execute HTTP/1.1\r\nHost: x\r\nX-API-Key: " + a.key.encode() +
                   b"\r\nContent-Type: application/json\r\n" + extra_headers + b"\r\n" + body)

    def test_unknown_transfer_encoding_is_refused(self):
        body = b'{"code": "1"}'
        reply = self.post(b"Transfer-Encoding: xchunked\r\nContent-Length: %d\r\n" % len(body),
                          body)
        self.assertEqual(status_of(reply), 400, reply)
        self.assertIn(b"Transfer-Encoding", reply)

    def test_chunked_beside_content_length_is_refused(self):
        body = b"d\r\n{\"code\": \"1\"}\r\n0\r\n\r\n"
        reply = self.post(b"Transfer-Encoding: chunked\r\nContent-Length: 13\r\n", body)
        self.assertEqual(status_of(reply), 400, reply)

    def test_invalid_chunked_body_is_a_400(self):
        reply = self.post(b"Transfer-Encoding: chunked\r\n", b"zz\r\nnot hex\r\n0\r\n\r\n")
        self.assertEqual(status_of(reply), 400, reply)
        _, body = split_reply(reply)
        self.assertIs(json.loads(body)["success"], False)

    def test_absolute_form_target(self):
        a = self.agent
        reply = raw(a, b"GET http://127.0.0.1:%d/status?x=1 HTTP/1.1\r\nHost: x\r\n"
                    b"Connection: close\r\nX-API-Key: %s\r\n\r\n" % (a.port, a.key.encode()))
        self.assertEqual(status_of(reply), 200, reply)
        self.assertIn(b"cpu_pct", reply)


class KeepAlive(unittest.TestCase):
    def test_small_files_on_one_connection_are_not_held_by_nagle(self):
        # Header and body go out as two writes: without TCP_NODELAY each reply waited for the
        # client's delayed ACK (about 40 ms). 40 replies took over 1.6 s; now a few ms each.
        with Agent("--no-rate-limit") as a:
            path = os.path.join(a.tmp, "small.txt")
            with open(path, "w") as f:
                f.write("x" * 100)
            c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
            t0 = time.monotonic()
            for _ in range(40):
                c.request("GET", "/download?path=" + path, headers={"X-API-Key": a.key})
                r = c.getresponse()
                self.assertEqual(r.read(), b"x" * 100)
            elapsed = time.monotonic() - t0
            c.close()
            self.assertLess(elapsed, 1.2)


class Shutdown(unittest.TestCase):
    def test_request_past_the_grace_is_answered_and_its_execution_interrupted(self):
        a = Agent("--set", "limits.shutdown_grace_s=1")
        try:
            result = {}

            def run():
                result["reply"] = a.post("/execute", {"code": "import time\ntime.sleep(60)"},
                                         timeout=30)

            t = threading.Thread(target=run)
            t.start()
            time.sleep(0.5)  # the execution is under way
            a.signal(signal.SIGTERM)
            t.join(timeout=20)
            self.assertFalse(t.is_alive())
            self.assertEqual(result["reply"].status, 503, result["reply"])
            self.assertIn("shutting down", result["reply"].json()["error"])
            self.assertEqual(a.wait(timeout=15), 0)
        finally:
            a.stop()


if __name__ == "__main__":
    unittest.main()
