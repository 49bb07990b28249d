"""The JDownloader service's daemon and client: Moccha's real launcher, cfg writer, readiness
check and stop path, run against the tests' JDownloader (tests/fake-jd, built by CMake as
JDownloader.jar): JD itself is packaged nowhere and its jar downloads the application on first
start, so it cannot run here. The stand-in reads JD's cfg files with JD's keys and defaults,
asks for a My.JDownloader login on the console when JD would, and speaks the local API's
envelope."""
import json
import os
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
