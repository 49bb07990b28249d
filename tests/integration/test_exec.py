"""The execution engine through the real binary and a real Python kernel."""
import base64
import concurrent.futures
import hashlib
import json
import os
import signal
import tempfile
import time
import unittest
import zipfile

from agent import Agent, run_cli, wait_for


class Kernel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent("--no-rate-limit", "--set", "exec.interrupt_grace_s=1")

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()

    def run_code(self, code, **extra):
        r = self.agent.post("/execute", body={"code": code, **extra})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_persistent_namespace_and_variables(self):
        out = self.run_code("print('Hello World')\nresult = 2 + 2")
        self.assertEqual(out["output"], "Hello World\n")
        self.assertEqual(out["error"], "")
        self.assertEqual(out["variables"], {"result": 4})
        self.assertIs(out["success"], True)
        out = self.run_code("result * 10")
        self.assertEqual(out["result"], 40)
        self.assertEqual(out["variables"], {})  # nothing new bound
        shapes = self.run_code(
            "import math, os\n"
            "def f(): pass\n"
            "class C: pass\n"
            "items = [1, 'a', None]\nd = {'k': [1.5]}\nbig = list(range(100000))\n"
            "nan = float('nan')\nobj = C()\nflag = True\n")
        v = shapes["variables"]
        self.assertEqual(v["items"], [1, "a", None])
        self.assertEqual(v["d"], {"k": [1.5]})
        self.assertEqual(v["flag"], True)
        self.assertEqual(v["nan"], "nan")
        self.assertTrue(v["obj"].startswith("<"))
        self.assertTrue(v["big"].startswith("<list of 100000 items> [0, 1, 2"))  # a preview
        self.assertTrue(v["big"].endswith("...]"))
        for hidden in ("math", "os", "f", "C"):
            self.assertNotIn(hidden, v)
        all_vars = self.agent.get("/variables").json()
        self.assertEqual(all_vars["result"], 4)
        self.assertNotIn("math", all_vars)
        r = self.agent.request("DELETE", "/variables/result")
        self.assertEqual(r.json(), {"deleted": "result"})
        self.assertEqual(self.agent.request("DELETE", "/variables/result").status, 404)
        self.assertNotIn("result", self.agent.get("/variables").json())
        status = self.agent.get("/status").json()
        self.assertGreaterEqual(status["executions"], 3)
        self.assertEqual(status["variables"], len(self.agent.get("/variables").json()))

    def test_exceptions_keep_the_namespace(self):
        self.run_code("kept = 'yes'")
        for code, kind in (("1/0", "ZeroDivisionError"), ("def f(:", "SyntaxError"),
                           ("raise SystemExit(3)", "SystemExit"),
                           ("partial = 1\nraise ValueError('boom')", "ValueError: boom")):
            with self.subTest(code=code):
                out = self.run_code(code)
                self.assertIs(out["success"], False)
                self.assertIn(kind, out["error"])
                self.assertNotIn("moccha_kernel", out["error"])
        self.assertEqual(self.run_code("kept")["result"], "yes")
        self.assertEqual(self.run_code("partial")["result"], 1)

    def test_fd_level_output_in_order(self):
        out = self.run_code("import os, sys\nprint('one')\nos.system('echo two')\n"
                            "print('three', file=sys.stderr)\nos.write(1, b'four\\n')")
        self.assertEqual(out["output"], "one\ntwo\nthree\nfour\n")

    def test_output_is_capped(self):
        with Agent("--set", "exec.output_limit_bytes=1000") as a:
            out = a.post("/execute", body={"code": "print('x' * 5000)"}).json()
            self.assertEqual(len(out["output"]), 1000)
            self.assertIs(out["truncated"], True)

    def test_a_long_output_comes_back_whole_by_default(self):
        # 1.3 MB: under the 16 MiB default, nothing is cut.
        r = self.agent.post("/shell", body={"command": "seq 1 200000"}).json()
        self.assertEqual(r["stdout"], "".join(f"{i}\n" for i in range(1, 200001)))
        self.assertNotIn("truncated", r.keys())
        self.assertNotIn("stdout_url", r.keys())
        self.assertEqual(r["stdout_bytes"], len(r["stdout"]))

    def test_concurrent_executes_never_interleave(self):
        self.run_code("counter = 0")
        code = "c = counter\nimport time\ntime.sleep(0.001)\ncounter = c + 1"
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            replies = list(pool.map(lambda _: self.agent.post("/execute", body={"code": code}),
                                    range(50)))
        self.assertTrue(all(r.status == 200 and r.json()["success"] for r in replies))
        self.assertEqual(self.run_code("counter")["result"], 50)

    def test_timeout_interrupts(self):
        self.run_code("survivor = 1")
        t0 = time.monotonic()
        out = self.run_code("import time\ntime.sleep(30)", timeout=1)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIs(out["success"], False)
        self.assertIn("KeyboardInterrupt", out["error"])
        self.assertIn("timeout", out["error"])
        self.assertEqual(self.run_code("survivor")["result"], 1)  # namespace kept

    def test_timeout_that_ignores_sigint_restarts_the_kernel(self):
        self.run_code("doomed = 1")
        out = self.run_code("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                            "while True: pass", timeout=1)
        self.assertIs(out["success"], False)
        self.assertIs(out["kernel_restarted"], True)
        self.assertIn("namespace was lost", out["error"])
        self.assertIn("NameError", self.run_code("doomed")["error"])

    def test_kernel_crashes_are_survived(self):
        for code in ("import os\nos._exit(1)",
                     "import ctypes\nctypes.string_at(0)"):
            with self.subTest(code=code):
                out = self.run_code(code)
                self.assertIs(out["success"], False)
                self.assertIs(out["kernel_restarted"], True)
                self.assertEqual(self.run_code("1 + 1")["result"], 2)

    def test_kill_9_mid_run(self):
        pids = []

        def run():
            return self.agent.post("/execute", body={"code": "import os, time\n"
                                                     "print(os.getpid(), flush=True)\n"
                                                     "time.sleep(30)"})
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            fut = pool.submit(run)
            # The kernel's pid, from a second connection while the first one runs.
            deadline = time.monotonic() + 10
            while not pids and time.monotonic() < deadline:
                time.sleep(0.1)
                # The kernel is a child of the engine's worker thread, not the main one.
                for tid in os.listdir(f"/proc/{self.agent.proc.pid}/task"):
                    with open(f"/proc/{self.agent.proc.pid}/task/{tid}/children") as f:
                        pids += [int(p) for p in f.read().split()]
            self.assertTrue(pids)
            os.kill(pids[0], signal.SIGKILL)
            out = fut.result(timeout=20).json()
        self.assertIs(out["success"], False)
        self.assertIs(out["kernel_restarted"], True)
        self.assertEqual(self.run_code("'alive'")["result"], "alive")

    def test_interrupt_and_restart_endpoints(self):
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            fut = pool.submit(self.run_code, "import time\ntime.sleep(30)")
            time.sleep(0.5)
            r = self.agent.post("/kernel/interrupt")
            self.assertEqual(r.json()["message"], "interrupt sent")
            out = fut.result(timeout=10)
        self.assertIn("KeyboardInterrupt", out["error"])
        self.run_code("gone = 1")
        r = self.agent.post("/kernel/restart")
        self.assertEqual(r.status, 200, r)
        self.assertIn("NameError", self.run_code("gone")["error"])

    def test_restart_swaps_in_a_warm_spare(self):
        def kernels():
            """The agent's Python children: the kernel and its warm spare."""
            out = []
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmd = f.read()
                except OSError:
                    continue
                if ppid == self.agent.proc.pid and b"python" in cmd:
                    out.append(int(pid))
            return sorted(out)

        self.run_code("before_restart = 1")
        active = self.run_code("import os; os.getpid()")["result"]
        both = wait_for(lambda: (lambda k: k if len(k) == 2 else None)(kernels()), timeout=20)
        spare = [p for p in both if p != active][0]
        started = time.monotonic()
        r = self.agent.post("/kernel/restart").json()
        out = self.run_code("import os; os.getpid()")
        elapsed = time.monotonic() - started
        self.assertEqual(r["pid"], spare)  # the spare became the kernel
        self.assertEqual(out["result"], spare)
        self.assertIn("NameError", self.run_code("before_restart")["error"])  # a new namespace
        self.assertNotIn(active, kernels())
        # A new spare is on its way for the next restart.
        wait_for(lambda: len(kernels()) == 2 and spare in kernels(), timeout=20)
        self.assertLess(elapsed, 5)  # bounded; the figure itself is bench/exec's business

    def test_bad_requests(self):
        for body in ({}, {"code": 5}, {"code": "1", "timeout": "x"}, {"code": "1", "timeout": -1},
                     [1]):
            with self.subTest(body=body):
                r = self.agent.post("/execute", body=body)
                self.assertEqual(r.status, 400, r)
                self.assertIs(r.json()["success"], False)


class AsyncTasks(unittest.TestCase):
    def test_lifecycle(self):
        with Agent("--no-rate-limit") as a:
            r = a.post("/async-execute", body={"code": "import time\nprint('start', flush=True)\n"
                                               "time.sleep(1)\nprint('Done')\nx_async = 7"})
            self.assertEqual(r.status, 200)
            task_id = r.json()["task_id"]
            self.assertEqual(r.json()["status"], "running")
            running = wait_for(lambda: (t := a.get(f"/task/{task_id}").json())["status"] ==
                               "running" and "start" in t["result"] and t)
            self.assertIsNone(running["finished"])
            done = wait_for(lambda: (t := a.get(f"/task/{task_id}").json())["status"] ==
                            "done" and t)
            self.assertEqual(done["result"], "start\nDone\n")
            self.assertRegex(done["created"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
            self.assertRegex(done["finished"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
            # Async tasks share the namespace of /execute.
            self.assertEqual(a.post("/execute", body={"code": "x_async"}).json()["result"], 7)
            failed = a.post("/async-execute", body={"code": "1/0"}).json()["task_id"]
            t = wait_for(lambda: (t := a.get(f"/task/{failed}").json())["status"] == "error"
                         and t)
            self.assertIn("ZeroDivisionError", t["error"])
            self.assertEqual(a.get("/task/nope").status, 404)
            listed = a.get("/tasks").json()
            self.assertEqual({t["task_id"] for t in listed["tasks"]}, {task_id, failed})

    def test_events_stream_output_as_it_is_produced(self):
        import http.client
        with Agent("--no-rate-limit") as a:
            task_id = a.post("/async-execute", body={
                "code": "import time\nfor i in range(3):\n    print(i, flush=True)\n"
                        "    time.sleep(0.4)"}).json()["task_id"]
            conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
            conn.request("GET", f"/task/{task_id}/events", headers={"X-API-Key": a.key})
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.getheader("Content-Type"), "text/event-stream")
            arrivals, events, block = [], [], []
            t0 = time.monotonic()
            for raw in r:
                line = raw.decode().rstrip("\n")
                if line:
                    block.append(line)
                    continue
                name = block[0].split(": ", 1)[1]
                data = json.loads(block[1].split(": ", 1)[1])
                events.append((name, data))
                arrivals.append(time.monotonic() - t0)
                block = []
                if name == "end":
                    break
            conn.close()
            outputs = [d["data"] for n, d in events if n == "output"]
            self.assertEqual("".join(outputs), "0\n1\n2\n")
            self.assertGreaterEqual(len(outputs), 2)  # streamed, not all at the end
            self.assertGreater(arrivals[-1] - arrivals[0], 0.5)
            self.assertEqual(events[-1][0], "end")
            self.assertEqual(events[-1][1]["status"], "done")
            # A finished task replays its output and end at once.
            body = a.get(f"/task/{task_id}/events").body.decode()
            self.assertIn("event: end", body)
            self.assertIn('"0\\n1\\n2\\n"', body)
            self.assertEqual(a.get("/task/nope/events").status, 404)

    def test_a_waiting_task_is_running_to_the_spec_with_its_place_said(self):
        # The spec's clients poll while "running": a task waiting its turn must not look done.
        with Agent("--no-rate-limit") as a:
            first = a.post("/async-execute", body={"code": "import time\ntime.sleep(3)"}).json()
            second = a.post("/async-execute", body={"code": "w = 2"}).json()
            third = a.post("/async-execute", body={"code": "w = 3"}).json()
            self.assertEqual(second["status"], "running")
            self.assertIs(second["queued"], True)
            wait_for(lambda: a.get(f"/task/{first['task_id']}").json()["queued"] is False)
            t2 = a.get(f"/task/{second['task_id']}").json()
            t3 = a.get(f"/task/{third['task_id']}").json()
            self.assertEqual((t2["status"], t2["queued"], t2["position"]), ("running", True, 1))
            self.assertEqual((t3["status"], t3["queued"], t3["position"]), ("running", True, 2))
            listed = {t["task_id"]: t for t in a.get("/tasks").json()["tasks"]}
            self.assertEqual(listed[third["task_id"]]["position"], 2)
            done = wait_for(lambda: (t := a.get(f"/task/{third['task_id']}").json())["status"]
                            == "done" and t, timeout=30)
            self.assertIs(done["queued"], False)
            self.assertIsNone(done["position"])

    def test_cancel_queued_and_running(self):
        with Agent("--no-rate-limit") as a:
            first = a.post("/async-execute", body={"code": "import time\ntime.sleep(30)"}).json()
            second = a.post("/async-execute", body={"code": "never_ran = 1"}).json()
            wait_for(lambda: a.get(f"/task/{first['task_id']}").json()["queued"] is False)
            r = a.request("DELETE", f"/task/{second['task_id']}")
            self.assertEqual(r.json()["status"], "cancelled")
            r = a.request("DELETE", f"/task/{first['task_id']}")
            self.assertEqual(r.status, 200)
            t = wait_for(lambda: (t := a.get(f"/task/{first['task_id']}").json())["status"] ==
                         "cancelled" and t)
            self.assertIn("KeyboardInterrupt", t["error"])
            self.assertEqual(a.get(f"/task/{second['task_id']}").json()["status"], "cancelled")
            self.assertIn("NameError",
                          a.post("/execute", body={"code": "never_ran"}).json()["error"])
            self.assertEqual(a.request("DELETE", f"/task/{first['task_id']}").status, 409)
            self.assertEqual(a.request("DELETE", "/task/unknown").status, 404)


class History(unittest.TestCase):
    def test_survives_a_restart(self):
        data = tempfile.mkdtemp(prefix="moccha-history-")
        with Agent("--no-rate-limit", data_dir=data) as a:
            a.post("/execute", body={"code": "print('Hello')"})
            a.post("/shell", body={"command": "true"})
            task = a.post("/async-execute", body={"code": "'t'"}).json()["task_id"]
            wait_for(lambda: a.get(f"/task/{task}").json()["status"] == "done")
        with Agent("--no-rate-limit", data_dir=data) as b:
            h = b.get("/history").json()
            self.assertEqual([e["type"] for e in h], ["async-execute", "shell", "execute"])
            self.assertEqual(h[2]["input"], "print('Hello')")
            self.assertIs(h[2]["success"], True)
            for e in h:
                self.assertEqual(set(e), {"id", "type", "time", "input", "success", "duration"})
            self.assertEqual(len(b.get("/history?limit=1").json()), 1)
            self.assertEqual(b.get("/history?limit=0").status, 400)
            self.assertEqual(b.get("/history?limit=abc").status, 400)
            self.assertEqual(b.get(f"/task/{task}").json()["status"], "done")
            self.assertEqual(b.get("/status").json()["executions"], 2)

    def test_only_the_newest_are_kept_and_every_execution_still_counts(self):
        data = tempfile.mkdtemp(prefix="moccha-retention-")
        keep = ("--set", "exec.history_kept=5", "--set", "exec.tasks_kept=3")
        with Agent("--no-rate-limit", *keep, data_dir=data) as a:
            for i in range(12):
                self.assertEqual(a.post("/execute", body={"code": f"x = {i}"}).status, 200)
            tasks = [a.post("/async-execute", body={"code": f"{i}"}).json()["task_id"]
                     for i in range(5)]
            wait_for(lambda: a.get(f"/task/{tasks[-1]}").json()["status"] == "done")
        with Agent("--no-rate-limit", *keep, data_dir=data) as b:
            h = b.get("/history?limit=100").json()
            self.assertLessEqual(len(h), 6)  # kept, plus at most one pruning step
            self.assertEqual(h[0]["input"], "4")  # the newest stay
            self.assertEqual(b.get("/status").json()["executions"], 17)
            self.assertEqual([b.get(f"/task/{t}").status for t in tasks], [404, 404, 200, 200, 200])


class Shell(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent("--no-rate-limit")

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()

    def test_streams_and_code(self):
        r = self.agent.post("/shell", body={"command": "echo out; echo err >&2; exit 3"}).json()
        self.assertEqual((r["stdout"], r["stderr"], r["code"], r["success"]),
                         ("out\n", "err\n", 3, False))
        r = self.agent.post("/shell", body={"command": "pwd"}).json()
        self.assertEqual(r["stdout"].strip(), os.path.join(self.agent.data_dir, "workspace"))
        self.assertIs(r["success"], True)

    def test_timeout_kills_grandchildren(self):
        marker = tempfile.mktemp(prefix="moccha-grandchild-")
        t0 = time.monotonic()
        r = self.agent.post("/shell", body={
            "command": f"(sleep 3; touch {marker}) & sleep 30", "timeout": 1}).json()
        self.assertLess(time.monotonic() - t0, 4)
        self.assertIs(r["success"], False)
        self.assertIn("timed out", r["error"])
        time.sleep(3.5)
        self.assertFalse(os.path.exists(marker), "a grandchild outlived the timeout")

    def test_bad_requests(self):
        self.assertEqual(self.agent.post("/shell", body={}).status, 400)
        self.assertEqual(self.agent.post("/shell", body={"command": ["ls"]}).status, 400)
        self.assertEqual(self.agent.post("/shell", body={"command": "true",
                                                         "timeout": 10**9}).status, 400)


def build_wheel(directory, name, version, module_source):
    """A minimal pure-Python wheel, made here: no network, no build tools."""
    dist = f"{name}-{version}"
    files = {f"{name}.py": module_source,
             f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\n"
                                            f"Version: {version}\n",
             f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: moccha-test\n"
                                        "Root-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    path = os.path.join(directory, f"{dist}-py3-none-any.whl")
    with zipfile.ZipFile(path, "w") as z:
        for p, text in files.items():
            z.writestr(p, text)
    return path


class Install(unittest.TestCase):
    def test_wheel_then_import_without_restart(self):
        tmp = tempfile.mkdtemp()
        name = f"moccha_probe_{os.getpid()}"
        wheel = build_wheel(tmp, name, "1.0", "ANSWER = 42\n")
        prefix = os.path.join(tmp, "site")
        with Agent("--no-rate-limit", env={"PIP_TARGET": prefix, "PYTHONPATH": prefix}) as a:
            self.assertIn("ModuleNotFoundError",
                          a.post("/execute", body={"code": f"import {name}"}).json()["error"])
            r = a.post("/install", body={"package": wheel}, timeout=300).json()
            self.assertIs(r["success"], True, r)
            self.assertEqual(r["package"], wheel)
            self.assertIn(name, r["output"])
            out = a.post("/execute", body={"code": f"import {name}\n{name}.ANSWER"}).json()
            self.assertEqual(out["result"], 42, out)
            self.assertEqual(a.get("/history?limit=2").json()[1]["type"], "install")

    def test_bad_requirements_are_refused(self):
        with Agent("--no-rate-limit") as a:
            for bad in ("-r requirements.txt", "--index-url=http://x", "pkg; rm -rf /",
                        "a b", "", "pkg\nother", "/no/such/wheel.whl", "requests --user"):
                with self.subTest(package=bad):
                    r = a.post("/install", body={"package": bad})
                    self.assertEqual(r.status, 400, r)
            self.assertEqual(a.post("/install", body={"package": 3}).status, 400)


class Cli(unittest.TestCase):
    def test_exec_shell_vars_history(self):
        with Agent("--no-rate-limit") as a:
            env = {"MOCCHA_URL": a.url, "MOCCHA_API_KEY": a.key}
            out = run_cli("exec", "x = 5\nprint('hi')", env=env)
            self.assertEqual((out.returncode, out.stdout), (0, "hi\n"), out.stderr)
            out = run_cli("exec", "-", env=env, input="print(x * 2)\n")
            self.assertEqual(out.stdout, "10\n")
            out = run_cli("exec", "x + 1", env=env)
            self.assertEqual(out.stdout, "6\n")
            out = run_cli("exec", "1/0", env=env)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("ZeroDivisionError", out.stderr)
            out = run_cli("exec", "--async", "import time\nprint('a', flush=True)\n"
                          "time.sleep(0.5)\nprint('b')", env=env)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout, "a\nb\n")
            out = run_cli("shell", "echo hi; exit 4", env=env)
            self.assertEqual((out.returncode, out.stdout), (4, "hi\n"))
            out = run_cli("vars", env=env)
            self.assertIn("x", out.stdout)
            out = run_cli("history", env=env)
            self.assertIn("shell", out.stdout)
            self.assertIn("execute", out.stdout)


if __name__ == "__main__":
    unittest.main()


class SpilledOutput(unittest.TestCase):
    """Output past the reply's cap is kept whole on disk and read by GET /task/{id}/output."""

    CAP = 1000

    @classmethod
    def setUpClass(cls):
        cls.agent = Agent("--no-rate-limit", "--set", f"exec.output_limit_bytes={cls.CAP}",
                          "--set", "exec.tasks_kept=3")
        cls.seq = "".join(f"{i}\n" for i in range(1, 200001)).encode()

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()

    def shell(self, command):
        r = self.agent.post("/shell", body={"command": command})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_shell_output_past_the_cap_is_read_whole_and_by_range(self):
        r = self.shell("seq 1 200000; echo done >&2")
        self.assertIs(r["truncated"], True)
        self.assertEqual(r["stdout"].encode(), self.seq[:self.CAP])
        self.assertEqual(r["stdout_bytes"], len(self.seq))
        self.assertEqual(r["stdout_url"], f"/task/{r['id']}/output?stream=stdout")
        self.assertNotIn("stderr_url", r.keys())  # stderr stayed under the cap
        whole = self.agent.get(r["stdout_url"])
        self.assertEqual(whole.status, 200)
        self.assertEqual(whole.body, self.seq)
        self.assertTrue(whole.headers["Content-Type"].startswith("text/plain"))
        part = self.agent.get(r["stdout_url"], headers={"Range": "bytes=1000-1999"})
        self.assertEqual(part.status, 206)
        self.assertEqual(part.body, self.seq[1000:2000])
        self.assertEqual(part.headers["Content-Range"], f"bytes 1000-1999/{len(self.seq)}")
        # The history entry has the same id.
        ids = [h["id"] for h in self.agent.get("/history?limit=5").json()]
        self.assertIn(r["id"], ids)

    def test_execute_and_async_task_outputs_are_kept_whole(self):
        code = "for i in range(1, 200001): print(i)"
        r = self.agent.post("/execute", body={"code": code}).json()
        self.assertIs(r["truncated"], True)
        self.assertEqual(len(r["output"]), self.CAP)
        self.assertEqual(r["output_bytes"], len(self.seq))
        self.assertEqual(self.agent.get(r["output_url"]).body, self.seq)

        task = self.agent.post("/async-execute", body={"code": code}).json()["task_id"]
        t = wait_for(lambda: (lambda j: j if j["status"] != "running" else None)(
            self.agent.get(f"/task/{task}").json()), timeout=60)
        self.assertEqual(t["status"], "done")
        self.assertEqual(t["output_url"], f"/task/{task}/output")
        self.assertEqual(self.agent.get(t["output_url"]).body, self.seq)

    def test_a_short_task_output_is_served_from_the_task(self):
        task = self.agent.post("/async-execute", body={"code": "print('short')"}).json()["task_id"]
        wait_for(lambda: self.agent.get(f"/task/{task}").json()["status"] == "done", timeout=30)
        r = self.agent.get(f"/task/{task}/output")
        self.assertEqual((r.status, r.body), (200, b"short\n"))

    def test_unknown_outputs_and_bad_streams(self):
        r = self.agent.get("/task/0123456789abcdef/output")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"], "no such output")
        r = self.agent.get("/task/0123456789abcdef/output?stream=../../etc/passwd")
        self.assertEqual(r.status, 400)
        # A shell command under the cap keeps nothing: its reply was whole.
        small = self.shell("echo hi")
        self.assertEqual(self.agent.get(f"/task/{small['id']}/output?stream=stdout").status, 404)

    def test_old_spills_are_removed_as_new_ones_come(self):
        first = self.shell("seq 1 200000")
        for _ in range(3):
            self.shell("seq 1 200000")
        self.assertEqual(self.agent.get(first["stdout_url"]).status, 404)
        spills = os.listdir(os.path.join(self.agent.data_dir, "output"))
        self.assertLessEqual(len(spills), 3)

    def test_cli_prints_the_whole_output(self):
        env = {"MOCCHA_URL": self.agent.url, "MOCCHA_API_KEY": self.agent.key}
        r = run_cli("shell", "seq 1 200000", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.encode(), self.seq)
        r = run_cli("exec", "for i in range(1, 200001): print(i)", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.encode(), self.seq)
        r = run_cli("exec", "--async", "for i in range(1, 200001): print(i)", env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.encode(), self.seq)
