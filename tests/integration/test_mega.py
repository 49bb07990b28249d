"""The mega service against the tests' fake MEGA API (tests/mega/fake_mega.py, itself checked
by megajs and megatools in test_mega_fake.py), with megajs as the second opinion on what Moccha
did: logins v1, v2 and 2FA, a wrong password, the saved session, quota, folders, uploads of
0 B, 1 B and 1 MiB + 1 read back by megajs, what megajs uploaded read by Moccha, move, rename,
delete, public file and folder links both ways, a tampered file that fails its MAC and leaves
nothing, a download that resumes after the fake drops it, -15 re-login, -3 and hashcash, over
quota, and each error status."""
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from agent import Agent, run_cli, wait_for
from test_mega_fake import MEGA, FakeMega, MegatoolsFixture
from fileserver import FileServer
from test_aria2 import Hooks, start_aria2
from test_services import free_port

ALICE = {"email": "alice@example.test", "password": "alice-pass"}


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class MegaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeMega()
        cls.root = tempfile.mkdtemp(prefix="moccha-mega-root-")  # files.roots: only this
        cls.agent = Agent("--no-rate-limit", "--set", f'files.roots=["{cls.root}"]')
        cls.local = os.path.join(cls.root, "local")
        os.makedirs(cls.local)

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()
        cls.fake.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    def configure(self, **config):
        r = self.agent.post("/services/config",
                            body={"service_name": "mega",
                                  "config": {"api_url": self.fake.url, **config}})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def start(self, body=None, status=200):
        r = self.agent.post("/services/mega/start", body=body, timeout=60)
        self.assertEqual(r.status, status, r)
        return r.json()

    def login_alice(self):
        self.configure(**ALICE)
        if not self.agent.get("/services/mega/status").json()["running"]:
            self.start()

    def megajs(self, *args, account=ALICE):
        out = subprocess.run(["node", os.path.join(MEGA, "client.mjs"), self.fake.url,
                              account["email"], account["password"], *args],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr[-3000:])
        return json.loads(out.stdout.strip().splitlines()[-1])

    def write(self, name, size):
        path = os.path.join(self.local, name)
        with open(path, "wb") as f:
            f.write(os.urandom(size))
        return path

    def finish(self, r):
        self.assertEqual(r.status, 200, r)
        tid = r.json()["transfer_id"]
        return wait_for(lambda: (t := self.agent.get(f"/services/mega/transfers/{tid}")
                                 .json()["transfer"])["state"] not in ("queued", "active") and t,
                        timeout=60, step=0.1)

    def upload(self, local, remote_dir="/"):
        return self.finish(self.agent.post("/services/mega/upload",
                                           body={"local_path": local, "remote_dir": remote_dir}))

    def download(self, local_dir, **what):
        return self.finish(self.agent.post("/services/mega/download",
                                           body={**what, "local_dir": local_dir}))

    def names(self, path):
        r = self.agent.get("/services/mega/files?path=" + path)
        self.assertEqual(r.status, 200, r)
        return {i["name"]: i for i in r.json()["items"]}

    # -- logging in ---------------------------------------------------------------------------

    def test_a_logins_v1_v2_2fa_and_a_wrong_password(self):
        session = os.path.join(self.agent.data_dir, "mega", "session")
        self.agent.post("/services/mega/stop")
        self.configure(email="alice@example.test", password="wrong")
        r = self.agent.post("/services/mega/start", timeout=60)
        self.assertEqual(r.status, 400, r)
        self.assertIn("wrong email or password", r.json()["error"])
        self.assertIn("ENOENT", r.json()["error"])
        self.assertFalse(os.path.exists(session))
        self.assertIs(self.agent.get("/services/mega/status").json()["running"], False)
        self.assertEqual(self.agent.get("/services/mega/quota").status, 503)

        self.configure(email="carol@example.test", password="carol-pass")  # 2FA
        r = self.agent.post("/services/mega/start", timeout=60)
        self.assertEqual(r.status, 400, r)
        self.assertIn("2FA code", r.json()["error"])
        self.assertEqual(self.agent.post("/services/mega/start", body={"mfa": "000000"}).status,
                         400)
        self.start({"mfa": "123456"})
        st = self.agent.get("/services/mega/status").json()
        self.assertEqual((st["running"], st["email"]), (True, "carol@example.test"))
        self.assertEqual(os.stat(session).st_mode & 0o777, 0o600)
        with open(session) as f:
            self.assertNotIn("carol-pass", f.read())

        self.agent.post("/services/mega/stop")
        # A new password while stopped: the saved session is not used with it.
        self.configure(password="not-carols")
        self.assertEqual(self.agent.post("/services/mega/start", body={"mfa": "123456"},
                                         timeout=60).status, 400)
        self.configure(email="bob@example.test", password="bob-pass")  # v2
        self.start()
        self.assertEqual(self.agent.get("/services/mega/status").json()["email"],
                         "bob@example.test")
        shown = self.agent.get("/services/config/mega").json()["config"]
        self.assertEqual(shown["password"], "********")
        self.assertNotIn("bob-pass", self.agent.log())
        self.agent.post("/services/mega/stop")

    def test_b_the_saved_session_is_used_and_an_expired_one_logs_in_again(self):
        self.agent.post("/services/mega/stop")
        self.login_alice()
        self.agent.post("/services/mega/stop")
        # A start with the saved session sends no login (us) at all: one refused would show.
        self.fake.post("/_fault", {"command": "us", "code": -9, "times": 1})
        self.start()
        self.assertIn("resumed the saved session of alice@example.test", self.agent.log())
        self.assertEqual(self.fake.get("/_state")["faults"], 1)
        # ... and a second login attempt fails once on it, as a wrong password would.
        self.agent.post("/services/mega/stop")
        os.remove(os.path.join(self.agent.data_dir, "mega", "session"))
        self.assertEqual(self.agent.post("/services/mega/start", timeout=60).status, 400)
        self.start()
        # MEGA ends the session (-15): the next call logs in again, once, and succeeds.
        self.fake.post("/_fault", {"command": "f", "code": -15, "times": 1})
        r = self.agent.get("/services/mega/files?path=/")
        self.assertEqual(r.status, 200, r)
        self.assertIn("session expired; logging in again", self.agent.log())
        self.assertEqual(self.fake.get("/_state")["faults"], 0)

    def test_c_retries_eagain_and_solves_hashcash(self):
        self.login_alice()
        self.fake.post("/_fault", {"command": "uq", "code": -3, "times": 2})
        self.fake.post("/_fault", {"hashcash": 1})
        r = self.agent.get("/services/mega/quota")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.fake.get("/_state"), {"faults": 0, "hashcash": 0})
        q = r.json()
        self.assertGreater(q["storage_total"], 0)
        self.assertEqual(q["account_type"], "free")
        self.assertIn("transfer_total", q)

    # -- files ----------------------------------------------------------------------------------

    def test_d_uploads_read_back_by_megajs_and_megajs_uploads_read_by_moccha(self):
        self.login_alice()
        r = self.agent.post("/services/mega/mkdir", body={"path": "/up/deep/er"})
        self.assertEqual(r.status, 200, r)
        sizes = {"zero.bin": 0, "one.bin": 1, "mib.bin": (1 << 20) + 1}
        for name, size in sizes.items():
            t = self.upload(self.write(name, size), "/up/deep")
            self.assertEqual((t["state"], t["bytes_done"], t["bytes_total"]),
                             ("completed", size, size), t)
        listed = self.names("/up/deep")
        self.assertEqual(listed["er"]["type"], "dir")
        for name, size in sizes.items():
            self.assertEqual((listed[name]["type"], listed[name]["size"]), ("file", size))
            if size == 0:  # megajs MACs an empty file unlike MEGA's SDK and megatools (see
                continue   # ReadByMegatools, which reads it)
            out = os.path.join(self.agent.tmp, "megajs-" + name)
            self.megajs("get", "/up/deep/" + name, out)  # megajs checks the MAC too
            self.assertEqual(digest(out), digest(os.path.join(self.local, name)))
        tree = self.megajs("tree")
        self.assertEqual(tree["/up/deep/er"], {"type": "dir"})
        # A folder upload keeps its shape.
        folder = os.path.join(self.local, "album")
        os.makedirs(os.path.join(folder, "sub"))
        for rel, size in (("a.txt", 10), ("sub/b.txt", 20)):
            with open(os.path.join(folder, rel), "wb") as f:
                f.write(os.urandom(size))
        t = self.upload(folder, "/up")
        self.assertEqual((t["state"], t["bytes_total"]), ("completed", 30), t)
        tree = self.megajs("tree")
        self.assertEqual(tree["/up/album/sub/b.txt"], {"type": "file", "size": 20})
        # megajs uploads; Moccha downloads it, MAC checked.
        theirs = self.write("theirs.bin", 300 * 1024 + 5)
        self.megajs("put", theirs, "/up")
        got = os.path.join(self.root, "got")
        t = self.download(got, path="/up/theirs.bin")
        self.assertEqual(t["state"], "completed", t)
        self.assertEqual(digest(os.path.join(got, "theirs.bin")), digest(theirs))
        # A whole folder comes down as one transfer.
        t = self.download(got, path="/up/album")
        self.assertEqual(t["state"], "completed", t)
        self.assertEqual(os.path.getsize(os.path.join(got, "album", "sub", "b.txt")), 20)
        items = self.agent.get("/downloads?services=mega").json()["downloads"]
        self.assertTrue(all(i["kind"] == "cloud" for i in items))
        self.assertIn("up", {i["direction"] for i in items})
        self.assertIn("down", {i["direction"] for i in items})

    def test_e_move_rename_delete_seen_by_megajs(self):
        self.login_alice()
        self.agent.post("/services/mega/mkdir", body={"path": "/m/a"})
        self.agent.post("/services/mega/mkdir", body={"path": "/m/b"})
        self.upload(self.write("moved.bin", 100), "/m/a")
        r = self.agent.post("/services/mega/move", body={"from": "/m/a/moved.bin", "to": "/m/b"})
        self.assertEqual(r.status, 200, r)
        r = self.agent.post("/services/mega/rename",
                            body={"path": "/m/b/moved.bin", "name": "renamed.bin"})
        self.assertEqual(r.status, 200, r)
        tree = self.megajs("tree")
        self.assertIn("/m/b/renamed.bin", tree)
        self.assertNotIn("/m/a/moved.bin", tree)
        r = self.agent.post("/services/mega/delete", body={"path": "/m/b/renamed.bin"})
        self.assertEqual(r.status, 200, r)
        tree = self.megajs("tree")
        self.assertIn("/Rubbish/renamed.bin", tree)
        self.assertIn("renamed.bin", self.names("/Rubbish"))
        r = self.agent.post("/services/mega/delete",
                            body={"path": "/Rubbish/renamed.bin", "permanent": True})
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("/Rubbish/renamed.bin", self.megajs("tree"))
        r = self.agent.post("/services/mega/delete", body={"path": "/m/a", "permanent": True})
        self.assertNotIn("/m/a", self.megajs("tree"))
        # A folder cannot move into itself.
        r = self.agent.post("/services/mega/move", body={"from": "/m", "to": "/m/b"})
        self.assertEqual(r.status, 400, r)

    def test_f_links_both_ways(self):
        self.login_alice()
        self.agent.post("/services/mega/mkdir", body={"path": "/shared/inside"})
        src = self.write("linked.bin", 200 * 1024 + 3)
        self.upload(src, "/shared")
        self.upload(self.write("deeper.bin", 7), "/shared/inside")
        r = self.agent.post("/services/mega/link", body={"path": "/shared/linked.bin"})
        self.assertEqual(r.status, 200, r)
        link = r.json()["link"]
        self.assertRegex(link, r"^https://mega\.nz/file/[\w-]{8}#[\w-]{43}$")
        out = os.path.join(self.agent.tmp, "by-megajs.bin")
        self.assertEqual(self.megajs("open", link, out)["name"], "linked.bin")
        self.assertEqual(digest(out), digest(src))
        r = self.agent.post("/services/mega/link", body={"path": "/shared"})
        folder_link = r.json()["link"]
        self.assertRegex(folder_link, r"^https://mega\.nz/folder/[\w-]{8}#[\w-]{22}$")
        seen = self.megajs("openfolder", folder_link)
        self.assertEqual(seen["name"], "shared")
        self.assertIn("/inside/deeper.bin", seen["tree"])
        # Moccha opens links: new and legacy forms, file and folder.
        handle, key = link.split("/file/")[1].split("#")
        got = os.path.join(self.root, "links")
        for i, url in enumerate((link, f"https://mega.nz/#!{handle}!{key}")):
            t = self.download(os.path.join(got, str(i)), link=url)
            self.assertEqual(t["state"], "completed", t)
            self.assertEqual(digest(os.path.join(got, str(i), "linked.bin")), digest(src))
        fh, fkey = folder_link.split("/folder/")[1].split("#")
        for i, url in enumerate((folder_link, f"https://mega.nz/#F!{fh}!{fkey}")):
            t = self.download(os.path.join(got, "f" + str(i)), link=url)
            self.assertEqual(t["state"], "completed", t)
            self.assertEqual(os.path.getsize(
                os.path.join(got, "f" + str(i), "shared", "inside", "deeper.bin")), 7)
        # A link sent to the download queue goes to MEGA.
        r = self.agent.post("/downloads", body={"url": link})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["service"], "mega")
        self.assertEqual(self.agent.post("/services/mega/download",
                                         body={"link": "https://mega.nz/file/abcdefgh#short"})
                         .status, 400)

    def test_f2_names_from_a_link_cannot_leave_the_folder(self):
        self.login_alice()
        link = self.megajs("evil", "trap", "..")["link"]
        out = os.path.join(self.root, "trapped")
        r = self.agent.post("/services/mega/download", body={"link": link, "local_dir": out})
        self.assertEqual(r.status, 400, r)
        self.assertIn("name", r.json()["error"])
        self.assertFalse(os.path.exists(os.path.join(self.root, "x.txt")))
        self.assertFalse(os.path.exists(out))

    def test_g_a_tampered_file_fails_its_mac_and_leaves_nothing(self):
        self.login_alice()
        self.upload(self.write("tamper.bin", 300 * 1024), "/")
        handle = self.names("/")["tamper.bin"]["handle"]
        stored = [os.path.join(root, handle) for root, _, files in os.walk(self.fake.dir)
                  if handle in files][0]
        with open(stored, "r+b") as f:
            f.seek(200 * 1024)
            byte = f.read(1)
            f.seek(200 * 1024)
            f.write(bytes([byte[0] ^ 1]))
        out = os.path.join(self.root, "tampered")
        t = self.download(out, path="/tamper.bin")
        self.assertEqual(t["state"], "failed", t)
        self.assertIn("MAC", t["error"])
        self.assertEqual(os.listdir(out), [])

    def test_h_a_dropped_download_resumes(self):
        self.login_alice()
        src = self.write("resume.bin", 3 * 1024 * 1024 + 11)
        self.upload(src, "/")
        self.fake.post("/_fault", {"drop_download": 1536 * 1024})
        out = os.path.join(self.root, "resumed")
        t = self.download(out, path="/resume.bin")
        self.assertEqual(t["state"], "completed", t)
        self.assertEqual(digest(os.path.join(out, "resume.bin")), digest(src))
        self.assertNotIn("drop_download", self.fake.get("/_state"))
        self.assertRegex(self.agent.log(), r"download of 'resume.bin' resumes at byte \d+")

    def test_i_errors(self):
        self.login_alice()
        get, post = self.agent.get, self.agent.post
        self.assertEqual(get("/services/mega/files?path=/nope").status, 404)
        self.assertEqual(get("/services/mega/files?path=/../x").status, 400)
        self.assertEqual(post("/services/mega/mkdir", body={}).status, 400)
        self.assertEqual(post("/services/mega/rename",
                              body={"path": "/up", "name": "a/b"}).status, 400)
        self.assertEqual(post("/services/mega/upload",
                              body={"local_path": self.root + "/nonexistent",
                                    "remote_dir": "/"}).status, 404)
        self.assertEqual(post("/services/mega/upload",
                              body={"local_path": self.write("x", 1), "remote_dir": "/no"}).status,
                         404)
        self.assertEqual(post("/services/mega/download", body={"path": "/no"}).status, 404)
        self.assertEqual(post("/services/mega/download", body={}).status, 400)
        self.assertEqual(get("/services/mega/transfers/nope").status, 404)
        self.assertEqual(post("/services/mega/upload",
                              body={"local_path": "/etc/passwd"}).status, 403)  # files.roots
        # MEGA unreachable: 502 with the reason.
        self.agent.post("/services/mega/stop")
        self.configure(api_url=f"http://127.0.0.1:{free_port()}/")
        r = self.agent.post("/services/mega/start", timeout=60)
        self.assertEqual(r.status, 502, r)
        self.assertIn("unreachable", r.json()["error"])
        self.configure(api_url=self.fake.url)


    def test_j_the_cli(self):
        env = {"MOCCHA_URL": self.agent.url, "MOCCHA_API_KEY": self.agent.key}
        self.agent.post("/services/mega/stop")
        self.configure(email="", password="")
        out = run_cli("mega-login", "--email", "alice@example.test", "--password-stdin",
                      env=env, input="alice-pass\n", timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("logged in to MEGA as alice@example.test", out.stdout)
        out = run_cli("mega-quota", "--json", env=env)
        self.assertEqual(json.loads(out.stdout)["account_type"], "free")
        self.assertEqual(run_cli("mega-mkdir", "/cli/x", env=env).returncode, 0)
        src = self.write("cli.bin", 70 * 1024)
        out = run_cli("mega-put", src, "/cli", env=env, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("uploaded cli.bin: /cli/cli.bin (70.0 KiB)", out.stdout)
        out = run_cli("mega-ls", "/cli", env=env)
        self.assertRegex(out.stdout, r"file\s+70.0 KiB .* cli.bin")
        self.assertRegex(out.stdout, r"dir .* x/")
        out = run_cli("mega-mv", "/cli/cli.bin", "/cli/x", env=env)
        self.assertEqual(out.returncode, 0, out.stderr)
        link = run_cli("mega-link", "/cli/x/cli.bin", env=env).stdout.strip()
        self.assertRegex(link, r"^https://mega\.nz/file/")
        dest = os.path.join(self.root, "cli-get")
        for what in ("/cli/x/cli.bin", link):
            shutil.rmtree(dest, ignore_errors=True)
            out = run_cli("mega-get", what, dest, "--json", env=env, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(json.loads(out.stdout)["state"], "completed")
            self.assertEqual(digest(os.path.join(dest, "cli.bin")), digest(src))
        out = run_cli("mega-get", "/cli/x/cli.bin", dest, env=env, timeout=60)  # exists: 409
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("409", out.stderr)
        out = run_cli("mega-rm", "/cli", env=env)
        self.assertEqual(out.stdout.strip(), "Moved to the Rubbish Bin")
        self.assertIn("cli", self.names("/Rubbish"))

    def test_k_speed_limits_and_cancel(self):
        self.login_alice()
        src = self.write("slow.bin", 3 * 1024 * 1024)
        self.configure(max_upload_speed=1024)  # KiB/s, applied live
        started = time.monotonic()
        t = self.upload(src, "/")
        self.assertEqual(t["state"], "completed", t)
        self.assertGreater(time.monotonic() - started, 1.5)  # 3 MiB at 1 MiB/s, 1 s of burst
        self.configure(max_upload_speed=0, max_download_speed=256)
        out = os.path.join(self.root, "slow")
        r = self.agent.post("/services/mega/download", body={"path": "/slow.bin",
                                                            "local_dir": out})
        tid = r.json()["transfer_id"]
        active = wait_for(lambda: (x := self.agent.get(f"/services/mega/transfers/{tid}").json()
                                   ["transfer"])["bytes_done"] > 300 * 1024 and x, timeout=20)
        self.assertEqual(active["state"], "active")
        self.assertLess(active["speed"], 600 * 1024)
        r = self.agent.post(f"/services/mega/transfers/{tid}/cancel")
        self.assertEqual(r.status, 200, r)
        t = wait_for(lambda: (x := self.agent.get(f"/services/mega/transfers/{tid}").json()
                              ["transfer"])["state"] != "active" and x, timeout=10)
        self.assertEqual(t["state"], "canceled")
        self.assertEqual(os.listdir(out), [])  # no partial file
        self.configure(max_download_speed=0)


class OverQuota(unittest.TestCase):
    def test_an_upload_over_quota_is_507_with_the_figures(self):
        small = [{"email": "dave@example.test", "password": "dave-pass", "storage_total": 1000}]
        fake = FakeMega(accounts=small)
        self.addCleanup(fake.stop)
        with Agent("--no-rate-limit") as a:
            a.post("/services/config", body={"service_name": "mega", "config": {
                "api_url": fake.url, "email": "dave@example.test", "password": "dave-pass"}})
            self.assertEqual(a.post("/services/mega/start", timeout=60).status, 200)
            path = os.path.join(a.tmp, "big.bin")
            with open(path, "wb") as f:
                f.write(os.urandom(5000))
            r = a.post("/services/mega/upload", body={"local_path": path})
            self.assertEqual(r.status, 507, r)
            self.assertIn("1000", r.json()["error"])


class ReadByMegatools(MegatoolsFixture, unittest.TestCase):
    """What Moccha uploads, megatools (Debian's, a client Moccha did not write) downloads whole
    and MAC-checked, up to 100 MiB; and what megatools uploads, Moccha downloads."""

    def test_uploads_of_every_size_and_back(self):
        root = tempfile.mkdtemp(prefix="moccha-mega-big-")
        self.addCleanup(shutil.rmtree, root, True)
        with Agent("--no-rate-limit") as a:
            a.post("/services/config", body={"service_name": "mega", "config": {
                "api_url": self.fake.url, **ALICE}})
            self.assertEqual(a.post("/services/mega/start", timeout=60).status, 200)
            sizes = {"zero.bin": 0, "one.bin": 1, "mib.bin": (1 << 20) + 1,
                     "big.bin": 100 << 20}
            for name, size in sizes.items():
                path = os.path.join(root, name)
                with open(path, "wb") as f:
                    f.write(os.urandom(size))
                r = a.post("/services/mega/upload", body={"local_path": path})
                tid = r.json()["transfer_id"]
                t = wait_for(lambda: (x := a.get(f"/services/mega/transfers/{tid}").json()
                                      ["transfer"])["state"] not in ("queued", "active") and x,
                             timeout=120, step=0.2)
                self.assertEqual(t["state"], "completed", t)
                out = self.t("mt-" + name)
                get = self.megatools("get", "--reload", "--no-progress", "--path", out,
                                     "/Root/" + name)
                self.assertEqual(get.returncode, 0, get.stderr)
                self.assertEqual(digest(out), digest(path), name)
                os.remove(out)
            # megajs reads the 100 MiB one too (its other sizes: MegaTest.test_d).
            out = subprocess.run(["node", os.path.join(MEGA, "client.mjs"), self.fake.url,
                                  ALICE["email"], ALICE["password"], "get", "/big.bin",
                                  self.t("js-big.bin")], capture_output=True, text=True,
                                 timeout=300)
            self.assertEqual(out.returncode, 0, out.stderr[-2000:])
            self.assertEqual(digest(self.t("js-big.bin")), digest(os.path.join(root, "big.bin")))
            os.remove(self.t("js-big.bin"))
            theirs = self.t("theirs.bin")
            with open(theirs, "wb") as f:
                f.write(os.urandom(5 * 1024 * 1024 + 77))
            put = self.megatools("put", "--no-progress", "--path", "/Root", theirs)
            self.assertEqual(put.returncode, 0, put.stderr)
            r = a.post("/services/mega/download", body={"path": "/theirs.bin",
                                                       "local_dir": os.path.join(root, "got")})
            tid = r.json()["transfer_id"]
            t = wait_for(lambda: (x := a.get(f"/services/mega/transfers/{tid}").json()
                                  ["transfer"])["state"] not in ("queued", "active") and x,
                         timeout=60, step=0.2)
            self.assertEqual(t["state"], "completed", t)
            self.assertEqual(digest(os.path.join(root, "got", "theirs.bin")), digest(theirs))


class UploadToMega(unittest.TestCase):
    def test_a_finished_aria2_download_goes_to_mega_by_itself(self):
        fake = FakeMega()
        self.addCleanup(fake.stop)
        files = FileServer()
        self.addCleanup(files.stop)
        data = os.urandom(2 * 1024 * 1024 + 3)
        files.files["/for-mega.bin"] = data
        hooks = Hooks()
        self.addCleanup(hooks.stop)
        with Agent("--no-rate-limit") as a:
            a.post("/services/config", body={"service_name": "mega", "config": {
                "api_url": fake.url, **ALICE, "webhooks": [hooks.url],
                "webhook_secret": "mega-hook"}})
            dl = os.path.join(a.tmp, "direct")
            start_aria2(a, download_path=dl, upload_to_mega="/from-aria2/in",
                        remove_after_upload=True)
            try:
                # MEGA is not logged in yet: the upload waits and is tried again.
                r = a.post("/downloads", body={"url": files.url("/for-mega.bin")})
                self.assertEqual((r.status, r.json()["service"]), (200, "aria2"), r)
                wait_for(lambda: "not uploaded yet" in a.log(), timeout=30, step=0.2)
                self.assertTrue(os.path.exists(os.path.join(dl, "for-mega.bin")))
                self.assertEqual(a.post("/services/mega/start", timeout=60).status, 200)
                # The next try uploads it (the folder made), then the local copy goes.
                wait_for(lambda: not os.path.exists(os.path.join(dl, "for-mega.bin")),
                         timeout=60, step=0.2)
                r = a.get("/services/mega/files?path=/from-aria2/in").json()
                self.assertEqual([(i["name"], i["size"]) for i in r["items"]],
                                 [("for-mega.bin", len(data))])
                ups = [d for d in a.get("/downloads?services=mega").json()["downloads"]
                       if d["direction"] == "up"]
                self.assertEqual([(u["name"], u["state"]) for u in ups],
                                 [("for-mega.bin", "completed")])
                out = os.path.join(a.tmp, "back.bin")
                out_proc = subprocess.run(
                    ["node", os.path.join(MEGA, "client.mjs"), fake.url, ALICE["email"],
                     ALICE["password"], "get", "/from-aria2/in/for-mega.bin", out],
                    capture_output=True, text=True, timeout=120)
                self.assertEqual(out_proc.returncode, 0, out_proc.stderr[-2000:])
                self.assertEqual(digest(out), hashlib.sha256(data).hexdigest())
                # MEGA's own webhook: the upload finished, signed with its secret.
                headers, body = wait_for(lambda: hooks.posts and hooks.posts[0], timeout=20)
                payload = json.loads(body)
                self.assertEqual((payload["event"], payload["service"], payload["name"]),
                                 ("download_finished", "mega", "for-mega.bin"))
                self.assertEqual(payload["path"], "/from-aria2/in/for-mega.bin")
                self.assertEqual(headers["X-Moccha-Signature"],
                                 "sha256=" + hmac.new(b"mega-hook", body,
                                                      hashlib.sha256).hexdigest())
            finally:
                a.post("/services/aria2/stop", timeout=60)


if __name__ == "__main__":
    unittest.main()
