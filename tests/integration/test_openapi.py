"""GET /openapi.json: made from the route table, so every route is in it; every route in it
answers; a real OpenAPI 3.1 validator (npm, pinned by tests/openapi/package-lock.json) accepts
it, and the replies of a scripted session match the schemas it gives for them."""
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from agent import Agent, multipart, run_cli, wait_for

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "openapi")


class OpenApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent("--no-rate-limit")
        r = cls.agent.get("/openapi.json")
        assert r.status == 200, r
        cls.doc = r.json()

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()

    def operations(self):
        for path, methods in self.doc["paths"].items():
            for method, op in methods.items():
                yield path, method.upper(), op

    def test_the_cli_prints_the_same_document(self):
        out = run_cli("--url", self.agent.url, "--api-key", self.agent.key, "openapi")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout), self.doc)

    def test_every_documented_route_answers(self):
        self.assertGreater(len(list(self.operations())), 60)
        for path, method, op in self.operations():
            self.assertTrue(op["summary"], path)
            concrete = re.sub(r"\{[^}]+\}", "x", path)
            conn = http.client.HTTPConnection("127.0.0.1", self.agent.port, timeout=30)
            try:
                conn.request(method, concrete, body=b"", headers={"X-API-Key": self.agent.key,
                                                                  "Content-Length": "0"})
                r = conn.getresponse()  # headers only: a stream (/events) is not read
                status = r.status
                body = r.read() if status >= 400 else b""
            finally:
                conn.close()
            # The router's own refusals say the route does not exist; a handler's 404 (no
            # task "x") is an answer.
            self.assertNotEqual(status, 405, (method, path))
            if status == 404:
                self.assertNotIn(b"no route for", body, (method, path))
            documented = set(op["responses"])
            self.assertIn(str(status), documented, (method, path, body[:200]))

    def test_the_validator_accepts_it_and_replies_match_their_schemas(self):
        a = self.agent
        replies = []

        def call(method, template, path=None, body=None, headers=None, key=True):
            r = a.request(method, path or template, body=body, headers=headers, key=key)
            try:
                parsed = r.json()
            except ValueError:
                parsed = None
            replies.append({"method": method, "path": template, "status": r.status,
                            "body": parsed})
            return r

        call("GET", "/health", key=False)
        call("GET", "/status")
        call("GET", "/status", key="wrong")  # 401
        call("GET", "/services")
        call("GET", "/services/status")
        call("GET", "/services/{service_name}/status", "/services/deluge/status")
        call("GET", "/services/{service_name}/status", "/services/nope/status")  # 404
        call("POST", "/services/{service_name}/start", "/services/mega/start")  # 400: no account
        call("GET", "/services/config")
        call("GET", "/services/config/{service_name}", "/services/config/aria2")
        call("POST", "/services/config", body={"service_name": "aria2",
                                               "config": {"max_download_speed": 100}})
        call("POST", "/services/config", body={"service_name": "aria2",
                                               "config": {"port": "x"}})  # 400
        call("GET", "/downloads")
        call("GET", "/downloads", "/downloads?state=nonsense")  # 400
        call("POST", "/execute", body={"code": "x = 41\nx + 1"})
        call("POST", "/execute", body={})  # 400
        task = call("POST", "/async-execute", body={"code": "print('t')"}).json()["task_id"]
        wait_for(lambda: a.get(f"/task/{task}").json()["status"] != "running", timeout=30)
        call("GET", "/task/{task_id}", f"/task/{task}")
        call("GET", "/task/{task_id}", "/task/0000000000000000")  # 404
        call("GET", "/tasks")
        call("DELETE", "/task/{task_id}", f"/task/{task}")  # 409: finished
        call("GET", "/variables")
        call("DELETE", "/variables/{variable_name}", "/variables/x")
        call("GET", "/history")
        call("POST", "/shell", body={"command": "echo hi"})
        call("POST", "/install", body={"package": "--index-url=x"})  # 400
        call("POST", "/kernel/interrupt")
        call("GET", "/files")
        call("POST", "/files/mkdir", body={"path": "openapi-dir"})  # 201
        call("PUT", "/files/{path}", "/files/openapi-dir/a.txt", body=b"hello")
        call("POST", "/files/move", body={"from": "openapi-dir/a.txt", "to": "openapi-dir/b.txt"})
        body, headers = multipart([("path", None, b"openapi-dir"), ("file", "c.txt", b"c")])
        call("POST", "/upload", body=body, headers=headers)
        call("DELETE", "/files", "/files?path=openapi-dir&recursive=true")
        call("DELETE", "/files", "/files?path=/no/such/thing")  # 403 or 404
        call("GET", "/services/deluge/torrents")  # 503: not running
        call("GET", "/services/aria2/downloads")
        call("POST", "/downloads", body={"url": "gopher://x"})  # 400
        call("POST", "/kernel/restart")

        tmp = tempfile.mkdtemp(prefix="moccha-openapi-")
        self.addCleanup(shutil.rmtree, tmp, True)
        with open(os.path.join(tmp, "doc.json"), "w") as f:
            json.dump(self.doc, f)
        with open(os.path.join(tmp, "replies.json"), "w") as f:
            json.dump(replies, f)
        self.assertTrue(os.path.isdir(os.path.join(CHECKER, "node_modules")),
                        "scripts/bootstrap installs tests/openapi's npm packages")
        out = subprocess.run(["node", os.path.join(CHECKER, "check.mjs"),
                              os.path.join(tmp, "doc.json"), os.path.join(tmp, "replies.json")],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stdout[-4000:] + out.stderr[-2000:])
        self.assertIn("valid OpenAPI 3.1", out.stdout)

    def test_spec_examples_are_in_it(self):
        example = self.doc["paths"]["/execute"]["post"]["requestBody"]["content"][
            "application/json"]["example"]
        self.assertEqual(example["code"], "print('Hello World')\nresult = 2 + 2")
        self.assertEqual(self.doc["paths"]["/health"]["get"]["security"], [])


if __name__ == "__main__":
    unittest.main()
