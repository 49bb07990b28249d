"""The agent's foundation through its real binary: auth, errors, limits, rate limits,
/status, /services, connections, shutdown and the status CLI."""
import gzip
import json
import os
import signal
import socket
import stat
import tempfile
import textwrap
import time
import unittest

from agent import fake_nvidia_smi, Agent, run_cli

# Every route of the API, with its path parameters filled in.
ROUTES = [
    ("GET", "/status"), ("GET", "/services"), ("GET", "/services/status"),
    ("GET", "/services/deluge/status"), ("POST", "/services/deluge/start"),
    ("POST", "/services/deluge/stop"), ("POST", "/services/deluge/restart"),
    ("GET", "/services/config"), ("GET", "/services/config/deluge"),
    ("POST", "/services/config"), ("GET", "/services/deluge/torrents"),
    ("POST", "/services/deluge/torrents"), ("GET", "/services/deluge/torrents/abc"),
    ("POST", "/services/deluge/torrents/abc/pause"),
    ("POST", "/services/deluge/torrents/abc/resume"),
    ("POST", "/services/deluge/torrents/abc/remove"), ("GET", "/services/deluge/stats"),
    ("GET", "/services/deluge/peers/abc"), ("POST", "/execute"), ("POST", "/async-execute"),
    ("GET", "/task/abc"), ("GET", "/variables"), ("DELETE", "/variables/x"),
    ("GET", "/history"), ("POST", "/shell"), ("POST", "/install"), ("GET", "/files"),
    ("POST", "/upload"), ("GET", "/download/x.txt"), ("GET", "/download?path=x"),
    ("GET", "/tasks"), ("GET", "/task/abc/events"), ("DELETE", "/task/abc"),
    ("POST", "/kernel/restart"), ("POST", "/kernel/interrupt"), ("PUT", "/files/x.txt"),
    ("DELETE", "/files?path=x"), ("POST", "/files/mkdir"), ("POST", "/files/move"),
    ("HEAD", "/download/x.txt"),
]


class Unauthenticated(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Rate limits stay on: a failed authentication must be refused before any limit.
        cls.agent = Agent("--set", "rate_limit.auth_failures=1000")

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()

    def test_every_route_needs_the_key(self):
        for method, path in ROUTES:
            for key in (False, "wrong-key", self.agent.key + "x", self.agent.key[:-1]):
                with self.subTest(method=method, path=path, key=key):
                    r = self.agent.request(method, path, key=key)
                    self.assertEqual(r.status, 401, r)
                    if method == "HEAD":
                        continue
                    body = r.json()
                    self.assertIs(body["success"], False)
                    self.assertIn("API key", body["error"])

    def test_both_header_forms_are_accepted(self):
        r = self.agent.get("/status", key=False,
                           headers={"Authorization": f"Bearer {self.agent.key}"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.agent.get("/status").status, 200)

    def test_health_needs_no_key(self):
        r = self.agent.get("/health", key=False)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["status"], "ok")

    def test_key_never_logged(self):
        self.agent.get("/status")
        self.agent.get("/status", key="wrong-key")
        log = self.agent.log()
        self.assertIn('"GET /status" 200', log)
        self.assertIn('"GET /status" 401', log)
        self.assertNotIn(self.agent.key, log)


class LogRotation(unittest.TestCase):
    def test_log_is_kept_under_its_limit(self):
        with Agent("--no-rate-limit", "--set", "log_max_bytes=4000") as a:
            for i in range(100):
                self.assertEqual(a.get(f"/health?n={i}").status, 200)
            current, previous = a.log(), open(a.log_file + ".1").read()
            self.assertLessEqual(len(current), 4000 + 500)
            self.assertGreater(len(previous), 4000)
            self.assertIn('"GET /health" 200', current + previous)
            # Every line whole on both sides of the cut.
            lines = (previous + current).splitlines()
            self.assertTrue(all(l[:4].isdigit() for l in lines), lines[:3])


class Compression(unittest.TestCase):
    def test_large_replies_are_gzipped_for_clients_that_take_it(self):
        with Agent("--no-rate-limit") as a:
            code = "for i in range(200): globals()[f'variable_{i}'] = 'x' * 20"
            self.assertEqual(a.post("/execute", body={"code": code}).status, 200)
            plain = a.get("/variables")
            self.assertNotIn("Content-Encoding", plain.headers)
            self.assertEqual(plain.headers["Vary"], "Accept-Encoding")
            self.assertGreater(len(plain.body), 1024)
            packed = a.get("/variables", headers={"Accept-Encoding": "br, gzip"})
            self.assertEqual(packed.headers["Content-Encoding"], "gzip")
            self.assertEqual(int(packed.headers["Content-Length"]), len(packed.body))
            self.assertLess(len(packed.body), len(plain.body) / 3)
            self.assertEqual(gzip.decompress(packed.body), plain.body)
            refused = a.get("/variables", headers={"Accept-Encoding": "gzip;q=0"})
            self.assertNotIn("Content-Encoding", refused.headers)
            small = a.get("/health", headers={"Accept-Encoding": "gzip"})
            self.assertNotIn("Content-Encoding", small.headers)
            # The CLI asks for gzip and reads it.
            out = run_cli("vars", "--json", env={"MOCCHA_URL": a.url, "MOCCHA_API_KEY": a.key})
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(json.loads(out.stdout), json.loads(plain.body))


class Errors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent("--no-rate-limit", "--set", "limits.max_body_bytes=1000",
                          "--set", "limits.max_header_bytes=4096")

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()

    def assertError(self, r, status, text):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.headers["Content-Type"], "application/json")
        body = r.json()
        self.assertIs(body["success"], False)
        self.assertIn(text, body["error"])

    def test_unknown_route_404(self):
        self.assertError(self.agent.get("/no/such/route"), 404, "not found")
        self.assertError(self.agent.get("/services/deluge/status/extra"), 404, "not found")

    def test_wrong_method_405_with_allow(self):
        r = self.agent.request("DELETE", "/status")
        self.assertError(r, 405, "method not allowed")
        self.assertIn("GET", r.headers["Allow"])
        self.assertError(self.agent.request("PUT", "/services/config"), 405, "method")

    def test_body_over_limit_413_before_reading(self):
        self.assertError(self.agent.post("/execute", body="x" * 5000), 413, "too large")
        # A chunked body has no length up front: cut off when it passes the limit.
        s = self.agent.connect()
        s.sendall(b"POST /execute HTTP/1.1\r\nHost: x\r\nX-API-Key: " +
                  self.agent.key.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  b"800\r\n" + b"y" * 0x800 + b"\r\n0\r\n\r\n")
        reply = s.recv(65536).decode()
        s.close()
        self.assertTrue(reply.startswith("HTTP/1.1 413"), reply)

    def test_malformed_json_400(self):
        for bad in ('{"code": ', "[1,", "nul", '{"a":1}}', "\xff"):
            with self.subTest(body=bad):
                r = self.agent.post("/execute", body=bad.encode("latin-1"),
                                    headers={"Content-Type": "application/json"})
                self.assertError(r, 400, "malformed JSON")

    def test_a_service_started_without_its_account_is_400(self):
        r = self.agent.post("/services/mega/start")
        self.assertError(r, 400, "set the account first")

    def test_header_too_large(self):
        r = self.agent.get("/status", headers={"X-Big": "a" * 8000})
        self.assertError(r, 431, "header too large")

    def test_garbage_is_400_and_the_agent_lives(self):
        s = self.agent.connect()
        s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        reply = s.recv(65536).decode()
        s.close()
        self.assertTrue(reply.startswith("HTTP/1.1 400"), reply)
        self.assertEqual(self.agent.get("/status").status, 200)

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.agent.port, timeout=10)
        for _ in range(20):
            conn.request("GET", "/services", headers={"X-API-Key": self.agent.key})
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
        conn.close()

    def test_head(self):
        r = self.agent.request("HEAD", "/services")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")
        self.assertGreater(int(r.headers["Content-Length"]), 0)


class RateLimits(unittest.TestCase):
    def test_429_after_the_group_limit_with_headers(self):
        with Agent("--set", "rate_limit.system=5", "--set", "rate_limit.services=3") as a:
            seen = [a.get("/status") for _ in range(5)]
            self.assertTrue(all(r.status == 200 for r in seen))
            self.assertEqual([r.headers["X-RateLimit-Remaining"] for r in seen],
                             ["4", "3", "2", "1", "0"])
            r = a.get("/status")
            self.assertEqual(r.status, 429, r)
            self.assertIs(r.json()["success"], False)
            self.assertGreaterEqual(int(r.headers["Retry-After"]), 1)
            self.assertLessEqual(int(r.headers["Retry-After"]), 60)
            self.assertEqual(r.headers["X-RateLimit-Limit"], "5")
            self.assertEqual(r.headers["X-RateLimit-Remaining"], "0")
            # Other groups have their own budget.
            for _ in range(3):
                self.assertEqual(a.get("/services").status, 200)
            self.assertEqual(a.get("/services").status, 429)
            self.assertEqual(a.get("/services/deluge/stats").headers["X-RateLimit-Limit"], "30")

    def test_defaults_from_the_spec(self):
        with Agent() as a:
            self.assertEqual(a.get("/status").headers["X-RateLimit-Limit"], "100")
            self.assertEqual(a.get("/services").headers["X-RateLimit-Limit"], "60")
            self.assertEqual(a.get("/services/deluge/torrents").headers["X-RateLimit-Limit"],
                             "30")

    def test_switched_off(self):
        with Agent("--set", "rate_limit.system=2", "--no-rate-limit") as a:
            self.assertTrue(all(a.get("/status").status == 200 for _ in range(10)))
        with Agent("--set", "rate_limit.system=2", env={"MOCCHA_RATE_LIMIT": "off"}) as a:
            self.assertTrue(all(a.get("/status").status == 200 for _ in range(10)))

    def test_wrong_keys_are_not_refused_by_the_rate_limit(self):
        # Wrong keys are slowed down (test_hardening_http), never answered 429, and the right key
        # gets in whatever came before it.
        with Agent("--no-rate-limit", "--set", "rate_limit.auth_failures=5") as a:
            for _ in range(7):
                self.assertEqual(a.get("/status", key="guess").status, 401)
            self.assertEqual(a.get("/status").status, 200)


class Status(unittest.TestCase):
    def test_real_figures(self):
        with Agent("--set", "cpu_sample_interval_s=0.2") as a:
            time.sleep(0.5)
            s = a.get("/status").json()
            for key in ("uptime", "cpu_pct", "cpu_count", "ram_total_gb", "ram_used_gb",
                        "ram_pct", "disk_total_gb", "disk_free_gb", "gpu", "executions",
                        "variables"):
                self.assertIn(key, s)
            self.assertRegex(s["uptime"], r"^0:00:0\d(\.\d{6})?$")
            self.assertEqual(s["cpu_count"], os.cpu_count())
            self.assertTrue(0 <= s["cpu_pct"] <= 100)
            with open("/proc/meminfo") as f:
                total_kb = int(f.readline().split()[1])
            self.assertAlmostEqual(s["ram_total_gb"], total_kb / 2**20, delta=0.01)
            self.assertTrue(0 < s["ram_used_gb"] < s["ram_total_gb"])
            st = os.statvfs(a.data_dir)
            self.assertAlmostEqual(s["disk_total_gb"], st.f_blocks * st.f_frsize / 2**30,
                                   delta=0.01)
            self.assertIsNone(s["gpu"])  # no GPU on this machine
            self.assertEqual(s["gpus"], [])

    def test_gpu_from_nvidia_smi(self):
        fake = fake_nvidia_smi()
        env = {"PATH": fake + ":" + os.environ["PATH"], "MOCCHA_NO_NVML": "1"}
        with Agent(env=env) as a:
            deadline = time.monotonic() + 10
            s = a.get("/status").json()
            while s["gpu"] is None and time.monotonic() < deadline:
                time.sleep(0.1)
                s = a.get("/status").json()
            self.assertEqual(s["gpu"], {"index": 0, "name": "NVIDIA GeForce RTX 3080",
                                        "mem_used_mb": 2048, "mem_total_mb": 10240,
                                        "util_pct": 45})
            self.assertEqual(len(s["gpus"]), 2)
            self.assertIsNone(s["gpus"][1]["util_pct"])
            out = run_cli("--url", a.url, "--api-key", a.key, "status")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("RTX 3080: 2048 of 10240 MiB, 45% busy", out.stdout)

    def test_services_list(self):
        with Agent() as a:
            r = a.get("/services")
            self.assertEqual(r.json(), {"success": True, "count": 5,
                                        "services": ["deluge", "jdownloader", "mega", "aria2",
                                                     "tunnel"]})


class Connections(unittest.TestCase):
    def test_500_idle_connections_do_not_hold_up_status(self):
        with Agent("--no-rate-limit") as a:
            idle = [a.connect() for _ in range(500)]
            # Half of them sent half a request header and stalled.
            for s in idle[:250]:
                s.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n")
            t0 = time.monotonic()
            for _ in range(20):
                self.assertEqual(a.get("/status", timeout=5).status, 200)
            elapsed = time.monotonic() - t0
            self.assertLess(elapsed, 5)
            for s in idle:
                s.close()

    def test_slow_header_is_cut_off(self):
        with Agent("--set", "limits.header_timeout_s=1") as a:
            s = a.connect()
            s.sendall(b"GET /status HTTP/1.1\r\n")
            s.settimeout(20)
            t0 = time.monotonic()
            self.assertEqual(s.recv(100), b"")  # closed by the agent
            # Cut at the 1 s header deadline, far before the 60 s idle timeout (loose bound:
            # CI runs this beside other suites, under ASan).
            self.assertLess(time.monotonic() - t0, 10)
            s.close()

    def test_connection_cap_answers_503(self):
        with Agent("--set", "limits.max_connections=3") as a:
            held = [a.connect() for _ in range(3)]
            time.sleep(0.2)
            s = a.connect()
            s.settimeout(5)
            reply = s.recv(1000).decode()
            self.assertTrue(reply.startswith("HTTP/1.1 503"), reply)
            for h in held + [s]:
                h.close()


class Lifecycle(unittest.TestCase):
    def test_generated_key_is_private_and_printed_once(self):
        with Agent(api_key=None, keep_data=True) as a:
            path = os.path.join(a.data_dir, "api_key")
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            self.assertEqual(len(a.key), 64)
            int(a.key, 16)
            self.assertIn(a.key, "".join(a.banner))
            self.assertEqual(a.get("/status").status, 200)
            self.assertNotIn(a.key, a.log())
            data_dir = a.data_dir
        with Agent(api_key=None, data_dir=data_dir) as b:
            self.assertEqual(b.key, a.key)  # the same key on the next start
            self.assertNotIn(a.key, "".join(b.banner))

    def test_sigterm_and_sigint_exit_0_with_idle_clients(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            a = Agent()
            held = [a.connect() for _ in range(10)]
            a.signal(sig)
            self.assertEqual(a.wait(timeout=10), 0)
            self.assertIn("stopped", a.log())
            for h in held:
                h.close()
            a.stop()

    def test_bad_config_is_refused_with_the_key_named(self):
        tmp = tempfile.mkdtemp()
        cfg = os.path.join(tmp, "c.json")
        with open(cfg, "w") as f:
            f.write('{"limits": {"max_conections": 5}}')
        out = run_cli("serve", "--config", cfg, "--data-dir", tmp, "--port", "0")
        self.assertEqual(out.returncode, 2)
        self.assertIn("limits.max_conections", out.stderr)

    def test_config_file_nested_keys_apply(self):
        tmp = tempfile.mkdtemp()
        cfg = os.path.join(tmp, "c.json")
        with open(cfg, "w") as f:
            f.write('{"rate_limit": {"system": 2}}')
        with Agent("--config", cfg) as a:
            self.assertEqual(a.get("/status").headers["X-RateLimit-Limit"], "2")


class Cli(unittest.TestCase):
    def test_status_and_services(self):
        with Agent() as a:
            out = run_cli("status", env={"MOCCHA_URL": a.url, "MOCCHA_API_KEY": a.key})
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("cores", out.stdout)
            self.assertIn("gpu         none", out.stdout)
            out = run_cli("--url", a.url, "--api-key", a.key, "status", "--json")
            self.assertEqual(out.returncode, 0)
            self.assertIn('"cpu_count"', out.stdout)
            out = run_cli("--url", a.url, "--api-key", a.key, "services")
            self.assertEqual(out.stdout.split(), ["deluge", "jdownloader", "mega", "aria2",
                                              "tunnel"])

    def test_client_json(self):
        with Agent() as a:
            home = tempfile.mkdtemp()
            os.makedirs(os.path.join(home, ".moccha"))
            with open(os.path.join(home, ".moccha", "client.json"), "w") as f:
                f.write(f'{{"url": "{a.url}", "api_key": "{a.key}"}}')
            out = run_cli("services", env={"HOME": home})
            self.assertEqual(out.returncode, 0, out.stderr)

    def test_wrong_key_and_unreachable(self):
        with Agent() as a:
            out = run_cli("--url", a.url, "--api-key", "nope", "status")
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("401", out.stderr)
            self.assertIn("invalid API key", out.stderr)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        out = run_cli("--url", f"http://127.0.0.1:{port}", "--api-key", "k", "status")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("cannot reach the agent", out.stderr)


if __name__ == "__main__":
    unittest.main()
