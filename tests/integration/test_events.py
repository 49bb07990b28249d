"""GET /events, the one event stream: service lifecycle events from the manager and from
supervision, task.finished from the kernel, authentication, and the end of the stream when the
agent stops."""
import os
import signal
import time
import unittest

from agent import Agent, Events, wait_for
from test_services import free_port


class Stream(unittest.TestCase):
    def test_service_lifecycle_and_supervision_events(self):
        with Agent("--no-rate-limit") as a:
            ev = Events(a)
            try:
                r = a.post("/services/config", body={"service_name": "aria2",
                                                     "config": {"port": free_port()}})
                self.assertEqual(r.status, 200, r)
                pid = a.post("/services/aria2/start", timeout=60).json()["result"]["pid"]
                started = wait_for(lambda: ev.of("service.started", service="aria2"), timeout=10)
                self.assertEqual(started[0]["pid"], pid)
                # A user's restart is a stop then a start.
                self.assertEqual(a.post("/services/aria2/restart", timeout=60).status, 200)
                wait_for(lambda: len(ev.of("service.started", service="aria2")) == 2, timeout=10)
                types = [t for _, t, d in ev.events if d.get("service") == "aria2"]
                self.assertEqual(types, ["service.started", "service.stopped",
                                         "service.started"])
                # A death: supervision reports it, and the restart.
                pid = a.get("/services/aria2/status").json()["pid"]
                os.kill(pid, signal.SIGKILL)
                died = wait_for(lambda: ev.of("service.died", service="aria2"), timeout=10)
                self.assertEqual(died[0]["pid"], pid)
                self.assertIn("signal 9", died[0]["exit"])
                back = wait_for(lambda: ev.of("service.restarted", service="aria2"), timeout=15)
                self.assertNotEqual(back[0]["pid"], pid)
                self.assertEqual(back[0]["restarts"], 1)
                self.assertEqual(a.post("/services/aria2/stop", timeout=60).status, 200)
                wait_for(lambda: len(ev.of("service.stopped", service="aria2")) == 2, timeout=10)
                ids = [i for i, _, _ in ev.events]
                self.assertEqual(ids, sorted(ids))
                self.assertEqual(len(set(ids)), len(ids))
                for _, t, d in ev.events:
                    self.assertEqual(d["type"], t)
                    self.assertRegex(d["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
            finally:
                ev.close()

    def test_task_finished(self):
        with Agent() as a:
            ev = Events(a)
            try:
                r = a.post("/async-execute", body={"code": "x = 40 + 2"})
                self.assertEqual(r.status, 200, r)
                tid = r.json()["task_id"]
                got = wait_for(lambda: ev.of("task.finished", id=tid), timeout=30)
                self.assertEqual(got[0]["status"], "done")
                self.assertIs(got[0]["success"], True)
                self.assertIsNone(got[0]["service"])
                bad = a.post("/async-execute", body={"code": "1/0"}).json()["task_id"]
                got = wait_for(lambda: ev.of("task.finished", id=bad), timeout=30)
                self.assertIs(got[0]["success"], False)
            finally:
                ev.close()

    def test_needs_the_key_and_ends_with_the_agent(self):
        a = Agent()
        try:
            self.assertEqual(a.get("/events", key=False).status, 401)
            self.assertEqual(a.get("/events", key="wrong-key-0123456789").status, 401)
            ev = Events(a)
            self.assertEqual(ev.status, 200)
            self.assertEqual(ev.reply.getheader("Cache-Control"), "no-cache")
            t0 = time.monotonic()
            a.signal(signal.SIGTERM)
            self.assertEqual(a.wait(timeout=15), 0)
            # The stream ended at once, not at the shutdown grace's end.
            ev.thread.join(timeout=10)
            self.assertFalse(ev.thread.is_alive())
            self.assertLess(time.monotonic() - t0, 5)
            ev.close()
        finally:
            a.stop()


if __name__ == "__main__":
    unittest.main()
