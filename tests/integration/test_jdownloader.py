"""The JDownloader service's daemon and client: Moccha's real launcher, cfg writer, readiness
check and stop path, run against the tests' JDownloader (tests/fake-jd, built by CMake as
JDownloader.jar): JD itself is packaged nowhere and its jar downloads the application on first
start, so it cannot run here. The stand-in reads JD's cfg files with JD's keys and defaults,
asks for a My.JDownloader login on the console when JD would, and speaks the local API's
envelope."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from agent import Agent, Events, wait_for
from fileserver import FileServer
from test_services import free_port, pid_alive

FAKE_JD = os.environ.get("MOCCHA_FAKE_JD") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "tests", "fake-jd", "JDownloader.jar")


def read_cfg(jd_dir, name):
    with open(os.path.join(jd_dir, "cfg", name + ".json")) as f:
        return json.load(f)


def api(port, method, params=(), headers=None):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"apiVer": 1, "url": "/" + method, "params": list(params), "rid": 1})
    conn.request("POST", "/" + method, body=body, headers=headers or {})
    r = conn.getresponse()
    out = r.status, json.loads(r.read() or b"null")
    conn.close()
    return out


class Managed(unittest.TestCase):
    def setUp(self):
        self.agent = Agent("--no-rate-limit")
        self.jd_dir = os.path.join(self.agent.tmp, "jd")
        os.makedirs(self.jd_dir)
        shutil.copy(FAKE_JD, os.path.join(self.jd_dir, "JDownloader.jar"))
        self.port = free_port()
        self.config = {"port": self.port, "jd_dir": self.jd_dir, "auto_install": False,
                       "installer_url": "http://127.0.0.1:1/JDownloader.jar",
                       "download_path": os.path.join(self.agent.tmp, "jd-downloads"),
                       "max_download_speed": 500, "myjd_password": "hunter2"}
        r = self.agent.post("/services/config", body={"service_name": "jdownloader",
                                                      "config": self.config})
        self.assertEqual(r.status, 200, r)

    def tearDown(self):
        self.agent.post("/services/jdownloader/stop", timeout=60)
        self.agent.stop()

    def start(self):
        r = self.agent.post("/services/jdownloader/start", timeout=90)
        self.assertEqual(r.status, 200, r)
        return r.json()["result"]

    def test_start_writes_jds_cfg_and_stop_goes_through_exitjd(self):
        result = self.start()
        self.assertIs(result["managed"], True)
        pid = result["pid"]
        remote = read_cfg(self.jd_dir, "org.jdownloader.api.RemoteAPIConfig")
        self.assertIs(remote["deprecatedapienabled"], True)
        self.assertEqual(remote["deprecatedapiport"], self.port)
        self.assertIs(remote["deprecatedapilocalhostonly"], True)
        self.assertIs(remote["headlessmyjdownloadermandatory"], False)
        general = read_cfg(self.jd_dir, "org.jdownloader.settings.GeneralSettings")
        self.assertEqual(general["defaultdownloadfolder"], self.config["download_path"])
        self.assertEqual(general["downloadspeedlimit"], 500 * 1024)
        self.assertIs(general["downloadspeedlimitenabled"], True)
        with open(os.path.join(self.jd_dir, "JDownloader.pid")) as f:
            self.assertEqual(int(f.read()), pid)
        st = self.agent.get("/services/jdownloader/status").json()
        self.assertIs(st["running"], True)
        self.assertIs(st["connected"], True)
        self.assertEqual(st["version"], 47000)
        for key in ("pid", "restarts", "last_exit", "last_error"):
            self.assertIn(key, st)
        # A live change reaches JD through config/set; JD keeps it in memory and writes its cfg
        # back when it exits (so Moccha never writes cfg while JD runs).
        r = self.agent.post("/services/config", body={"service_name": "jdownloader",
                                                      "config": {"max_download_speed": 0}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["restart_required"], [])
        self.assertEqual(api(self.port, "config/get",
                             ["org.jdownloader.settings.GeneralSettings", None,
                              "DownloadSpeedLimitEnabled"])[1]["data"], False)
        t0 = time.monotonic()
        self.assertEqual(self.agent.post("/services/jdownloader/stop", timeout=60).status, 200)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertFalse(pid_alive(pid))
        st = self.agent.get("/services/jdownloader/status").json()
        self.assertEqual(st["last_exit"], "exit code 0")  # exitJD, not a signal
        general = read_cfg(self.jd_dir, "org.jdownloader.settings.GeneralSettings")
        self.assertIs(general["downloadspeedlimitenabled"], False)
        self.assertFalse(os.path.exists(os.path.join(self.jd_dir, "JDownloader.pid")))
        shown = self.agent.get("/services/config/jdownloader").json()["config"]
        self.assertEqual(shown["myjd_password"], "********")

    def test_restart_and_a_kill_is_restarted(self):
        first = self.start()["pid"]
        second = self.agent.post("/services/jdownloader/restart", timeout=90).json()["result"]["pid"]
        self.assertNotEqual(first, second)
        ev = Events(self.agent)
        try:
            os.kill(second, signal.SIGKILL)
            back = wait_for(lambda: (s := self.agent.get("/services/jdownloader/status").json())
                            ["running"] and s["pid"] != second and s, timeout=30, step=0.2)
            self.assertEqual(back["restarts"], 1)
            self.assertIn("signal 9", back["last_exit"])
            wait_for(lambda: ev.of("service.restarted", service="jdownloader"), timeout=10)
        finally:
            ev.close()

    def test_a_first_run_self_restart_is_followed_not_taken_for_a_crash(self):
        open(os.path.join(self.jd_dir, "restart-once"), "w").close()
        started = self.start()["pid"]

        def successor():
            try:  # JD rewrites the file in place: it may be read empty
                with open(os.path.join(self.jd_dir, "JDownloader.pid")) as f:
                    return int(f.read())
            except (OSError, ValueError):
                return None
        # The status follows the process it restarted into, and counts no restart. The
        # self-restart may come before start answers (start then already names the successor)
        # or after: the agent's log says which process it followed into which.
        st = wait_for(lambda: (s := self.agent.get("/services/jdownloader/status").json())
                      ["pid"] == successor() and s, timeout=10, step=0.2)
        followed = wait_for(lambda: re.search(r"\(pid (\d+)\) restarted itself as pid (\d+): "
                                              r"following it", self.agent.log()), timeout=10)
        first, pid = int(followed.group(1)), int(followed.group(2))
        self.assertEqual(st["pid"], pid)
        self.assertIn(started, (first, pid))
        self.assertNotEqual(pid, first)
        self.assertFalse(pid_alive(first))
        self.assertIs(st["running"], True)
        self.assertEqual(st["restarts"], 0)
        self.assertIsNone(st["last_exit"])
        self.assertEqual(self.agent.post("/services/jdownloader/stop", timeout=60).status, 200)
        wait_for(lambda: not pid_alive(pid), timeout=10)
        self.assertIs(self.agent.get("/services/jdownloader/status").json()["running"], False)

    def test_the_local_api_speaks_jds_envelope(self):
        self.start()
        self.assertEqual(api(self.port, "device/ping"), (200, {"data": True, "rid": 1}))
        status, body = api(self.port, "device/ping", headers={"Origin": "http://evil.example"})
        self.assertEqual((status, body["type"]), (403, "AUTH_FAILED"))
        status, body = api(self.port, "nope/nothing")
        self.assertEqual((status, body["type"]), (404, "API_COMMAND_NOT_FOUND"))

    def test_a_missing_jar_is_a_clear_503(self):
        os.remove(os.path.join(self.jd_dir, "JDownloader.jar"))
        r = self.agent.post("/services/jdownloader/start", timeout=60)
        self.assertEqual(r.status, 503, r)
        self.assertIn(os.path.join(self.jd_dir, "JDownloader.jar"), r.json()["error"])
        self.assertIn("auto_install is off", r.json()["error"])
        # With auto_install, from an installer URL that does not answer: said, nothing left.
        self.agent.post("/services/config", body={"service_name": "jdownloader",
                                                  "config": {"auto_install": True}})
        r = self.agent.post("/services/jdownloader/start", timeout=60)
        self.assertEqual(r.status, 503, r)
        self.assertIn("fetching http://127.0.0.1:1/JDownloader.jar failed", r.json()["error"])
        self.assertEqual(sorted(os.listdir(self.jd_dir)), [])
        # From one that does: the jar is fetched once and started.
        files = FileServer()
        try:
            with open(FAKE_JD, "rb") as f:
                files.files["/JDownloader.jar"] = f.read()
            self.agent.post("/services/config", body={"service_name": "jdownloader", "config": {
                "installer_url": files.url("/JDownloader.jar")}})
            self.assertIs(self.start()["managed"], True)
            self.assertTrue(os.path.exists(os.path.join(self.jd_dir, "JDownloader.jar")))
        finally:
            files.stop()

    def test_a_port_held_by_something_else_is_a_409(self):
        files = FileServer()
        try:
            self.agent.post("/services/config", body={"service_name": "jdownloader",
                                                      "config": {"port": files.port}})
            r = self.agent.post("/services/jdownloader/start", timeout=60)
            self.assertEqual(r.status, 409, r)
            self.assertIn("not JDownloader", r.json()["error"])
        finally:
            files.stop()


class Downloads(unittest.TestCase):
    """Links through the stand-in's grabber and download list, fetched for real from the
    tests' loopback server into the configured folder."""

    @classmethod
    def setUpClass(cls):
        cls.files = FileServer()
        cls.agent = Agent("--no-rate-limit")
        cls.jd_dir = os.path.join(cls.agent.tmp, "jd")
        os.makedirs(cls.jd_dir)
        shutil.copy(FAKE_JD, os.path.join(cls.jd_dir, "JDownloader.jar"))
        cls.dl = os.path.join(cls.agent.tmp, "jd-downloads")
        from test_aria2 import Hooks
        cls.hooks = Hooks()
        r = cls.agent.post("/services/config", body={"service_name": "jdownloader", "config": {
            "port": free_port(), "jd_dir": cls.jd_dir, "auto_install": False,
            "download_path": cls.dl, "webhooks": [cls.hooks.url], "webhook_secret": "jd"}})
        assert r.status == 200, r
        assert cls.agent.post("/services/jdownloader/start", timeout=90).status == 200

    @classmethod
    def tearDownClass(cls):
        cls.agent.post("/services/jdownloader/stop", timeout=60)
        cls.agent.stop()
        cls.files.stop()
        cls.hooks.stop()

    def serve(self, name, size=128 << 10, rate=None):
        data = os.urandom(size)
        self.files.files["/" + name] = data
        if rate:
            self.files.throttle["/" + name] = rate
        return self.files.url("/" + name), data

    def links(self):
        r = self.agent.get("/services/jdownloader/downloads")
        self.assertEqual(r.status, 200, r)
        return {l["name"]: dict(l, package=p) for p in r.json()["packages"] for l in p["links"]}

    def wait_link(self, name, cond, timeout=30):
        return wait_for(lambda: (l := self.links().get(name)) and cond(l) and l, timeout=timeout,
                        step=0.2)

    def test_links_download_into_the_folder_and_announce_themselves(self):
        ev = Events(self.agent)
        try:
            (u1, d1), (u2, d2) = self.serve("jd-a.bin"), self.serve("jd-b.bin")
            r = self.agent.post("/services/jdownloader/links",
                                body={"links": [u1, u2], "package_name": "two"})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["message"], "Links added")
            self.assertRegex(r.json()["job_id"], r"^\d+$")
            for name, data in (("jd-a.bin", d1), ("jd-b.bin", d2)):
                l = self.wait_link(name, lambda l: l["finished"])
                self.assertEqual(l["bytes_total"], len(data))
                self.assertEqual(l["package"]["name"], "two")
                self.assertEqual(l["package"]["save_to"], self.dl)
                self.assertGreater(int(l["id"]), 2 ** 53)  # JD's 64-bit ids, kept exact
                with open(os.path.join(self.dl, name), "rb") as f:
                    self.assertEqual(f.read(), data)
            q = self.agent.get("/downloads?service=jdownloader").json()
            mine = {d["name"]: d for d in q["downloads"]}
            self.assertEqual(mine["jd-a.bin"]["kind"], "hoster")
            self.assertEqual(mine["jd-a.bin"]["state"], "completed")
            self.assertEqual(mine["jd-a.bin"]["path"], os.path.join(self.dl, "jd-a.bin"))
            fin = wait_for(lambda: ev.of("download.finished", service="jdownloader",
                                         name="jd-b.bin"), timeout=10)
            self.assertEqual(fin[0]["size"], len(d2))
            posts = wait_for(lambda: [p for p in self.hooks.posts
                                      if json.loads(p[1])["name"] == "jd-b.bin"], timeout=15)
            self.assertEqual(json.loads(posts[0][1])["event"], "download_finished")
            self.assertEqual(json.loads(posts[0][1])["service"], "jdownloader")
        finally:
            ev.close()

    def test_the_grabber_holds_links_until_confirmed(self):
        url, data = self.serve("jd-grab.bin")
        r = self.agent.post("/services/jdownloader/links",
                            body={"links": [url], "autostart": False,
                                  "destination": os.path.join(self.dl, "held")})
        self.assertEqual(r.status, 200, r)
        g = wait_for(lambda: (g := self.agent.get("/services/jdownloader/linkgrabber").json())
                     ["packages"] and not g["collecting"] and g, timeout=10)
        pkg = g["packages"][-1]
        self.assertEqual(pkg["links"][0]["name"], "jd-grab.bin")
        self.assertEqual(pkg["links"][0]["size"], len(data))
        self.assertEqual(pkg["links"][0]["availability"], "ONLINE")
        self.assertNotIn("jd-grab.bin", self.links())
        r = self.agent.post("/services/jdownloader/linkgrabber/confirm",
                            body={"package_ids": [pkg["id"]]})
        self.assertEqual(r.status, 200, r)
        self.assertIn("jd-grab.bin", self.links())
        self.assertEqual(self.agent.post("/services/jdownloader/controller/start",
                                         body={}).status, 200)
        self.wait_link("jd-grab.bin", lambda l: l["finished"])
        self.assertTrue(os.path.exists(os.path.join(self.dl, "held", "jd-grab.bin")))
        self.assertEqual(self.agent.post("/services/jdownloader/linkgrabber/clear",
                                         body={}).status, 200)
        self.assertEqual(self.agent.get("/services/jdownloader/linkgrabber").json()["packages"],
                         [])

    def test_pause_resume_and_remove(self):
        url, data = self.serve("jd-slow.bin", 1 << 20, rate=256 << 10)
        self.agent.post("/services/jdownloader/links", body={"links": [url]})
        l = self.wait_link("jd-slow.bin", lambda l: l["bytes_loaded"] > 0)
        r = self.agent.post(f"/services/jdownloader/downloads/{l['id']}/pause", body={})
        self.assertEqual(r.status, 200, r)
        time.sleep(1)
        a = self.links()["jd-slow.bin"]
        time.sleep(1)
        b = self.links()["jd-slow.bin"]
        self.assertFalse(b["enabled"])
        self.assertEqual(a["bytes_loaded"], b["bytes_loaded"])
        self.assertLess(b["bytes_loaded"], len(data))
        self.files.throttle.pop("/jd-slow.bin")
        # Resume also restarts the controller, which ended its session with nothing enabled.
        self.assertEqual(self.agent.post(f"/services/jdownloader/downloads/{l['id']}/resume",
                                         body={}).status, 200)
        self.wait_link("jd-slow.bin", lambda l: l["finished"])
        with open(os.path.join(self.dl, "jd-slow.bin"), "rb") as f:
            self.assertEqual(f.read(), data)
        # Remove keeping the data, then one with its data.
        r = self.agent.post(f"/services/jdownloader/downloads/{l['id']}/remove",
                            body={"remove_data": False})
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("jd-slow.bin", self.links())
        self.assertTrue(os.path.exists(os.path.join(self.dl, "jd-slow.bin")))
        url, _ = self.serve("jd-gone.bin")
        self.agent.post("/services/jdownloader/links", body={"links": [url]})
        g = self.wait_link("jd-gone.bin", lambda l: l["finished"])
        r = self.agent.post(f"/services/jdownloader/downloads/{g['package']['id']}/remove",
                            body={"remove_data": True})
        self.assertEqual(r.status, 200, r)
        self.assertFalse(os.path.exists(os.path.join(self.dl, "jd-gone.bin")))
        for bad in ("12345", "not-an-id"):
            r = self.agent.post(f"/services/jdownloader/downloads/{bad}/pause", body={})
            self.assertEqual(r.status, 404, r)

    def test_the_speed_limit_applies_live(self):
        url, data = self.serve("jd-limited.bin", 8 << 20)
        r = self.agent.post("/services/config", body={"service_name": "jdownloader",
                                                      "config": {"max_download_speed": 256}})
        self.assertEqual(r.json()["restart_required"], [])
        try:
            self.agent.post("/services/jdownloader/links", body={"links": [url]})
            first = self.wait_link("jd-limited.bin", lambda l: l["bytes_loaded"] > 0)
            t0 = time.monotonic()
            time.sleep(2)
            later = self.links()["jd-limited.bin"]
            rate = (later["bytes_loaded"] - first["bytes_loaded"]) / (time.monotonic() - t0)
            self.assertLess(rate, 400 << 10, rate)
            self.assertFalse(later["finished"])
        finally:
            self.agent.post("/services/config", body={"service_name": "jdownloader",
                                                      "config": {"max_download_speed": 0}})
            l = self.links().get("jd-limited.bin")
            if l:
                self.agent.post(f"/services/jdownloader/downloads/{l['id']}/remove",
                                body={"remove_data": True})

    def test_the_queue_takes_links_for_jd_and_the_controller_answers(self):
        url, _ = self.serve("jd-queue.bin")
        r = self.agent.post("/downloads", body={"url": url, "service": "jdownloader"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["service"], "jdownloader")
        self.wait_link("jd-queue.bin", lambda l: l["finished"])
        st = self.agent.get("/services/jdownloader/stats").json()
        self.assertIn(st["state"], ("IDLE", "RUNNING", "PAUSE", "STOPPING", "STOPPED_STATE"))
        for key in ("speed", "packages", "links"):
            self.assertIsInstance(st[key], int, key)
        self.assertEqual(self.agent.post("/services/jdownloader/controller/pause",
                                         body={"paused": False}).status, 200)
        self.assertEqual(self.agent.post("/services/jdownloader/controller/stop",
                                         body={}).status, 200)
        self.assertEqual(self.agent.get("/services/jdownloader/stats").json()["state"],
                         "STOPPED_STATE")

    def test_click_n_load_through_the_relay_lands_in_jd(self):
        from test_cnl import KEY_HEX, openssl_crypted
        import http.client
        import urllib.parse
        from agent import BIN
        url, data = self.serve("jd-cnl.bin")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOCCHA_")}
        env.update({"MOCCHA_URL": self.agent.url, "MOCCHA_API_KEY": self.agent.key})
        relay = subprocess.Popen([os.path.abspath(BIN), "cnl-relay", "--listen",
                                  f"127.0.0.1:{port}", "--service", "jdownloader"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertIn("Click'n'Load", relay.stdout.readline())
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/flash/addcrypted2", body=urllib.parse.urlencode({
                "crypted": openssl_crypted(url), "jk": f"function f(){{ return '{KEY_HEX}';}}"}),
                headers={"Content-Type": "application/x-www-form-urlencoded"})
            r = conn.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"success\r\n"))
            conn.close()
            self.wait_link("jd-cnl.bin", lambda l: l["finished"])
            with open(os.path.join(self.dl, "jd-cnl.bin"), "rb") as f:
                self.assertEqual(f.read(), data)
        finally:
            relay.terminate()
            relay.wait(timeout=10)
            relay.stdout.close()
            relay.stderr.close()

    def test_bad_requests(self):
        for body in ({}, {"links": []}, {"links": ["a b"]}, {"links": "http://x"},
                     {"links": ["http://x/1"], "destination": "relative"},
                     {"links": ["http://x/1"], "autostart": "yes"}):
            r = self.agent.post("/services/jdownloader/links", body=body)
            self.assertEqual(r.status, 400, (body, r))
        self.assertEqual(self.agent.post("/services/jdownloader/linkgrabber/confirm",
                                         body={"package_ids": "1"}).status, 400)


class Stopped(unittest.TestCase):
    def test_every_endpoint_answers_503_when_jd_is_not_running(self):
        with Agent() as a:
            for method, path in (("POST", "/services/jdownloader/links"),
                                 ("GET", "/services/jdownloader/linkgrabber"),
                                 ("POST", "/services/jdownloader/linkgrabber/confirm"),
                                 ("GET", "/services/jdownloader/downloads"),
                                 ("POST", "/services/jdownloader/downloads/1/pause"),
                                 ("POST", "/services/jdownloader/controller/start"),
                                 ("GET", "/services/jdownloader/stats")):
                r = a.request(method, path, body={"links": ["http://x/1"]} if method == "POST"
                              else None)
                self.assertEqual(r.status, 503, (path, r))
                self.assertIn("/services/jdownloader/start", r.json()["error"])


class Unmanaged(unittest.TestCase):
    def test_a_jd_already_running_is_used_and_never_stopped(self):
        tmp = tempfile.mkdtemp(prefix="moccha-own-jd-")
        port = free_port()
        os.makedirs(os.path.join(tmp, "cfg"))
        shutil.copy(FAKE_JD, os.path.join(tmp, "JDownloader.jar"))
        with open(os.path.join(tmp, "cfg", "org.jdownloader.api.RemoteAPIConfig.json"), "w") as f:
            json.dump({"deprecatedapienabled": True, "deprecatedapiport": port,
                       "headlessmyjdownloadermandatory": False}, f)
        own = subprocess.Popen(["java", "-jar", os.path.join(tmp, "JDownloader.jar")],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        try:
            wait_for(lambda: socket_open(port), timeout=30, step=0.2)
            with Agent() as a:
                a.post("/services/config", body={"service_name": "jdownloader", "config": {
                    "port": port, "jd_dir": os.path.join(a.tmp, "jd"), "auto_install": False}})
                r = a.post("/services/jdownloader/start", timeout=60)
                self.assertEqual(r.status, 200, r)
                self.assertIs(r.json()["result"]["managed"], False)
                self.assertIsNone(r.json()["result"]["pid"])
                st = a.get("/services/jdownloader/status").json()
                self.assertIs(st["running"], True)
                self.assertIs(st["managed"], False)
                self.assertEqual(a.post("/services/jdownloader/stop", timeout=60).status, 200)
                self.assertIsNone(own.poll())  # detached, not stopped
                self.assertIs(a.get("/services/jdownloader/status").json()["running"], False)
        finally:
            own.terminate()
            own.wait(timeout=10)
            shutil.rmtree(tmp, ignore_errors=True)

    def test_the_stand_in_asks_for_a_login_when_jd_would(self):
        # JD headless with its local API off (its default) waits on a console login prompt.
        tmp = tempfile.mkdtemp(prefix="moccha-jd-prompt-")
        shutil.copy(FAKE_JD, os.path.join(tmp, "JDownloader.jar"))
        p = subprocess.Popen(["java", "-jar", os.path.join(tmp, "JDownloader.jar")],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        try:
            lines = [p.stdout.readline() for _ in range(3)]
            self.assertIn("MyJDownloader Setup", "".join(lines))
            time.sleep(0.5)
            self.assertIsNone(p.poll())
        finally:
            p.terminate()
            p.wait(timeout=10)
            p.stdout.close()
            shutil.rmtree(tmp, ignore_errors=True)


def socket_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
