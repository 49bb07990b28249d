"""The service manager driving a real deluged (Debian's), on loopback only: DHT, LSD, UPnP
and NAT-PMP off, BitTorrent bound to 127.0.0.1."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from agent import Agent, run_cli, wait_for


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_config():
    return {"port": free_port(), "listen_port": free_port(), "listen_interface": "127.0.0.1",
            "dht": False, "lsd": False, "upnp": False, "natpmp": False}


def read(path):
    with open(path) as f:
        return f.read()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"


def console_config(agent, key):
    """Reads a setting back from deluged itself, through Debian's deluge-console."""
    cfg = json.loads(read(os.path.join(agent.data_dir, "services_config.json")))["services"]
    d = cfg["deluge"]
    with open(os.path.join(d["config_dir"], "auth")) as f:
        password = next(l.split(":")[1] for l in f if l.startswith("localclient:"))
    out = subprocess.run(
        ["deluge-console", "-c", d["config_dir"],
         f"connect 127.0.0.1:{d['port']} localclient {password}; config {key}"],
        capture_output=True, text=True, timeout=60)
    for line in out.stdout.splitlines():
        if line.strip().startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {key} in deluge-console output: {out.stdout} {out.stderr}")


class Deluge(unittest.TestCase):
    def setUp(self):
        self.agent = Agent("--no-rate-limit")
        r = self.agent.post("/services/config",
                            body={"service_name": "deluge", "config": loopback_config()})
        self.assertEqual(r.status, 200, r)

    def tearDown(self):
        self.agent.post("/services/deluge/stop", timeout=60)
        self.agent.stop()

    def start(self):
        r = self.agent.post("/services/deluge/start", timeout=90)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_start_status_stop_restart(self):
        started = self.start()
        self.assertIs(started["success"], True)
        self.assertIn("started", started["message"])
        pid = started["result"]["pid"]
        self.assertTrue(pid_alive(pid))
        self.assertEqual(started["result"]["host"], "localhost")
        st = self.agent.get("/services/deluge/status").json()
        self.assertIs(st["running"], True)
        self.assertIs(st["connected"], True)
        self.assertIs(st["managed"], True)
        self.assertEqual(st["download_path"],
                         os.path.join(self.agent.data_dir, "downloads", "torrents"))
        for k in ("upload_rate", "download_rate", "dht_nodes"):
            self.assertIn(k, st["stats"])
        again = self.start()
        self.assertIn("already running", again["message"])
        self.assertEqual(again["result"]["pid"], pid)
        all_st = self.agent.get("/services/status").json()
        self.assertIs(all_st["services"]["deluge"]["running"], True)
        self.assertIs(all_st["services"]["mega"]["running"], False)
        r = self.agent.post("/services/deluge/restart", timeout=90).json()
        self.assertEqual(r["message"], "deluge restarted")
        new_pid = r["result"]["pid"]
        self.assertNotEqual(new_pid, pid)
        self.assertFalse(pid_alive(pid))
        r = self.agent.post("/services/deluge/stop", timeout=60).json()
        self.assertEqual(r, {"success": True, "message": "deluge stopped"})
        self.assertFalse(pid_alive(new_pid))
        st = self.agent.get("/services/deluge/status").json()
        self.assertEqual((st["running"], st["connected"]), (False, False))

    def test_config_round_trip_and_live_apply(self):
        self.start()
        r = self.agent.post("/services/config", body={"service_name": "deluge", "config": {
            "max_download_speed": 1000, "max_upload_speed": 0}})
        self.assertEqual(r.json()["message"], "Configuration updated for deluge")
        self.assertEqual(r.json()["restart_required"], [])
        cfg = self.agent.get("/services/config/deluge").json()
        self.assertEqual(cfg["service"], "deluge")
        self.assertEqual(cfg["config"]["max_download_speed"], 1000)
        self.assertEqual(console_config(self.agent, "max_download_speed"), "1000.0")
        self.assertEqual(console_config(self.agent, "max_upload_speed"), "-1.0")  # 0 = unlimited
        r = self.agent.post("/services/config", body={"service_name": "deluge",
                                                      "config": {"port": free_port()}})
        self.assertEqual(r.json()["restart_required"], ["port"])
        on_disk = json.loads(read(os.path.join(self.agent.data_dir, "services_config.json")))
        self.assertEqual(on_disk["services"]["deluge"]["max_download_speed"], 1000)
        self.assertEqual(set(self.agent.get("/services/config").json()["config"]),
                         {"deluge", "jdownloader", "mega", "aria2", "tunnel"})

    def test_invalid_config_changes_nothing(self):
        path = os.path.join(self.agent.data_dir, "services_config.json")
        before = read(path)
        for change in ({"max_download_speed": -5}, {"download_path": "relative/dir"},
                       {"no_such_key": 1}, {"port": "58846"}, {"port": 70000},
                       {"dht": "yes"}, {"max_download_speed": 10, "config_dir": "x"}):
            with self.subTest(change=change):
                r = self.agent.post("/services/config",
                                    body={"service_name": "deluge", "config": change})
                self.assertEqual(r.status, 400, r)
                self.assertIs(r.json()["success"], False)
        self.assertEqual(read(path), before)
        self.assertEqual(self.agent.post("/services/config", body={
            "service_name": "nope", "config": {"a": 1}}).status, 404)
        self.assertEqual(self.agent.post("/services/config", body={
            "service_name": "deluge"}).status, 400)

    def test_stop_while_torrent_calls_are_in_flight(self):
        # Calls running on the pool when the daemon stops fail cleanly (503), never a crash.
        self.start()
        statuses, stop = [], threading.Event()

        def hammer():
            while not stop.is_set():
                statuses.append(self.agent.get("/services/deluge/torrents").status)
        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: len(statuses) > 20, timeout=30)
            self.assertEqual(self.agent.post("/services/deluge/stop", timeout=60).status, 200)
            n = len(statuses)
            wait_for(lambda: len(statuses) > n + 20, timeout=30)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
        self.assertLessEqual(set(statuses), {200, 503})
        self.assertEqual(statuses[-1], 503)
        self.assertEqual(self.agent.get("/health").status, 200)

    def test_a_stopped_daemon_does_not_hold_up_quick_requests(self):
        # Calls to a SIGSTOPped deluged wait out their RPC timeout on the daemons pool; file
        # listings, history and status go on (they took 34 s when all shared one pool).
        pid = self.start()["result"]["pid"]
        os.kill(pid, signal.SIGSTOP)
        threads = [threading.Thread(target=self.agent.get, args=("/services/deluge/torrents",),
                                    kwargs={"timeout": 60}) for _ in range(6)]
        try:
            for t in threads:
                t.start()
            time.sleep(0.5)
            for path in ("/files", "/history", "/status", "/tasks"):
                t0 = time.monotonic()
                self.assertEqual(self.agent.get(path, timeout=20).status, 200)
                self.assertLess(time.monotonic() - t0, 3, path)
        finally:
            os.kill(pid, signal.SIGCONT)
            for t in threads:
                t.join(timeout=60)

    def test_kill_9_is_restarted_by_supervision(self):
        pid = self.start()["result"]["pid"]
        os.kill(pid, signal.SIGKILL)
        st = wait_for(lambda: (s := self.agent.get("/services/deluge/status").json())["restarts"]
                      == 1 and s["running"] and s["connected"] and s)
        self.assertNotEqual(st["pid"], pid)
        self.assertEqual(st["last_exit"], "signal 9")

    def test_agent_shutdown_stops_deluged_and_restart_brings_it_back(self):
        pid = self.start()["result"]["pid"]
        data = self.agent.data_dir
        self.agent.keep_data = True
        self.agent.stop()
        self.assertFalse(pid_alive(pid))
        self.agent = Agent("--no-rate-limit", data_dir=data)
        st = wait_for(lambda: (s := self.agent.get("/services/deluge/status").json())["running"]
                      and s["connected"] and s)
        self.assertNotEqual(st["pid"], pid)

    def test_agent_killed_leaves_deluged_and_the_next_start_takes_it_back(self):
        pid = self.start()["result"]["pid"]
        data = self.agent.data_dir
        self.agent.keep_data = True
        self.agent.proc.kill()  # no shutdown: deluged, in its own process group, lives on
        self.agent.proc.wait(timeout=10)
        self.agent.stop()
        self.assertTrue(pid_alive(pid))
        self.agent = Agent("--no-rate-limit", data_dir=data)
        st = wait_for(lambda: (s := self.agent.get("/services/deluge/status").json())["running"]
                      and s["connected"] and s, timeout=60)
        self.assertIs(st["managed"], True)
        self.assertNotEqual(st["pid"], pid)
        wait_for(lambda: not pid_alive(pid), timeout=10)
        self.assertIn("left running by an earlier agent", self.agent.log())


class ForeignDeluged(unittest.TestCase):
    """A deluged the agent did not start (the user's own) already on the configured port."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="moccha-foreign-")
        self.port = free_port()
        with open(os.path.join(self.tmp, "auth"), "w") as f:
            f.write("alice:wonderland:10\n")
        os.chmod(os.path.join(self.tmp, "auth"), 0o600)
        listen = free_port()
        with open(os.path.join(self.tmp, "core.conf"), "w") as f:
            f.write(json.dumps({"file": 1, "format": 1}) + json.dumps({
                "daemon_port": self.port, "listen_interface": "127.0.0.1",
                "listen_ports": [listen, listen], "random_port": False, "dht": False,
                "lsd": False, "upnp": False, "natpmp": False,
                "download_location": os.path.join(self.tmp, "dl")}))
        self.deluged = subprocess.Popen(
            ["deluged", "-d", "-c", self.tmp, "-p", str(self.port), "-u", "127.0.0.1", "-l",
             os.path.join(self.tmp, "deluged.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def listening():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for(listening, timeout=30, step=0.2)
        self.agent = Agent("--no-rate-limit")
        cfg = loopback_config()
        cfg["port"] = self.port
        self.assertEqual(self.agent.post("/services/config", body={
            "service_name": "deluge", "config": cfg}).status, 200)

    def tearDown(self):
        self.agent.post("/services/deluge/stop", timeout=60)
        self.agent.stop()
        self.deluged.terminate()
        try:
            self.deluged.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.deluged.kill()
            self.deluged.wait(timeout=5)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_taken_port_is_said_plainly_then_a_login_uses_it_unmanaged(self):
        a = self.agent
        r = a.post("/services/deluge/start", timeout=60)
        self.assertEqual(r.status, 409, r)
        self.assertIn(f"port {self.port} is taken", r.json()["error"])
        self.assertIs(a.get("/services/deluge/status").json()["running"], False)
        # With that daemon's own login, it is used as it is: connected, not managed.
        self.assertEqual(a.post("/services/config", body={"service_name": "deluge", "config": {
            "username": "alice", "password": "wonderland"}}).status, 200)
        r = a.post("/services/deluge/start", timeout=60)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["result"]["managed"], r.json()["result"]["pid"]), (False, None))
        st = a.get("/services/deluge/status").json()
        self.assertEqual((st["running"], st["connected"], st["managed"]), (True, True, False))
        listed = a.get("/services/deluge/torrents")
        self.assertEqual((listed.status, listed.json()["count"]), (200, 0))
        out = run_cli("services-status", env={"MOCCHA_URL": a.url, "MOCCHA_API_KEY": a.key})
        self.assertIn("not managed by moccha", out.stdout)
        # Stopping lets go of it; the daemon is not ours to stop.
        self.assertEqual(a.post("/services/deluge/stop", timeout=60).status, 200)
        self.assertIs(a.get("/services/deluge/status").json()["running"], False)
        time.sleep(0.5)
        self.assertIsNone(self.deluged.poll())


class NotInstalled(unittest.TestCase):
    def test_missing_deluged_is_said_plainly_when_auto_install_is_off(self):
        # No deluged on the agent's PATH (and no apt-get or pip to fetch one).
        with Agent("--no-rate-limit", env={"PATH": "/nonexistent"}) as a:
            cfg = loopback_config()
            cfg["auto_install"] = False
            self.assertEqual(a.post("/services/config", body={
                "service_name": "deluge", "config": cfg}).status, 200)
            r = a.post("/services/deluge/start", timeout=60)
            self.assertEqual(r.status, 503, r)
            self.assertIn("apt-get install deluged", r.json()["error"])
            self.assertIs(a.get("/services/deluge/status").json()["running"], False)

    def test_auto_install_tries_apt_then_pip_and_says_why_it_failed(self):
        # With nothing to install with on the PATH, both ways fail without touching the system.
        with Agent("--no-rate-limit", env={"PATH": "/nonexistent"}) as a:
            self.assertEqual(a.post("/services/config", body={
                "service_name": "deluge", "config": loopback_config()}).status, 200)
            r = a.post("/services/deluge/start", timeout=60)
            self.assertEqual(r.status, 503, r)
            error = r.json()["error"]
            self.assertIn("could not be installed", error)
            self.assertRegex(error, "apt-get is not available|not root")
            self.assertIn("pip", error)


class Catalog(unittest.TestCase):
    def test_unknown_services_and_one_not_set_up(self):
        with Agent("--no-rate-limit") as a:
            self.assertEqual(a.post("/services/nope/start").status, 404)
            self.assertEqual(a.get("/services/nope/status").status, 404)
            self.assertEqual(a.get("/services/config/nope").status, 404)
            for name in ("mega",):
                r = a.post(f"/services/{name}/start")
                self.assertEqual(r.status, 400, r)
                self.assertIn("set the account first", r.json()["error"])
                self.assertIs(a.get(f"/services/{name}/status").json()["running"], False)
            self.assertEqual(a.get("/services").json()["services"],
                             ["deluge", "jdownloader", "mega", "aria2", "tunnel"])

    def test_cli(self):
        with Agent("--no-rate-limit") as a:
            env = {"MOCCHA_URL": a.url, "MOCCHA_API_KEY": a.key}
            cfg = loopback_config()
            pairs = [f"{k}={json.dumps(v) if not isinstance(v, str) else v}"
                     for k, v in cfg.items()]
            out = run_cli("config", "set", "deluge", *pairs, env=env)
            self.assertEqual(out.returncode, 0, out.stderr)
            out = run_cli("config", "get", "deluge", env=env)
            self.assertEqual(json.loads(out.stdout)["port"], cfg["port"])
            out = run_cli("service-start", "deluge", env=env, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("pid", out.stdout)
            out = run_cli("services-status", env=env)
            self.assertRegex(out.stdout, r"deluge\s+running .* connected")
            self.assertRegex(out.stdout, r"mega\s+stopped")
            out = run_cli("service-stop", "deluge", env=env, timeout=60)
            self.assertEqual(out.stdout.strip(), "deluge stopped")
            out = run_cli("service-start", "mega", env=env)  # no account set
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("400", out.stderr)
            out = run_cli("config", "set", "deluge", "max_download_speed=-1", env=env)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("400", out.stderr)


if __name__ == "__main__":
    unittest.main()
