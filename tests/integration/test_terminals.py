"""Terminals (/terminals): real login shells on PTYs, joined over a real WebSocket (wsclient.py,
RFC 6455 on the standard library): output, input, resize, scrollback for a new viewer, the whole
session ended on DELETE, idle culling, the browser's auth frame and Origin check, bad frames."""
import fcntl
import os
import re
import select
import struct
import subprocess
import tempfile
import termios
import time
import unittest

from agent import BIN, Agent, run_cli, stop_child, wait_for
from test_web_auth import login
from wsclient import Closed, HandshakeRefused, WebSocket


def quiet_home():
    """A HOME with no rc files: the machine's own ~/.bashrc (pyenv's rehash, which waits on a
    lock) is not what these tests are about."""
    home = tempfile.mkdtemp(prefix="moccha-term-home-")
    return {"HOME": home}


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class TerminalsTest(unittest.TestCase):
    def setUp(self):
        self.agent = Agent(env=quiet_home())
        self.addCleanup(self.agent.stop)

    def open(self, **size):
        r = self.agent.post("/terminals", size)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def join(self, tid, headers=None):
        ws = WebSocket(self.agent.port, f"/terminals/{tid}/ws",
                       {"X-API-Key": self.agent.key} if headers is None else headers)
        self.addCleanup(ws.close)
        return ws

    def test_a_shell_runs_what_is_typed_and_follows_the_window_size(self):
        t = self.open(cols=100, rows=30)
        self.assertTrue(alive(t["pid"]))
        ws = self.join(t["id"])
        binary, first = ws.recv()
        self.assertFalse(binary)
        self.assertIn(b'"attached"', first)
        ws.send(b"stty size; echo hi-$((40+2))\r")
        out = ws.read_until(b"hi-42")
        self.assertIn(b"30 100", out)
        ws.send({"type": "resize", "cols": 132, "rows": 43})
        ws.send(b"stty size\r")
        ws.read_until(b"43 132")
        listed = self.agent.get("/terminals").json()["terminals"]
        self.assertEqual([(x["id"], x["cols"], x["rows"], x["viewers"]) for x in listed],
                         [(t["id"], 132, 43, 1)])

    def test_a_new_viewer_gets_the_scrollback_then_both_see_what_follows(self):
        t = self.open()
        a = self.join(t["id"])
        a.send(b"echo first-$((1+1))\r")
        a.read_until(b"first-2")
        b = self.join(t["id"])
        self.assertIn(b"first-2", b.read_until(b"first-2"))  # replayed
        b.send(b"echo second-$((2+2))\r")
        a.read_until(b"second-4")
        b.read_until(b"second-4")

    def test_delete_ends_the_shell_and_everything_started_in_it(self):
        t = self.open()
        ws = self.join(t["id"])
        # (tr: the echo of the typed line says "bg=", the output "bg:". In the subshell, with no
        # job control, setsid's process is no group leader: it does not fork, $! is the sleep.)
        ws.send(b"sleep 1000 & echo bg=$! | tr = :; (setsid sleep 1001 & echo sid=$! | tr = :)\r")
        out = ws.read_until(re.compile(rb"sid:\d+\r?\n")).decode()
        bg = int(re.search(r"bg:(\d+)", out).group(1))
        sid = int(re.search(r"sid:(\d+)", out).group(1))
        self.assertTrue(alive(bg) and alive(sid))
        r = self.agent.request("DELETE", f"/terminals/{t['id']}")
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: not alive(bg) and not alive(sid) and not alive(t["pid"]), timeout=10)
        texts, code = ws.until_closed()
        self.assertEqual(code, 1000)
        self.assertIn(b'{"how":"removed","type":"exit"}', texts)
        self.assertEqual(self.agent.get("/terminals").json()["terminals"], [])
        self.assertEqual(self.agent.request("DELETE", f"/terminals/{t['id']}").status, 404)

    def test_exit_ends_the_terminal_and_says_how(self):
        t = self.open()
        ws = self.join(t["id"])
        ws.recv()  # attached
        ws.send(b"exit 3\r")
        texts, code = ws.until_closed()
        self.assertEqual(code, 1000)
        self.assertIn(b'"how":"exit code 3"', b"".join(texts))
        wait_for(lambda: self.agent.get("/terminals").json()["terminals"] == [], timeout=5)

    def test_bad_frames_close_the_socket_and_never_the_agent(self):
        t = self.open()
        for frame, code in [("not json", 1003), ({"type": "resize", "cols": 0, "rows": 5}, 1008),
                            ({"type": "launch"}, 1003), ({"type": 5}, 1003), ([1, 2], 1003),
                            (b"x" * (2 << 20), 1009)]:
            ws = self.join(t["id"])
            ws.recv()
            try:
                ws.send(frame)
                self.assertEqual(ws.until_closed()[1], code, frame if len(frame) < 99 else "big")
            except (BrokenPipeError, ConnectionResetError):
                self.assertEqual(code, 1009)  # the agent closed while the big frame went out
        self.assertEqual(self.agent.get("/health").status, 200)
        self.assertEqual(len(self.agent.get("/terminals").json()["terminals"]), 1)

    def test_unknown_terminal_plain_get_and_bad_sizes(self):
        with self.assertRaises(HandshakeRefused) as c:
            self.join("0123456789abcdef")
        self.assertEqual(c.exception.status, 404)
        r = self.agent.get("/terminals/0123456789abcdef/ws")
        self.assertEqual(r.status, 426)
        self.assertEqual(self.agent.post("/terminals", {"cols": 0}).status, 400)
        self.assertEqual(self.agent.post("/terminals", {"rows": 2.5}).status, 400)
        with self.assertRaises(HandshakeRefused) as c:
            self.join(self.open()["id"], headers={})  # no key, no cookie
        self.assertEqual(c.exception.status, 401)

    def test_a_browser_sends_its_csrf_token_before_any_byte_flows(self):
        t = self.open()
        cookie, csrf, _ = login(self.agent)
        origin = f"http://127.0.0.1:{self.agent.port}"
        page = {"Cookie": cookie, "Origin": origin}
        for headers in ({"Cookie": cookie, "Origin": "http://127.0.0.1:1"},  # another origin
                        {"Cookie": cookie}):  # a cookie with no Origin
            with self.assertRaises(HandshakeRefused) as c:
                self.join(t["id"], headers)
            self.assertEqual(c.exception.status, 403)
        # The shell's bytes are not sent before the auth frame, and input is refused.
        ws = self.join(t["id"], page)
        ws.send(b"echo leaked > leaked.txt\r")
        with self.assertRaises(Closed) as c:
            ws.recv()
        self.assertEqual(c.exception.code, 1008)
        ws = self.join(t["id"], page)
        ws.send({"type": "auth", "csrf_token": "0" * 64})
        with self.assertRaises(Closed) as c:
            ws.recv()
        self.assertEqual(c.exception.code, 1008)
        ws = self.join(t["id"], page)
        ws.send({"type": "auth", "csrf_token": csrf})
        binary, first = ws.recv()
        self.assertIn(b'"attached"', first)
        ws.send(b"ls leaked.txt; echo done-$((1+2))\r")
        out = ws.read_until(b"done-3")
        self.assertIn(b"No such file", out)

    def test_the_agent_ends_its_terminals_when_it_stops(self):
        pid = self.open()["pid"]
        self.agent.stop()
        self.assertFalse(alive(pid))


class MocchaTermTest(unittest.TestCase):
    """`moccha term` in a real terminal: a pty of the test's, 100 x 30."""

    def setUp(self):
        self.agent = Agent(env=quiet_home())
        self.addCleanup(self.agent.stop)

    def start(self, *args):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        p = subprocess.Popen([BIN, "--url", self.agent.url, "--api-key", self.agent.key, "term",
                              *args], stdin=slave, stdout=slave, stderr=slave,
                             start_new_session=True)
        os.close(slave)
        self.addCleanup(lambda: (stop_child(p), os.close(master)))
        return p, master

    def read_until(self, fd, pattern, timeout=10):
        out, deadline = b"", time.monotonic() + timeout
        while not re.search(pattern, out):
            left = deadline - time.monotonic()
            self.assertGreater(left, 0, out[-500:])
            if select.select([fd], [], [], left)[0]:
                try:
                    out += os.read(fd, 65536)
                except OSError:  # the child closed its side
                    break
        return out

    def test_a_shell_in_this_terminal_then_exit(self):
        p, fd = self.start()
        os.write(fd, b"stty size; echo cli-$((6*7))\r")
        out = self.read_until(fd, rb"cli-42\r\n")
        self.assertIn(b"30 100", out)  # the local window's size went with it
        os.write(fd, b"exit 0\r")
        self.assertEqual(p.wait(timeout=10), 0)
        self.assertIn(b"ended (exit code 0)", self.read_until(fd, rb"ended"))
        self.assertEqual(self.agent.get("/terminals").json()["terminals"], [])

    def test_ctrl_bracket_detaches_and_the_shell_stays(self):
        p, fd = self.start()
        os.write(fd, b"echo one-$((0+1))\r")
        self.read_until(fd, rb"one-1\r\n")
        os.write(fd, b"\x1d")
        self.assertEqual(p.wait(timeout=10), 0)
        [t] = self.agent.get("/terminals").json()["terminals"]
        p2, fd2 = self.start(t["id"])
        self.read_until(fd2, rb"one-1")  # the scrollback, in the new attachment
        r = run_cli("--url", self.agent.url, "--api-key", self.agent.key, "term", "nope")
        self.assertEqual(r.returncode, 1)
        self.assertIn("404", r.stderr)


class TerminalConfigTest(unittest.TestCase):
    def test_disabled_by_config(self):
        with Agent(env={"MOCCHA_TERMINAL_ENABLED": "false", **quiet_home()}) as a:
            r = a.post("/terminals", {})
            self.assertEqual(r.status, 403)
            self.assertIn("terminal.enabled", r.json()["message"])

    def test_idle_terminals_are_culled_and_the_count_is_capped(self):
        env = {"MOCCHA_TERMINAL_IDLE_TIMEOUT_S": "1", "MOCCHA_TERMINAL_MAX_TERMINALS": "1",
               **quiet_home()}
        with Agent(env=env) as a:
            t = a.post("/terminals", {}).json()
            self.assertEqual(a.post("/terminals", {}).status, 409)
            wait_for(lambda: a.get("/terminals").json()["terminals"] == [], timeout=10)
            wait_for(lambda: not alive(t["pid"]), timeout=5)
            self.assertEqual(a.post("/terminals", {}).status, 201)


if __name__ == "__main__":
    unittest.main()
