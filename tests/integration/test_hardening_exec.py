"""Regression tests for the defects found by trying to break the agent (issue 15) in execution and services:
the pools, descendants, big variables and service config.
Each failed on the code before its fix."""
import json
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import unittest

from agent import Agent, wait_for


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


if __name__ == "__main__":
    unittest.main()
