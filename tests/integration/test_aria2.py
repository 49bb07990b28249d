"""The aria2 service end to end: the real Debian aria2c, managed by the agent, downloading from
the tests' own loopback HTTP server (fileserver.py: Range, throttle, request log)."""
import hashlib
import hmac
import http.server
import json
import os
import signal
import stat
import subprocess
import threading
import time
import unittest

from agent import BIN, Agent, Events, run_cli, wait_for
from fileserver import FileServer
from test_services import free_port, pid_alive


def sha(data):
    return hashlib.sha256(data).hexdigest()


def file_sha(path):
    with open(path, "rb") as f:
        return sha(f.read())


class Hooks:
    """A loopback receiver of webhook POSTs."""

    def __init__(self):
        self.posts = []
        hooks = self

        class Receiver(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hooks.posts.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass
        self.server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def start_aria2(agent, **config):
    cfg = {"port": free_port()}
    cfg.update(config)
    r = agent.post("/services/config", body={"service_name": "aria2", "config": cfg})
    assert r.status == 200, r
    r = agent.post("/services/aria2/start", timeout=60)
    assert r.status == 200, r
    return r.json()["result"]["pid"]


class Aria2(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.files = FileServer()
        cls.hooks = Hooks()
        cls.agent = Agent("--no-rate-limit")
        cls.dl = os.path.join(cls.agent.tmp, "direct")
        cls.pid = start_aria2(cls.agent, download_path=cls.dl, webhooks=[cls.hooks.url],
                              webhook_secret="hook-secret", rpc_secret="rpc-secret-123")

    @classmethod
    def tearDownClass(cls):
        cls.agent.post("/services/aria2/stop", timeout=60)
        cls.agent.stop()
        cls.files.stop()
        cls.hooks.stop()

    def serve(self, name, size, rate=None):
        data = os.urandom(size)
        self.files.files["/" + name] = data
        if rate:
            self.files.throttle["/" + name] = rate
        return self.files.url("/" + name), data

    def add(self, body, status=200):
        r = self.agent.post("/services/aria2/downloads", body=body)
        self.assertEqual(r.status, status, r)
        return r.json().get("download_id")

    def details(self, gid):
        r = self.agent.get(f"/services/aria2/downloads/{gid}")
        self.assertEqual(r.status, 200, r)
        return r.json()["download"]

    def wait_state(self, gid, state, timeout=30):
        return wait_for(lambda: (d := self.details(gid))["state"] == state and d,
                        timeout=timeout, step=0.1)

    def test_add_with_dir_out_headers_checksum(self):
        url, data = self.serve("named.bin", 3 << 20)
        target = os.path.join(self.agent.tmp, "elsewhere")
        gid = self.add({"url": url, "dir": target, "out": "renamed.bin",
                        "headers": ["X-Moccha-Test: yes", "Cookie: a=b"],
                        "checksum": "sha-256=" + sha(data)})
        self.assertRegex(gid, r"^[0-9a-f]{16}$")
        d = self.wait_state(gid, "complete")
        self.assertEqual(d["path"], os.path.join(target, "renamed.bin"))
        self.assertEqual(d["name"], "renamed.bin")
        self.assertEqual(d["progress"], 100)
        self.assertEqual(d["total_length"], len(data))
        self.assertIsNone(d["error"])
        self.assertEqual(file_sha(d["path"]), sha(data))
        seen = self.files.headers_of("/named.bin")
        self.assertTrue(seen and all(h.get("X-Moccha-Test") == "yes" for h in seen), seen)
        self.assertEqual(d["uris"], [{"uri": url, "status": "used"}])
        self.assertEqual(d["files"][0]["length"], len(data))

    def test_segmented_download_is_byte_identical(self):
        url, data = self.serve("split.bin", 16 << 20)
        gid = self.add({"url": url, "connections": 4})
        d = self.wait_state(gid, "complete")
        self.assertEqual(file_sha(d["path"]), sha(data))
        self.assertGreaterEqual(len(self.files.ranges("/split.bin")), 2,
                                self.files.requests[-10:])
        listed = self.agent.get("/services/aria2/downloads?state=complete").json()
        mine = [x for x in listed["downloads"] if x["id"] == gid]
        self.assertEqual(len(mine), 1)
        for key in ("total_length", "completed_length", "download_rate", "connections"):
            self.assertIsInstance(mine[0][key], int, key)
        self.assertEqual(listed["count"], len(listed["downloads"]))

    def test_pause_and_resume_a_throttled_download(self):
        url, data = self.serve("slow.bin", 2 << 20, rate=400 << 10)
        gid = self.add({"url": url, "connections": 1})
        wait_for(lambda: self.details(gid)["completed_length"] > 0, timeout=20)
        r = self.agent.post(f"/services/aria2/downloads/{gid}/pause")
        self.assertEqual(r.status, 200, r)
        paused = self.wait_state(gid, "paused", timeout=10)
        time.sleep(1)
        later = self.details(gid)
        self.assertEqual(later["state"], "paused")
        self.assertEqual(later["completed_length"], paused["completed_length"])
        self.assertLess(later["completed_length"], len(data))
        # Pausing twice is not an error.
        self.assertEqual(self.agent.post(f"/services/aria2/downloads/{gid}/pause").status, 200)
        self.files.throttle.pop("/slow.bin")
        self.assertEqual(self.agent.post(f"/services/aria2/downloads/{gid}/resume").status, 200)
        d = self.wait_state(gid, "complete")
        self.assertEqual(file_sha(d["path"]), sha(data))

    def test_speed_limit_applies_live(self):
        url, data = self.serve("limited.bin", 24 << 20, rate=2 << 20)
        gid = self.add({"url": url, "connections": 1})

        def rate_over(seconds):
            a = self.details(gid)["completed_length"]
            time.sleep(seconds)
            return (self.details(gid)["completed_length"] - a) / seconds
        wait_for(lambda: self.details(gid)["completed_length"] > 0, timeout=20)
        before = rate_over(1.5)
        r = self.agent.post("/services/config", body={"service_name": "aria2",
                                                      "config": {"max_download_speed": 200}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["restart_required"], [])
        time.sleep(1)
        after = rate_over(2)
        self.agent.post("/services/config", body={"service_name": "aria2",
                                                  "config": {"max_download_speed": 0}})
        self.assertGreater(before, 1 << 20, before)
        self.assertLess(after, 400 << 10, (before, after))
        self.agent.post(f"/services/aria2/downloads/{gid}/remove", body={"remove_data": True})

    def test_checksum_mismatch_and_404_fail_with_the_reason(self):
        url, data = self.serve("corrupt.bin", 1 << 20)
        gid = self.add({"url": url, "checksum": "sha-256=" + "0" * 64})
        d = self.wait_state(gid, "error")
        self.assertEqual(d["error"]["code"], 32)
        self.assertIn("checksum", d["error"]["message"])
        missing = self.add({"url": self.files.url("/nothing-here.bin")})
        d = self.wait_state(missing, "error")
        self.assertEqual(d["error"]["code"], 3)
        self.assertIn("not found", d["error"]["message"].lower())
        q = self.agent.get("/downloads?service=aria2&state=failed").json()
        ids = {x["id"] for x in q["downloads"]}
        self.assertIn("aria2:" + gid, ids)
        self.assertIn("aria2:" + missing, ids)
        item = next(x for x in q["downloads"] if x["id"] == "aria2:" + gid)
        self.assertEqual(item["error"]["code"], "aria2.32")
        self.assertEqual(item["detail"], "error")
        self.assertEqual(item["actions"], [])

    def test_remove_with_and_without_data(self):
        url, data = self.serve("keep.bin", 1 << 20)
        keep = self.add({"url": url})
        kept = self.wait_state(keep, "complete")["path"]
        r = self.agent.post(f"/services/aria2/downloads/{keep}/remove", body={})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(os.path.exists(kept))
        self.assertEqual(self.agent.get(f"/services/aria2/downloads/{keep}").status, 404)
        # Mid-download with its data: the partial file and aria2's control file go too.
        url, data = self.serve("drop.bin", 4 << 20, rate=300 << 10)
        drop = self.add({"url": url, "connections": 1})
        wait_for(lambda: self.details(drop)["completed_length"] > 0, timeout=20)
        path = self.details(drop)["path"]
        self.assertTrue(os.path.exists(path))
        r = self.agent.post(f"/services/aria2/downloads/{drop}/remove", body={"remove_data": True})
        self.assertEqual(r.status, 200, r)
        self.assertFalse(os.path.exists(path))
        self.assertFalse(os.path.exists(path + ".aria2"))
        self.assertEqual(self.agent.get(f"/services/aria2/downloads/{drop}").status, 404)
        self.assertEqual(self.agent.post(f"/services/aria2/downloads/{drop}/remove",
                                         body={}).status, 404)

    def test_kill_9_mid_download_resumes_the_same_id(self):
        url, data = self.serve("survivor.bin", 6 << 20, rate=1 << 20)
        gid = self.add({"url": url, "connections": 2})
        wait_for(lambda: self.details(gid)["completed_length"] > (1 << 20), timeout=30)
        time.sleep(1.2)  # the session is saved every second
        st = self.agent.get("/services/aria2/status").json()
        pid, restarts = st["pid"], st["restarts"]
        requests_before = len(self.files.ranges("/survivor.bin"))
        os.kill(pid, signal.SIGKILL)
        back = wait_for(lambda: (s := self.agent.get("/services/aria2/status").json())["running"]
                        and s["pid"] != pid and s, timeout=30, step=0.2)
        self.assertEqual(back["restarts"], restarts + 1)
        self.assertIn("signal 9", back["last_exit"])
        self.assertFalse(pid_alive(pid))
        self.files.throttle.pop("/survivor.bin")
        d = self.wait_state(gid, "complete", timeout=30)
        self.assertEqual(file_sha(d["path"]), sha(data))
        # Resumed from its offsets, not fetched again from byte 0.
        resumed = self.files.ranges("/survivor.bin")[requests_before:]
        self.assertTrue(resumed and all(not r.startswith("bytes=0-") for r in resumed), resumed)

    def test_webhook_for_a_finished_download_is_signed(self):
        url, data = self.serve("hooked.bin", 512 << 10)
        gid = self.add({"url": url})
        self.wait_state(gid, "complete")
        posts = wait_for(lambda: [p for p in self.hooks.posts
                                  if json.loads(p[1]).get("id") == "aria2:" + gid], timeout=15)
        headers, body = posts[0]
        payload = json.loads(body)
        self.assertEqual(payload["event"], "download_finished")
        self.assertEqual(payload["service"], "aria2")
        self.assertEqual(payload["name"], "hooked.bin")
        self.assertEqual(payload["size"], len(data))
        self.assertEqual(payload["path"], os.path.join(self.dl, "hooked.bin"))
        expected = hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
        self.assertEqual(headers["X-Moccha-Signature"], "sha256=" + expected)
        self.assertEqual(headers["X-Moccha-Event"], "download_finished")
        time.sleep(0.5)
        self.assertEqual(len([p for p in self.hooks.posts
                              if json.loads(p[1]).get("id") == "aria2:" + gid]), 1)

    def test_events_deliver_finished_and_a_reconnect_misses_nothing(self):
        ev = Events(self.agent)
        self.assertEqual(ev.status, 200)
        self.assertTrue(ev.content_type.startswith("text/event-stream"))
        url, data = self.serve("evented.bin", 256 << 10)
        first = self.add({"url": url})
        wait_for(lambda: ev.of("download.finished", id="aria2:" + first), timeout=20)
        added = ev.of("download.added", id="aria2:" + first)
        self.assertEqual(len(added), 1)
        self.assertEqual(added[0]["service"], "aria2")
        fin = ev.of("download.finished", id="aria2:" + first)[0]
        self.assertEqual(fin["size"], len(data))
        seen = ev.last_id()
        ev.close()
        # Two more finish while nobody listens; a reconnect from the last id gets both, in order.
        missed = [self.add({"url": self.serve(f"missed{i}.bin", 128 << 10)[0]}) for i in range(2)]
        for gid in missed:
            self.wait_state(gid, "complete")
        again = Events(self.agent, last_event_id=seen)
        try:
            got = wait_for(lambda: all(again.of("download.finished", id="aria2:" + g)
                                       for g in missed) and again, timeout=10)
            ids = [i for i, _, _ in got.events if i is not None]
            self.assertEqual(ids, sorted(ids))
            self.assertGreater(ids[0], seen)
            self.assertFalse(got.of("reset"))
        finally:
            again.close()
        # An id from before this agent's first event: too old, so a reset.
        stale = Events(self.agent, last_event_id=1)
        try:
            wait_for(lambda: stale.events, timeout=10)
            self.assertEqual(stale.events[0][1], "reset")
        finally:
            stale.close()
        bad = self.agent.get("/events", headers={"Last-Event-ID": "x"})
        self.assertEqual(bad.status, 400)

    def test_bad_requests_are_clear_400s_and_unknown_ids_404(self):
        url, _ = self.serve("unused.bin", 1024)
        cases = [
            {},
            {"url": "magnet:?xt=urn:btih:" + "a" * 40},
            {"url": "file:///etc/passwd"},
            {"url": 5},
            {"url": url, "urls": [url]},
            {"urls": []},
            {"url": url, "out": "../escape"},
            {"url": url, "out": "a/b"},
            {"url": url, "dir": "relative/dir"},
            {"url": url, "headers": ["no colon"]},
            {"url": url, "headers": ["X-A: b\r\nX-Injected: c"]},
            {"url": url, "checksum": "sha-256=abc"},
            {"url": url, "checksum": "crc32=00000000"},
            {"url": url, "connections": 0},
            {"url": url, "connections": 17},
            {"url": url, "paused": "yes"},
        ]
        for body in cases:
            r = self.agent.post("/services/aria2/downloads", body=body)
            self.assertEqual(r.status, 400, (body, r))
            self.assertFalse(r.json()["success"])
            self.assertTrue(r.json()["error"])
        for path in ("/services/aria2/downloads/0123456789abcdef",
                     "/services/aria2/downloads/not-a-gid"):
            self.assertEqual(self.agent.get(path).status, 404, path)
        for action in ("pause", "resume", "remove"):
            r = self.agent.post(f"/services/aria2/downloads/0123456789abcdef/{action}", body={})
            self.assertEqual(r.status, 404, (action, r))
        self.assertEqual(self.agent.get("/services/aria2/downloads?state=done").status, 400)
        st = self.agent.get("/services/aria2/stats").json()
        for key in ("download_rate", "upload_rate", "num_active", "num_waiting", "num_stopped"):
            self.assertIsInstance(st[key], int, key)

    def test_cli(self):
        env = {"MOCCHA_URL": self.agent.url, "MOCCHA_API_KEY": self.agent.key}
        url, data = self.serve("cli.bin", 256 << 10)
        out = run_cli("aria2-add", url, "--out", "cli-named.bin", env=env)
        self.assertEqual(out.returncode, 0, out.stderr)
        gid = out.stdout.strip()
        self.assertRegex(gid, r"^[0-9a-f]{16}$")
        d = self.wait_state(gid, "complete")
        self.assertEqual(os.path.basename(d["path"]), "cli-named.bin")
        out = run_cli("aria2-list", env=env)
        self.assertIn(gid, out.stdout)
        self.assertIn("cli-named.bin", out.stdout)
        self.assertIn("complete", out.stdout)
        listed = json.loads(run_cli("aria2-list", "--json", env=env).stdout)
        self.assertIn(gid, [x["id"] for x in listed["downloads"]])
        out = run_cli("aria2-pause", gid, env=env)
        self.assertNotEqual(out.returncode, 0)  # finished: nothing to pause
        self.assertIn("nothing to pause", out.stderr)
        # get: several links, each routed, a bad one reported without stopping the rest.
        url2, _ = self.serve("cli-get.bin", 128 << 10)
        out = run_cli("get", url2, "gopher://nowhere/x", env=env)
        self.assertEqual(out.returncode, 1)
        self.assertRegex(out.stdout, r"cli-get\.bin -> aria2 \(aria2:[0-9a-f]{16}\)")
        self.assertIn("gopher://nowhere/x", out.stderr)
        got = out.stdout.split("(")[1].rstrip(")\n")
        wait_for(lambda: any(x["id"] == got and x["state"] == "completed"
                             for x in self.agent.get("/downloads").json()["downloads"]),
                 timeout=20)
        out = run_cli("downloads", env=env)
        self.assertIn("cli-get.bin", out.stdout)
        self.assertIn("completed", out.stdout)
        self.assertIn("aria2", out.stdout)
        self.assertIn(got, [x["id"] for x in json.loads(
            run_cli("downloads", "--json", env=env).stdout)["downloads"]])
        # events: one line per event as it happens.
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("MOCCHA_")}
        full_env.update(env)
        proc = subprocess.Popen([os.path.abspath(BIN), "events", "--json"], env=full_env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(0.5)
            url3, _ = self.serve("cli-events.bin", 64 << 10)
            gid3 = self.add({"url": url3})
            lines = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                lines.append(json.loads(line))
                if any(e["type"] == "download.finished" and e["id"] == "aria2:" + gid3
                       for e in lines):
                    break
            self.assertTrue(any(e["type"] == "download.added" and e["id"] == "aria2:" + gid3
                                for e in lines), lines)
            self.assertTrue(any(e["type"] == "download.finished" for e in lines), lines)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            proc.stdout.close()
            proc.stderr.close()
        out = run_cli("aria2-remove", "--data", gid, env=env)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertFalse(os.path.exists(d["path"]))

    def test_secrets_are_write_only(self):
        shown = self.agent.get("/services/config/aria2").json()["config"]
        self.assertEqual(shown["rpc_secret"], "********")
        self.assertEqual(shown["webhook_secret"], "********")
        self.assertEqual(
            self.agent.get("/services/config").json()["config"]["aria2"]["rpc_secret"],
            "********")
        r = self.agent.post("/services/config", body={"service_name": "aria2",
                                                      "config": {"rpc_secret": "********"}})
        self.assertEqual(r.status, 200, r)
        path = os.path.join(self.agent.data_dir, "services_config.json")
        with open(path) as f:
            stored = json.load(f)["services"]["aria2"]
        self.assertEqual(stored["rpc_secret"], "rpc-secret-123")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        conf = os.path.join(self.agent.data_dir, "aria2", "aria2.conf")
        self.assertEqual(stat.S_IMODE(os.stat(conf).st_mode), 0o600)
        with open(f"/proc/{self.agent.get('/services/aria2/status').json()['pid']}/cmdline") as f:
            self.assertNotIn("rpc-secret-123", f.read())
        self.assertNotIn("rpc-secret-123", self.agent.log())
        self.assertNotIn("hook-secret", self.agent.log())


class Aria2Lifecycle(unittest.TestCase):
    def test_listed_after_the_spec_services_and_503_when_stopped(self):
        with Agent() as a:
            names = list(a.get("/services").json()["services"])
            self.assertEqual(names[:4], ["deluge", "jdownloader", "mega", "aria2"])
            st = a.get("/services/aria2/status").json()
            self.assertFalse(st["running"])
            for key in ("pid", "restarts", "last_exit", "last_error"):
                self.assertIn(key, st)
            for method, path in (("GET", "/services/aria2/downloads"),
                                 ("GET", "/services/aria2/stats"),
                                 ("GET", "/services/aria2/downloads/0123456789abcdef"),
                                 ("POST", "/services/aria2/downloads/zzz/pause")):
                r = a.request(method, path, body={} if method == "POST" else None)
                self.assertEqual(r.status, 503, (path, r))
                self.assertIn("start", r.json()["error"])
            # Through the queue: the engine the link needs is named, and how to start it.
            for url, name in (("http://127.0.0.1:9/x.bin", "aria2"),
                              ("magnet:?xt=urn:btih:" + "c" * 40, "deluge")):
                r = a.post("/downloads", body={"url": url})
                self.assertEqual(r.status, 503, r)
                self.assertIn(f"/services/{name}/start", r.json()["error"])
            self.assertEqual(a.get("/downloads").json(),
                             {"success": True, "downloads": [], "count": 0})

    def test_agent_restart_keeps_the_finished_list(self):
        files = FileServer()
        try:
            data = os.urandom(300 << 10)
            files.files["/kept.bin"] = data
            first = Agent(keep_data=True)
            try:
                start_aria2(first)
                gid = first.post("/services/aria2/downloads",
                                 body={"url": files.url("/kept.bin")}).json()["download_id"]
                wait_for(lambda: first.get(f"/services/aria2/downloads/{gid}").json()
                         ["download"]["state"] == "complete", timeout=30)
                bad = first.post("/services/aria2/downloads",
                                 body={"url": files.url("/gone.bin")}).json()["download_id"]
                wait_for(lambda: first.get(f"/services/aria2/downloads/{bad}").json()
                         ["download"]["state"] == "error", timeout=30)
            finally:
                first.stop()
            second = Agent(data_dir=first.data_dir)
            try:
                # autostart brings aria2 back; aria2 itself remembers nothing finished.
                wait_for(lambda: second.get("/services/aria2/status").json()["running"],
                         timeout=30)
                d = second.get(f"/services/aria2/downloads/{gid}").json()["download"]
                self.assertEqual(d["state"], "complete")
                self.assertEqual(d["total_length"], len(data))
                self.assertEqual(file_sha(d["path"]), sha(data))
                e = second.get(f"/services/aria2/downloads/{bad}").json()["download"]
                self.assertEqual(e["state"], "error")
                self.assertEqual(e["error"]["code"], 3)
                q = second.get("/downloads?service=aria2").json()
                self.assertEqual({x["id"] for x in q["downloads"]},
                                 {"aria2:" + gid, "aria2:" + bad})
                self.assertTrue(all(x["created"] for x in q["downloads"]))
                r = second.post(f"/services/aria2/downloads/{gid}/remove", body={})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(second.get(f"/services/aria2/downloads/{gid}").status, 404)
                second.post("/services/aria2/stop", timeout=60)
                # A stopped engine's items stay listed, with nothing to be done to them.
                q = second.get("/downloads").json()
                self.assertEqual([x["id"] for x in q["downloads"]], ["aria2:" + bad])
                self.assertEqual(q["downloads"][0]["actions"], [])
            finally:
                second.keep_data = False
                second.stop()
                first.keep_data = False
                first.stop()
        finally:
            files.stop()


if __name__ == "__main__":
    unittest.main()
