"""Regression tests for the defects found by trying to break the agent (issue 15): each one
failed on the code before its fix."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from agent import Agent, multipart, rss_kb, wait_for


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


class FullDisk(unittest.TestCase):
    """The data dir on a full filesystem (a small tmpfs): writes fail with 507, the agent lives."""

    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="moccha-full-")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", self.mnt],
                           capture_output=True)
        if r.returncode != 0:
            os.rmdir(self.mnt)
            self.skipTest("cannot mount a tmpfs here: " + r.stderr.decode())

    def tearDown(self):
        subprocess.run(["umount", "-l", self.mnt])
        os.rmdir(self.mnt)

    def fill(self):
        with open(os.path.join(self.mnt, "filler"), "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass

    def test_shell_install_and_uploads_on_a_full_disk(self):
        with Agent("--no-rate-limit", data_dir=os.path.join(self.mnt, "data")) as a:
            self.assertEqual(a.post("/shell", {"command": "true"}).status, 200)
            self.fill()
            r = a.post("/shell", {"command": "echo ran"})
            self.assertEqual(r.status, 507, r)
            body = r.json()
            self.assertIs(body["success"], False)
            self.assertEqual(body["result"]["stdout"], "ran\n")  # what it printed is not lost
            r = a.post("/install", {"package": "./no-such-dir"})
            self.assertEqual(r.status, 400)
            r = a.request("PUT", "/files" + os.path.join(self.mnt, "big.bin"),
                          body=b"x" * (1 << 20))
            self.assertEqual(r.status, 507, r)
            self.assertFalse(os.path.exists(os.path.join(self.mnt, "big.bin")))
            # Still serving, and once there is room again, writing.
            self.assertEqual(a.get("/status").status, 200)
            self.assertEqual(a.get("/history").status, 200)
            os.unlink(os.path.join(self.mnt, "filler"))
            self.assertEqual(a.post("/shell", {"command": "true"}).status, 200)


class Starvation(unittest.TestCase):
    def test_long_shell_commands_do_not_hold_up_quick_requests(self):
        with Agent("--no-rate-limit") as a:
            threads = [threading.Thread(target=a.post, args=("/shell", {"command": "sleep 4"}))
                       for _ in range(6)]
            for t in threads:
                t.start()
            time.sleep(0.5)
            for path in ("/files", "/history", "/tasks"):
                t0 = time.monotonic()
                self.assertEqual(a.get(path, timeout=10).status, 200)
                self.assertLess(time.monotonic() - t0, 2, path)
            for t in threads:
                t.join(timeout=20)


class FileApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent("--no-rate-limit")
        cls.ws = os.path.join(cls.agent.data_dir, "workspace")

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()

    def test_a_fifo_is_refused_and_does_not_block_anyone(self):
        fifo = os.path.join(self.ws, "pipe")
        os.mkfifo(fifo)
        for _ in range(6):  # more than the quick pool has threads
            r = self.agent.get("/download?path=" + fifo, timeout=10)
            self.assertEqual(r.status, 400, r)
            self.assertIn("regular", r.json()["error"])
        self.assertEqual(self.agent.get("/files", timeout=10).status, 200)

    def test_proc_files_are_read_to_their_end(self):
        r = self.agent.get("/download?path=/proc/self/status")
        self.assertEqual(r.status, 200)
        self.assertIn(b"VmRSS:", r.body)
        self.assertEqual(int(r.headers["Content-Length"]), len(r.body))
        with open(os.path.join(self.ws, "empty"), "w"):
            pass
        r = self.agent.get("/download/empty")
        self.assertEqual((r.status, r.body), (200, b""))

    def test_an_upload_stores_all_of_its_files_or_none(self):
        body, headers = multipart([("file", "first.txt", b"one"), ("file", "../bad", b"two")])
        r = self.agent.request("POST", "/upload", body=body, headers=headers)
        self.assertEqual(r.status, 400, r)
        self.assertFalse(os.path.exists(os.path.join(self.ws, "first.txt")))
        # A body whose closing boundary never comes: nothing stored, not a truncated file.
        body, headers = multipart([("file", "cut.txt", b"x" * 100000)])
        body = body.replace(b"--moccha-test-boundary-7d2--", b"--moccha-test-boundary-7")
        r = self.agent.request("POST", "/upload", body=body, headers=headers)
        self.assertEqual(r.status, 400, r)
        self.assertFalse(os.path.exists(os.path.join(self.ws, "cut.txt")))
        # The second of two files cannot be stored (it would overwrite): neither is.
        with open(os.path.join(self.ws, "taken.txt"), "w") as f:
            f.write("old")
        body, headers = multipart([("overwrite", None, b"false"), ("file", "new.txt", b"n"),
                                   ("file", "taken.txt", b"t")])
        r = self.agent.request("POST", "/upload", body=body, headers=headers)
        self.assertEqual(r.status, 409, r)
        self.assertFalse(os.path.exists(os.path.join(self.ws, "new.txt")))
        with open(os.path.join(self.ws, "taken.txt")) as f:
            self.assertEqual(f.read(), "old")
        leftovers = os.listdir(os.path.join(self.agent.data_dir, "uploads"))
        self.assertEqual(leftovers, [])

    def test_put_under_a_regular_file_is_a_conflict(self):
        with open(os.path.join(self.ws, "plain.txt"), "w") as f:
            f.write("x")
        r = self.agent.request("PUT", "/files/plain.txt/child.txt", body=b"data")
        self.assertEqual(r.status, 409, r)

    def test_names_that_are_not_utf8_can_be_listed_and_addressed(self):
        d = os.path.join(self.ws, "bytes").encode()
        os.makedirs(d)
        with open(d + b"/caf\xe9.txt", "wb") as f:
            f.write(b"latin-1 name")
        items = self.agent.get("/files?path=bytes").json()["items"]
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0]["name"], "caf\ufffd.txt")
        self.assertEqual(items[0]["name_uri"], "caf%E9.txt")
        r = self.agent.get("/download/bytes/" + items[0]["name_uri"])
        self.assertEqual((r.status, r.body), (200, b"latin-1 name"))
        r = self.agent.request("DELETE", "/files?path=bytes/" + items[0]["name_uri"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(os.listdir(d), [])

    def test_listing_pages_and_sorts(self):
        d = os.path.join(self.ws, "paged")
        os.makedirs(os.path.join(d, "zdir"))
        for i, size in enumerate((30, 10, 20)):
            with open(os.path.join(d, f"f{i}"), "w") as f:
                f.write("x" * size)
        r = self.agent.get("/files?path=paged&limit=2").json()
        self.assertEqual([i["name"] for i in r["items"]], ["zdir", "f0"])
        self.assertEqual((r["total"], r["offset"], r["limit"], r["next_offset"]), (4, 0, 2, 2))
        r = self.agent.get("/files?path=paged&limit=2&offset=2").json()
        self.assertEqual([i["name"] for i in r["items"]], ["f1", "f2"])
        self.assertIsNone(r["next_offset"])
        r = self.agent.get("/files?path=paged&sort=-size").json()
        sizes = [i["size"] for i in r["items"]]
        self.assertEqual(sizes, sorted(sizes, reverse=True))
        self.assertEqual([i["name"] for i in r["items"] if i["type"] == "file"], ["f0", "f2", "f1"])
        r = self.agent.get("/files?path=paged&sort=name&order=desc").json()
        self.assertEqual([i["name"] for i in r["items"]], ["zdir", "f2", "f1", "f0"])
        for bad in ("sort=color", "order=up", "limit=-1", "offset=x"):
            self.assertEqual(self.agent.get("/files?path=paged&" + bad).status, 400, bad)

    @unittest.skipIf(os.environ.get("MOCCHA_SANITIZED") == "1",
                     "ASan keeps freed memory in quarantine: RSS says nothing there")
    def test_a_big_listing_gives_its_memory_back(self):
        d = os.path.join(self.ws, "big")
        os.makedirs(d)
        for i in range(100_000):
            open(os.path.join(d, f"entry-with-a-longish-name-{i:06d}"), "w").close()
        before = rss_kb(self.agent.proc.pid)
        for _ in range(3):
            r = self.agent.get("/files?path=big", timeout=120)
            self.assertEqual(len(r.json()["items"]), 100_000)
        grown = rss_kb(self.agent.proc.pid) - before
        print(f"RSS grew {grown / 1024:.1f} MiB over three 100 000-entry listings")
        # Was 340 MiB for good after three listings; the reply itself is about 12 MiB.
        self.assertLess(grown, 40 * 1024, f"RSS grew {grown} KiB")


class Jail(unittest.TestCase):
    def test_a_symlink_flipped_in_during_downloads_never_leads_out(self):
        base = tempfile.mkdtemp(prefix="moccha-jail-")
        jail = os.path.join(base, "jail")
        os.makedirs(jail)
        with open(os.path.join(base, "secret"), "w") as f:
            f.write("outside")
        target = os.path.join(jail, "f.txt")
        with Agent("--no-rate-limit", "--set", f'files.roots=["{jail}"]') as a:
            stop = threading.Event()

            def flip():
                # Atomically swap f.txt between a regular file and a symlink out of the jail.
                while not stop.is_set():
                    with open(target + ".new", "w") as f:
                        f.write("inside")
                    os.rename(target + ".new", target)
                    os.symlink(os.path.join(base, "secret"), target + ".lnk")
                    os.rename(target + ".lnk", target)

            t = threading.Thread(target=flip)
            t.start()
            seen = {}
            try:
                c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
                for _ in range(1500):
                    c.request("GET", "/download?path=" + target, headers={"X-API-Key": a.key})
                    r = c.getresponse()
                    body = r.read()
                    seen[(r.status, body if r.status == 200 else b"")] = 1
                    self.assertNotEqual(body, b"outside")
                c.close()
            finally:
                stop.set()
                t.join()
            self.assertIn((200, b"inside"), seen)  # the race was really run both ways
            self.assertIn((403, b""), seen)


def processes_running(marker):
    """Pids whose command line holds `marker`."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rpartition(")")[2].split()[0] == "Z":
                    continue
        except OSError:
            continue
        if marker.encode() in cmd:
            out.append(int(pid))
    return out


class Descendants(unittest.TestCase):
    def marker(self):
        # A sleep with a duration of its own, to find it (and only it) among the processes.
        return f"{4000 + os.getpid() % 1000}.{int(time.monotonic() * 1000) % 100000}"

    def test_a_shell_timeout_ends_what_left_the_process_group(self):
        with Agent() as a:
            m = self.marker()
            r = a.post("/shell", {"command": f"setsid nohup sleep {m} >/dev/null 2>&1 &\nsleep 100",
                                  "timeout": 2})
            self.assertTrue(r.json()["timed_out"], r)
            try:
                wait_for(lambda: not processes_running(m), timeout=5)
            finally:
                for pid in processes_running(m):
                    os.kill(pid, signal.SIGKILL)

    def test_the_kernel_restart_and_the_agent_shutdown_end_what_they_started(self):
        a = Agent()
        try:
            k, s = self.marker(), self.marker() + "1"
            code = f"import subprocess\nsubprocess.Popen(['setsid', 'sleep', '{k}'])"
            self.assertTrue(a.post("/execute", {"code": code}).json()["success"])
            wait_for(lambda: processes_running(k), timeout=5)
            self.assertEqual(a.post("/kernel/restart").status, 200)
            wait_for(lambda: not processes_running(k), timeout=5)
            # A background job of /shell outlives its command (that is what it is for)...
            r = a.post("/shell", {"command": f"setsid nohup sleep {s} >/dev/null 2>&1 &"})
            self.assertEqual(r.status, 200)
            wait_for(lambda: processes_running(s), timeout=5)
            time.sleep(0.3)
            self.assertTrue(processes_running(s))
            # ...but not the agent.
            a.signal(signal.SIGTERM)
            self.assertEqual(a.wait(timeout=15), 0)
            wait_for(lambda: not processes_running(s), timeout=5)
        finally:
            a.stop()
            for pid in processes_running(k) + processes_running(s):
                os.kill(pid, signal.SIGKILL)


class BigVariables(unittest.TestCase):
    def test_a_big_value_is_previewed_without_serialising_it(self):
        with Agent("--no-rate-limit") as a:
            pid = a.post("/kernel/restart").json()["pid"]
            size = 2 ** 28  # 256 MiB of text
            r = a.post("/execute", {"code": f"x = ' ' * {size}\nrows = [[i] * 3 for i in range(300000)]"},
                       timeout=120).json()
            self.assertTrue(r["success"], r)
            self.assertTrue(r["variables"]["x"].startswith(f"<str of {size} characters> '   "))
            self.assertLess(len(r["variables"]["x"]), 1100)
            self.assertTrue(r["variables"]["rows"].startswith("<list of 300000 items> [[0, 0, 0]"))
            v = a.get("/variables", timeout=120).json()
            self.assertEqual(v["x"], r["variables"]["x"])
            with open(f"/proc/{pid}/status") as f:
                peak_kb = int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))
            # The value itself, plus the list, plus the interpreter: not two or three copies of
            # the text as JSON (which peaked at three times the value).
            self.assertLess(peak_kb * 1024, size * 1.5 + 150 * 2 ** 20, f"peak {peak_kb} KiB")


class ShellInput(unittest.TestCase):
    def test_a_nul_in_a_command_is_refused_not_cut(self):
        with Agent() as a:
            r = a.post("/shell", {"command": "echo a\u0000; touch cut-here"})
            self.assertEqual(r.status, 400, r)
            self.assertIn("NUL", r.json()["message"])
            self.assertFalse(os.path.exists(os.path.join(a.data_dir, "workspace", "cut-here")))


class ServiceConfig(unittest.TestCase):
    def test_bad_values_are_refused_and_change_nothing(self):
        with Agent("--no-rate-limit") as a:
            self.assertEqual(a.post("/services/config", {
                "service_name": "deluge", "config": {"max_download_speed": 100}}).status, 200)
            path = os.path.join(a.data_dir, "services_config.json")
            with open(path, "rb") as f:
                before = f.read()
            bad = [
                {"download_path": "/data/x\ny"}, {"download_path": "/data/\u0000"},
                {"host": "local\r\nhost"}, {"password": "a\u0000b"},
                {"download_path": "/data/../etc"}, {"config_dir": "/srv/../../tmp"},
                {"config_dir": "/"}, {"download_path": "/" + "a" * (1 << 20)},
                {"listen_interface": "not an ip"}, {"max_download_speed": 1e308},
                {"max_upload_speed": 2 ** 63}, {"port": 2 ** 64 - 1},
                {"webhooks": ["http://127.0.0.1:9/h"] * 10000},
                {"webhooks": ["javascript:alert(1)"]}, {"username": "u" * 100000},
            ]
            for change in bad:
                with self.subTest(change=str(change)[:60]):
                    r = a.post("/services/config", {"service_name": "deluge", "config": change})
                    self.assertEqual(r.status, 400, r)
                    key = next(iter(change))
                    self.assertIn(f"'{key}'", r.json()["error"])
                    with open(path, "rb") as f:
                        self.assertEqual(f.read(), before)


class StoredServiceConfig(unittest.TestCase):
    def test_bad_values_in_the_file_are_not_taken(self):
        data = tempfile.mkdtemp(prefix="moccha-stored-")
        with open(os.path.join(data, "services_config.json"), "w") as f:
            json.dump({"services": {"deluge": {"port": 0, "download_path": "relative/dir",
                                               "max_upload_speed": 77,
                                               "host": "bad\nhost"}}}, f)
        self.addCleanup(shutil.rmtree, data, True)
        with Agent(data_dir=data) as a:
            cfg = a.get("/services/config/deluge").json()["config"]
            self.assertEqual(cfg["max_upload_speed"], 77)  # a good value is kept
            self.assertEqual(cfg["port"], 58846)            # bad ones fall back to defaults
            self.assertTrue(cfg["download_path"].startswith("/"))
            self.assertEqual(cfg["host"], "localhost")
            self.assertIn("'port' must be", a.log())


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
