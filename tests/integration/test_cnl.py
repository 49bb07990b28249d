"""`moccha cnl-relay`, the Click'n'Load receiver for the user's computer: it answers as
JDownloader's ExternInterface does, decrypts CNL2 payloads made by openssl (the third-party
oracle: AES-128-CBC, IV = key, zero padding), and the links land in the agent's queue, where
the real aria2c downloads them from the tests' own loopback server."""
import base64
import hashlib
import http.client
import os
import subprocess
import time
import unittest
import urllib.parse

from agent import BIN, Agent, wait_for
from fileserver import FileServer
from test_services import free_port

KEY_HEX = "31323334353637383930616263646566"


def openssl_crypted(text, key_hex=KEY_HEX):
    data = text.encode()
    data += b"\0" * (-len(data) % 16)
    out = subprocess.run(["openssl", "enc", "-aes-128-cbc", "-nopad", "-K", key_hex,
                          "-iv", key_hex], input=data, capture_output=True, check=True)
    return base64.b64encode(out.stdout).decode()


class Relay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.files = FileServer()
        cls.agent = Agent("--no-rate-limit")
        r = cls.agent.post("/services/config", body={"service_name": "aria2",
                                                     "config": {"port": free_port()}})
        assert r.status == 200, r
        assert cls.agent.post("/services/aria2/start", timeout=60).status == 200
        cls.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOCCHA_")}
        env.update({"MOCCHA_URL": cls.agent.url, "MOCCHA_API_KEY": cls.agent.key})
        cls.relay = subprocess.Popen([os.path.abspath(BIN), "cnl-relay", "--listen",
                                      f"127.0.0.1:{cls.port}"], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert "Click'n'Load on http://127.0.0.1" in cls.relay.stdout.readline()

    @classmethod
    def tearDownClass(cls):
        cls.relay.terminate()
        cls.relay.wait(timeout=10)
        cls.relay.stdout.close()
        cls.relay.stderr.close()
        cls.agent.post("/services/aria2/stop", timeout=60)
        cls.agent.stop()
        cls.files.stop()

    def request(self, method, path, form=None, headers=None, host="127.0.0.1"):
        conn = http.client.HTTPConnection(host, self.port, timeout=30)
        body = urllib.parse.urlencode(form) if form is not None else None
        hdrs = dict(headers or {})
        if body is not None:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        out = (r.status, r.read().decode(), dict(r.getheaders()))
        conn.close()
        return out

    def serve(self, name):
        data = os.urandom(64 << 10)
        self.files.files["/" + name] = data
        return self.files.url("/" + name), data

    def finished(self, url):
        def done():
            for d in self.agent.get("/downloads?service=aria2").json()["downloads"]:
                if d["name"] == url.rsplit("/", 1)[1] and d["state"] == "completed":
                    return d
        return wait_for(done, timeout=30)

    def test_answers_as_jdownloaders_extern_interface(self):
        status, body, headers = self.request("GET", "/jdcheck.js")
        self.assertEqual(status, 200)
        self.assertIn("jdownloader=true;", body)
        self.assertEqual(headers["Access-Control-Allow-Origin"], "*")
        status, body, _ = self.request("GET", "/crossdomain.xml")
        self.assertIn('<allow-access-from domain="*" />', body)
        self.assertEqual(self.request("GET", "/flash/")[:2], (200, "JDownloader\r\n"))
        self.assertEqual(self.request("POST", "/flash/", form={})[:2], (200, "JDownloader\r\n"))

    def test_addcrypted2_from_openssl_lands_in_the_queue(self):
        (u1, d1), (u2, d2) = self.serve("cnl-one.bin"), self.serve("cnl-two.bin")
        jk = f"function f(){{ return '{KEY_HEX}';}}"
        status, body, _ = self.request("POST", "/flash/addcrypted2", form={
            "crypted": openssl_crypted(f"{u1}\r\n{u2}"), "jk": jk, "source": "http://page/",
            "passwords": "pw"})
        self.assertEqual((status, body), (200, "success\r\n"))
        for url, data in ((u1, d1), (u2, d2)):
            d = self.finished(url)
            with open(d["path"], "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(),
                                 hashlib.sha256(data).hexdigest())
        # `k`, the raw hex key, and a base64 whose '+' became ' ' in a careless form.
        u3, _ = self.serve("cnl-three.bin")
        crypted = openssl_crypted(u3)
        status, body, _ = self.request("POST", "/flash/addcrypted2",
                                       form={"crypted": crypted.replace("+", " "),
                                             "k": KEY_HEX})
        self.assertEqual((status, body), (200, "success\r\n"))
        self.finished(u3)

    def test_add_in_the_clear(self):
        u1, _ = self.serve("cnl-clear-a.bin")
        u2, _ = self.serve("cnl-clear-b.bin")
        status, body, _ = self.request("POST", "/flash/add",
                                       form={"urls": f"{u1}\n{u2}", "package": "clear"})
        self.assertEqual((status, body), (200, "success\r\n"))
        self.finished(u1)
        self.finished(u2)

    def test_bad_payloads_are_refused_and_never_run(self):
        url, _ = self.serve("cnl-bad.bin")
        crypted = openssl_crypted(url)
        cases = [
            {"crypted": crypted, "jk": "function f(){ return require('child_process');}"},
            {"crypted": crypted, "jk": f"function f(){{ return '{KEY_HEX}';}} f()"},
            {"crypted": crypted},
            {"jk": f"function f(){{ return '{KEY_HEX}';}}"},
            {"crypted": "not base64!", "k": KEY_HEX},
            {"crypted": crypted, "k": "00" * 16},  # the wrong key: garbage, no links
        ]
        for form in cases:
            status, body, _ = self.request("POST", "/flash/addcrypted2", form=form)
            self.assertEqual(status, 400, (form, body))
            self.assertTrue(body.startswith("failed "), body)
        status, body, _ = self.request("POST", "/flash/add", form={"urls": " \n "})
        self.assertEqual(status, 400)
        # A link no engine takes: the agent's refusal comes back.
        status, body, _ = self.request("POST", "/flash/add", form={"urls": "gopher://x/y"})
        self.assertEqual(status, 502)
        self.assertIn("no download service takes", body)
        # Naming localhost in Host gets nothing more: the peer's address is what is checked.
        status, _, _ = self.request("GET", "/flash/", headers={"Host": "evil.example"})
        self.assertEqual(status, 200)

    def test_listens_on_loopback_only(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOCCHA_")}
        for listen in ("0.0.0.0:9666", "192.0.2.1:9666", "127.0.0.1:0", "localhost:x"):
            out = subprocess.run([os.path.abspath(BIN), "cnl-relay", "--listen", listen],
                                 capture_output=True, text=True, timeout=10, env=env)
            self.assertEqual(out.returncode, 2, (listen, out))
            self.assertIn("loopback", out.stderr)


if __name__ == "__main__":
    unittest.main()
