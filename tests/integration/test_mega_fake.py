"""The tests' fake MEGA API (tests/mega/fake_mega.py) checked by megajs, a MEGA client Moccha
did not write (npm, pinned by tests/mega/package-lock.json): logins v1, v2 and 2FA, a wrong
password, quota, nested folders, uploads of 0 B and 1.5 MB, downloads with their MACs checked,
move, rename, public file and folder links, the Rubbish Bin; and the faults a client must
survive: -3 once, and HTTP 402 with a hashcash challenge. Moccha's own MEGA client is to be
tested against this fake."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.request

from agent import stop_child
from test_services import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
MEGA = os.path.join(HERE, "..", "mega")
ACCOUNTS = [
    {"email": "alice@example.test", "password": "alice-pass", "version": 1},
    {"email": "bob@example.test", "password": "bob-pass", "version": 2},
    {"email": "carol@example.test", "password": "carol-pass", "version": 2, "mfa": "123456"},
]


class FakeMega:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="moccha-fake-mega-")
        with open(os.path.join(self.dir, "accounts.json"), "w") as f:
            json.dump(ACCOUNTS, f)
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(MEGA, "fake_mega.py"), str(self.port), self.dir,
             os.path.join(self.dir, "accounts.json")], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # RSA keys first: a few seconds at most
        assert line.strip() == "ready", line
        self.url = f"http://127.0.0.1:{self.port}/"

    def post(self, path, body):
        req = urllib.request.Request(self.url + path.lstrip("/"), data=json.dumps(body).encode(),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def get(self, path):
        with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=10) as r:
            return json.loads(r.read())

    def stop(self):
        stop_child(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


class FakeMegaTest(unittest.TestCase):
    def setUp(self):
        self.assertTrue(os.path.isdir(os.path.join(MEGA, "node_modules", "megajs")),
                        "scripts/bootstrap installs tests/mega's npm packages")
        self.fake = FakeMega()
        self.addCleanup(self.fake.stop)

    def megajs(self):
        return subprocess.run(["node", os.path.join(MEGA, "check.mjs"), self.fake.url],
                              capture_output=True, text=True, timeout=300)

    def test_megajs_agrees_with_the_fake(self):
        out = self.megajs()
        self.assertEqual(out.returncode, 0, out.stdout[-3000:] + out.stderr[-3000:])
        self.assertIn("megajs: ok", out.stdout)

    def test_megajs_gets_past_eagain_and_a_hashcash_challenge(self):
        self.fake.post("/_fault", {"command": "us0", "code": -3, "times": 1})
        self.fake.post("/_fault", {"hashcash": 1})
        out = self.megajs()
        self.assertEqual(out.returncode, 0, out.stdout[-3000:] + out.stderr[-3000:])
        self.assertEqual(self.fake.get("/_state"), {"faults": 0, "hashcash": 0})


if __name__ == "__main__":
    unittest.main()
