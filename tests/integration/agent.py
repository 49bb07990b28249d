"""Starts the real moccha binary for black-box tests and talks HTTP to it.

Only Python's standard library: the tests run on a fresh machine without PyPI. Every agent is
started on 127.0.0.1 with port 0 and a temporary data dir, and stopped by its PID.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import time

BIN = os.environ.get("MOCCHA_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "moccha")


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"Reply({self.status}, {self.body[:300]!r})"


class Agent:
    """A running `moccha serve`. Use as a context manager or call stop()."""

    def __init__(self, *args, env=None, api_key="test-key-0123456789", data_dir=None,
                 keep_data=False):
        self.tmp = tempfile.mkdtemp(prefix="moccha-test-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.log_file = os.path.join(self.tmp, "moccha.log")
        self.keep_data = keep_data
        self.key = api_key
        cmd = [BIN, "serve", "--port", "0", "--data-dir", self.data_dir,
               "--log-file", self.log_file]
        if api_key:
            cmd += ["--api-key", api_key]
        cmd += list(args)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("MOCCHA_")}
        full_env.update(env or {})
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=full_env, text=True)
        self.banner = []
        deadline = time.monotonic() + 20
        self.port = None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.banner.append(line)
            m = re.search(r"listening on http://[\d.]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.stop()
            raise RuntimeError(f"agent did not start: {self.proc.stderr.read()}")
        if api_key is None:
            self.banner.append(self.proc.stdout.readline())
            with open(os.path.join(self.data_dir, "api_key")) as f:
                self.key = f.read().strip()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def request(self, method, path, body=None, headers=None, key=True, timeout=30):
        hdrs = dict(headers or {})
        if key is True:
            hdrs.setdefault("X-API-Key", self.key)
        elif key:
            hdrs["X-API-Key"] = key
        data = body
        if isinstance(body, (dict, list)):
            data = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            return Reply(r.status, dict(r.getheaders()), r.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()
        if not self.keep_data:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def log(self):
        time.sleep(0.25)  # access lines are flushed within 100 ms
        with open(self.log_file) as f:
            return f.read()


def wait_for(fn, timeout=30, step=0.05):
    """Polls fn until it returns something true, and returns that; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")


def stop_child(proc, timeout=10):
    """SIGTERM to a child the test started (by its PID), SIGKILL if it outlives `timeout`."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def fake_nvidia_smi():
    """A directory holding an nvidia-smi that answers as nvidia-smi 535 does for two GPUs (put
    it first on PATH, with MOCCHA_NO_NVML=1): there is no GPU here."""
    fake = tempfile.mkdtemp(prefix="fake-smi-")
    script = os.path.join(fake, "nvidia-smi")
    with open(script, "w") as f:
        f.write(textwrap.dedent("""\
            #!/bin/sh
            # Answers like nvidia-smi 535 for --query-gpu with csv,noheader,nounits.
            case "$*" in
              *--query-gpu=index,name,memory.used,memory.total,utilization.gpu*)
                echo "0, NVIDIA GeForce RTX 3080, 2048, 10240, 45"
                echo "1, Tesla T4, 100, 15360, [N/A]" ;;
              *) echo "unexpected arguments: $*" >&2; exit 2 ;;
            esac
            """))
    os.chmod(script, 0o755)
    return fake


def run_cli(*args, env=None, timeout=30, input=None, cwd=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MOCCHA_")}
    full_env.update(env or {})
    return subprocess.run([os.path.abspath(BIN), *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, input=input, cwd=cwd)


def multipart(parts, boundary="moccha-test-boundary-7d2"):
    """parts: (name, filename or None, bytes)."""
    out = b""
    for name, filename, data in parts:
        disp = f'form-data; name="{name}"'
        if filename is not None:
            disp += f'; filename="{filename}"'
        out += (f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n").encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


class Events:
    """Reads GET /events of an agent on a thread of its own: `events` is the list of
    (id, type, data) received so far. Stop with close()."""

    def __init__(self, agent, last_event_id=None):
        import threading
        self.events = []
        self.comments = 0
        self.conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=60)
        headers = {"X-API-Key": agent.key, "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", "/events", headers=headers)
        self.reply = self.conn.getresponse()
        self.status = self.reply.status
        self.content_type = self.reply.getheader("Content-Type")
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        block = {}
        try:
            while True:
                line = self.reply.fp.readline()
                if not line:
                    return
                line = line.decode().rstrip("\r\n")
                if line == "":
                    if "data" in block:
                        self.events.append((int(block["id"]) if "id" in block else None,
                                            block.get("event", "message"),
                                            json.loads(block["data"])))
                    block = {}
                elif line.startswith(":"):
                    self.comments += 1
                elif ":" in line:
                    k, v = line.split(":", 1)
                    block[k] = v[1:] if v.startswith(" ") else v
        except (OSError, ValueError):
            return

    def of(self, type_, **match):
        return [d for _, t, d in self.events
                if t == type_ and all(d.get(k) == v for k, v in match.items())]

    def last_id(self):
        ids = [i for i, _, _ in self.events if i is not None]
        return ids[-1] if ids else None

    def close(self):
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()
        self.thread.join(timeout=5)
