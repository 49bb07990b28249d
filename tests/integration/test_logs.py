"""GET /logs and /logs/{name}: the agent's log and a started service's, read by byte ranges
(the last bytes first, then from `next` on, as the dashboard's Logs page follows one)."""
import unittest

from agent import Agent, wait_for
from test_services import free_port


class LogsTest(unittest.TestCase):
    def setUp(self):
        self.agent = Agent()
        self.addCleanup(self.agent.stop)

    def test_follow_the_agents_log_by_offsets(self):
        a = self.agent
        self.assertEqual([x["name"] for x in a.get("/logs").json()["logs"]], ["agent"])
        first = a.get("/logs/agent").json()
        self.assertIn("listening on", first["text"])
        self.assertEqual(first["next"], first["offset"] + len(first["text"].encode()))
        a.get("/status?marker=one")
        later = wait_for(lambda: (lambda r: r if "marker=one" in r["text"] or "/status" in r["text"]
                                  else None)(a.get(f"/logs/agent?offset={first['next']}").json()),
                         timeout=10)
        self.assertNotIn("listening on", later["text"])  # only what came after
        self.assertLessEqual(len(a.get("/logs/agent?limit=10").json()["text"].encode()), 10)
        gone = a.get("/logs/agent?offset=999999999").json()
        self.assertTrue(gone["rotated"])
        self.assertEqual(gone["offset"], 0)
        self.assertEqual(a.get("/logs/agent?limit=0").status, 400)
        self.assertEqual(a.get("/logs/agent?limit=2000000").status, 400)
        self.assertEqual(a.get("/logs/nope").status, 404)

    def test_a_started_service_lists_its_logs(self):
        a = self.agent
        r = a.post("/services/config", {"service_name": "aria2", "config": {"port": free_port()}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(a.post("/services/aria2/start").status, 200)
        self.addCleanup(a.post, "/services/aria2/stop")
        names = [x["name"] for x in a.get("/logs").json()["logs"]]
        self.assertEqual(names, ["agent", "aria2", "aria2.out"])
        r = a.get("/logs/aria2.out")
        self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    unittest.main()
