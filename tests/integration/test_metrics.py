"""GET /metrics: the text exposition format checked by Prometheus's own promtool, figures that
follow what the agent did, and a real Prometheus server scraping it on loopback."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

from agent import BIN, Agent, fake_nvidia_smi, stop_child, wait_for
from test_services import free_port

TOKEN = "scraper-token-5f1c2a"


def samples(text):
    """{(name, frozenset(labels)): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        assert m, line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


class Metrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        env = {"PATH": fake_nvidia_smi() + ":" + os.environ["PATH"], "MOCCHA_NO_NVML": "1"}
        cls.agent = Agent("--set", f"metrics.token={TOKEN}", "--set", "rate_limit.system=1000",
                          env=env)

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()

    def scrape(self, **kw):
        r = self.agent.get("/metrics", **kw)
        self.assertEqual(r.status, 200, r)
        return r

    def test_promtool_accepts_the_exposition(self):
        r = self.scrape()
        self.assertEqual(r.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        check = subprocess.run(["promtool", "check", "metrics"], input=r.body,
                               capture_output=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual(check.stdout + check.stderr, b"")  # not even a lint warning

    def test_the_token_opens_metrics_only(self):
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        self.assertEqual(self.agent.get("/metrics", key=False, headers=bearer).status, 200)
        self.assertEqual(self.agent.get("/status", key=False, headers=bearer).status, 401)
        self.assertEqual(self.agent.get("/metrics", key=False).status, 401)
        self.assertEqual(self.agent.get("/metrics", key="wrong-token").status, 401)
        # The token is a secret: never shown back in the effective config.
        out = subprocess.run([BIN, "serve",
                              "--print-config", "--set", f"metrics.token={TOKEN}"],
                             capture_output=True, text=True, timeout=30)
        self.assertNotIn(TOKEN, out.stdout + out.stderr)

    def test_figures_follow_what_the_agent_did(self):
        before = samples(self.scrape().body.decode())
        key = ("moccha_http_requests_total",
               frozenset({("method", "GET"), ("route", "/status"), ("status", "200")}))
        for _ in range(5):
            self.agent.get("/status")
        self.agent.get("/status", key="wrong")
        self.agent.get("/no/such/route")
        self.assertEqual(self.agent.post("/execute", body={"code": "1"}).status, 200)
        after = samples(self.scrape().body.decode())
        self.assertEqual(after[key] - before.get(key, 0), 5)
        auth = ("moccha_http_refused_total", frozenset({("reason", "auth")}))
        self.assertEqual(after[auth] - before.get(auth, 0), 1)
        unmatched = ("moccha_http_requests_total",
                     frozenset({("method", "GET"), ("route", "unmatched"), ("status", "404")}))
        self.assertGreaterEqual(after[unmatched], 1)  # a raw path is never a label
        self.assertFalse(any("/no/such/route" in str(k) for k in after))
        executions = ("moccha_executions_total", frozenset())
        self.assertEqual(after[executions] - before[executions], 1)
        count = ("moccha_http_request_duration_seconds_count", frozenset({("route", "/status")}))
        self.assertEqual(after[count] - before.get(count, 0), 6)
        self.assertEqual(after[("moccha_kernel_up", frozenset())], 1)
        self.assertGreater(after[("moccha_process_resident_memory_bytes", frozenset())], 1 << 20)
        self.assertGreaterEqual(after[("moccha_http_connections_open", frozenset())], 1)
        self.assertEqual(after[("moccha_service_up", frozenset({("service", "deluge")}))], 0)
        mem = after[("moccha_system_memory_total_bytes", frozenset())]
        with open("/proc/meminfo") as f:
            total_kb = int(f.readline().split()[1])
        self.assertEqual(mem, total_kb * 1024)

    def test_gpus_from_nvidia_smi(self):
        def gpu_util():
            s = samples(self.scrape().body.decode())
            return s.get(("moccha_gpu_utilization_ratio",
                          frozenset({("gpu", "0"), ("name", "NVIDIA GeForce RTX 3080")})))
        self.assertEqual(wait_for(gpu_util, timeout=10), 0.45)
        s = samples(self.scrape().body.decode())
        self.assertEqual(s[("moccha_gpu_memory_total_bytes",
                            frozenset({("gpu", "1"), ("name", "Tesla T4")}))], 15360 * 2**20)
        # The T4 says [N/A] for utilisation: no sample rather than a made-up 0.
        self.assertNotIn(("moccha_gpu_utilization_ratio",
                          frozenset({("gpu", "1"), ("name", "Tesla T4")})), s)


class RealPrometheus(unittest.TestCase):
    def test_a_prometheus_server_scrapes_and_queries(self):
        prometheus = shutil.which("prometheus")
        self.assertIsNotNone(prometheus, "scripts/bootstrap installs Debian's prometheus")
        with Agent("--set", f"metrics.token={TOKEN}") as a:
            tmp = tempfile.mkdtemp(prefix="moccha-prom-")
            port = free_port()
            with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
                f.write(f"""\
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: moccha
    authorization:
      credentials: {TOKEN}
    static_configs:
      - targets: ["127.0.0.1:{a.port}"]
""")
            log = open(os.path.join(tmp, "prometheus.log"), "w")
            proc = subprocess.Popen(
                [prometheus, f"--config.file={tmp}/prometheus.yml",
                 f"--storage.tsdb.path={tmp}/data", f"--web.listen-address=127.0.0.1:{port}"],
                stdout=subprocess.DEVNULL, stderr=log)
            try:
                def query(q):
                    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode(
                        {"query": q})
                    try:
                        with urllib.request.urlopen(url, timeout=5) as r:
                            result = json.load(r)["data"]["result"]
                    except OSError:
                        return None
                    return result or None

                up = wait_for(lambda: query('up{job="moccha"} == 1'), timeout=60, step=0.5)
                self.assertEqual(up[0]["metric"]["instance"], f"127.0.0.1:{a.port}")
                kernel = wait_for(lambda: query("moccha_kernel_up"), timeout=30, step=0.5)
                self.assertEqual(kernel[0]["value"][1], "1")
                # Prometheus's own scrapes are requests the agent counted.
                scrapes = wait_for(lambda: query(
                    'moccha_http_requests_total{route="/metrics",status="200"} >= 2'),
                    timeout=30, step=0.5)
                self.assertGreaterEqual(float(scrapes[0]["value"][1]), 2)
            finally:
                stop_child(proc, timeout=15)
                log.close()
                shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
