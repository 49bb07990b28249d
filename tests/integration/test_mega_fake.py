"""The tests' fake MEGA API (tests/mega/fake_mega.py) checked by two MEGA clients Moccha did not
write. megajs (npm, pinned by tests/mega/package-lock.json): logins v1, v2 and 2FA, a wrong
password, quota, nested folders, uploads of 0 B and 1.5 MB, downloads with their MACs checked,
move, rename, public file and folder links, the Rubbish Bin; and the faults a client must
survive: -3 once, and HTTP 402 with a hashcash challenge. megatools (Debian), whose API address
is fixed, in a private mount namespace where g.api.mega.co.nz is 127.0.0.1 and the test's CA is
trusted: df, mkdir, put, ls, get (MAC checked), export, dl of the link, rm, a v2 login and a
wrong password. Moccha's own MEGA client is to be tested against this fake."""
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
    def __init__(self, tls=None, accounts=ACCOUNTS):
        self.dir = tempfile.mkdtemp(prefix="moccha-fake-mega-")
        with open(os.path.join(self.dir, "accounts.json"), "w") as f:
            json.dump(accounts, f)
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(MEGA, "fake_mega.py"), str(self.port), self.dir,
             os.path.join(self.dir, "accounts.json"), *(tls or [])],
            stdout=subprocess.PIPE, text=True)
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
        self.proc.stdout.close()
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


def namespace_refused():
    """Why megatools cannot be run in a private mount namespace here, or None."""
    r = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True, timeout=10)
    return None if r.returncode == 0 else f"unshare -m refused: {r.stderr.strip()}"


class MegatoolsNamespace:
    """What megatools needs to reach the fake at its fixed address: a CA and a certificate for
    g.api.mega.co.nz made in `tmp`, a hosts file and a CA bundle bind-mounted in a private
    mount namespace per run. `tls` goes to FakeMega(tls=...); run() runs megatools."""

    def __init__(self, tmp):
        self.tmp = tmp
        t = self.path
        ssl = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True,  # noqa: E731
                                        timeout=60)
        ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", t("ca.key"), "-out",
            t("ca.crt"), "-days", "2", "-subj", "/CN=moccha test CA")
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", t("srv.key"), "-out", t("srv.csr"),
            "-subj", "/CN=g.api.mega.co.nz")
        with open(t("ext.cnf"), "w") as f:
            f.write("subjectAltName=DNS:g.api.mega.co.nz\n")
        ssl("x509", "-req", "-in", t("srv.csr"), "-CA", t("ca.crt"), "-CAkey", t("ca.key"),
            "-CAcreateserial", "-out", t("srv.crt"), "-days", "2", "-extfile", t("ext.cnf"))
        with open(t("bundle.crt"), "w") as out:
            for src in ("/etc/ssl/certs/ca-certificates.crt", t("ca.crt")):
                with open(src) as f:
                    out.write(f.read())
        with open(t("hosts"), "w") as f:
            f.write("127.0.0.1 localhost\n127.0.0.1 g.api.mega.co.nz\n")
        os.makedirs(t("cache"))
        self.tls = [t("srv.crt"), t("srv.key")]

    def path(self, *p):
        return os.path.join(self.tmp, *p)

    def run(self, *args, login=("alice@example.test", "alice-pass"), timeout=120):
        """megatools ARGS (with -u/-p after the command unless login is None)."""
        t = self.path
        script = (f"mount --bind {t('hosts')} /etc/hosts && mount --bind {t('bundle.crt')} "
                  "/etc/ssl/certs/ca-certificates.crt && exec megatools \"$@\"")
        auth = ["-u", login[0], "-p", login[1], "--no-ask-password"] if login else []
        cmd = ["unshare", "-m", "sh", "-c", script, "sh", args[0], *auth, *args[1:]]
        env = {**os.environ, "MEGATOOLS_PKP_DISABLE": "1", "TMPDIR": t("cache")}
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


class MegatoolsFixture:
    """The fake over TLS on 127.0.0.1:443, and megatools against it (for a TestCase to mix
    in)."""

    def setUp(self):
        why = namespace_refused()
        if why:
            self.skipTest(why)
        self.tmp = tempfile.mkdtemp(prefix="moccha-megatools-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.ns = MegatoolsNamespace(self.tmp)
        self.t = self.ns.path
        self.fake = FakeMega(tls=self.ns.tls)
        self.addCleanup(self.fake.stop)

    def megatools(self, *args, user="alice@example.test", password="alice-pass"):
        return self.ns.run(*args, login=(user, password))


class MegatoolsTest(MegatoolsFixture, unittest.TestCase):
    """megatools against the fake."""

    def test_megatools_agrees_with_the_fake(self):
        t = self.t
        payload = os.urandom(3 * 1024 * 1024 + 5)  # several chunks, the last one short
        with open(t("up.bin"), "wb") as f:
            f.write(payload)
        df = self.megatools("df")
        self.assertEqual(df.returncode, 0, df.stderr)
        self.assertIn("Used:  0", df.stdout)
        self.assertEqual(self.megatools("mkdir", "/Root/docs").returncode, 0)
        put = self.megatools("put", "--no-progress", "--path", "/Root/docs", t("up.bin"))
        self.assertEqual(put.returncode, 0, put.stderr)
        ls = self.megatools("ls", "-l", "/Root/docs")
        self.assertIn("/Root/docs/up.bin", ls.stdout)
        self.assertIn(str(len(payload)), ls.stdout)
        get = self.megatools("get", "--no-progress", "--path", t("down.bin"), "/Root/docs/up.bin")
        self.assertEqual(get.returncode, 0, get.stderr)
        with open(t("down.bin"), "rb") as f:
            self.assertEqual(f.read(), payload)
        link = self.megatools("export", "/Root/docs/up.bin").stdout.split()[0]
        self.assertRegex(link, r"^https://mega\.nz/")
        os.makedirs(t("dl"))
        dl = self.ns.run("dl", "--no-progress", "--path", t("dl"), link, login=None)
        self.assertEqual(dl.returncode, 0, dl.stderr)
        with open(t("dl", "up.bin"), "rb") as f:
            self.assertEqual(f.read(), payload)
        self.assertEqual(self.megatools("rm", "/Root/docs/up.bin").returncode, 0)
        self.assertNotIn("up.bin", self.megatools("ls", "/Root/docs").stdout)
        v2 = self.megatools("df", user="bob@example.test", password="bob-pass")
        self.assertEqual(v2.returncode, 0, v2.stderr)
        wrong = self.megatools("df", password="wrong")
        self.assertNotEqual(wrong.returncode, 0)
        self.assertIn("ENOENT", wrong.stderr)


if __name__ == "__main__":
    unittest.main()
