"""Torrents through Deluge with a real swarm on loopback: opentracker (whitelist mode), a
.torrent made by mktorrent, a libtorrent seeder, and the agent's managed deluged."""
import hashlib
import hmac
import http.server
import json
import os
import select
import threading
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from agent import BIN, Agent, Events, run_cli, wait_for, stop_child
from fileserver import FileServer
from test_services import free_port, loopback_config


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def make_torrent(src, out, piece_log2, announce="http://127.0.0.1:1/announce"):
    """A .torrent of `src` by mktorrent; the piece size makes torrents of one file distinct."""
    subprocess.run(["mktorrent", "-l", str(piece_log2), "-a", announce, "-o", out, src],
                   check=True, timeout=60, stdout=subprocess.DEVNULL)
    return out


def info_hashes(*torrents):
    return subprocess.run(
        ["/usr/bin/python3", "-c", "import libtorrent as lt, sys\n"
         "for t in sys.argv[1:]: print(lt.torrent_info(t).info_hash())", *torrents],
        capture_output=True, text=True, check=True, timeout=30).stdout.split()


class Watch:
    """`moccha deluge-list --watch` in the background, its output read with a deadline."""

    def __init__(self, agent):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOCCHA_")}
        env.update({"MOCCHA_URL": agent.url, "MOCCHA_API_KEY": agent.key})
        self.proc = subprocess.Popen([BIN, "deluge-list", "--watch"], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.seen = ""

    def wait_for_text(self, text, timeout=20):
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                raise AssertionError(f"no {text!r} in: {self.seen!r}")
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"--watch ended: {self.seen!r} {self.proc.stderr.read()}")
            self.seen += line

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()


class Swarm(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.procs = []
        cls.tmp = tempfile.mkdtemp(prefix="moccha-swarm-")
        seed_dir = os.path.join(cls.tmp, "seed")
        payload = os.path.join(seed_dir, "payload")
        os.makedirs(payload)
        cls.files = {"data.bin": os.urandom(6 << 20), "notes.txt": b"moccha swarm test\n"}
        for name, data in cls.files.items():
            with open(os.path.join(payload, name), "wb") as f:
                f.write(data)
        # A second payload, fetched by magnet: its metadata comes from the seeder.
        cls.magnet_data = os.urandom(3 << 20)
        with open(os.path.join(seed_dir, "by-magnet.bin"), "wb") as f:
            f.write(cls.magnet_data)
        tracker_port = free_port()
        cls.announce = f"http://127.0.0.1:{tracker_port}/announce"
        cls.torrent = os.path.join(cls.tmp, "payload.torrent")
        cls.magnet_torrent = os.path.join(cls.tmp, "by-magnet.torrent")
        make_torrent(payload, cls.torrent, 16, cls.announce)
        make_torrent(os.path.join(seed_dir, "by-magnet.bin"), cls.magnet_torrent, 16,
                     cls.announce)
        # A third, for the common queue (/downloads), fetched by .torrent URL.
        cls.queue_data = os.urandom(2 << 20)
        with open(os.path.join(seed_dir, "queue.bin"), "wb") as f:
            f.write(cls.queue_data)
        cls.queue_torrent = os.path.join(cls.tmp, "queue.torrent")
        make_torrent(os.path.join(seed_dir, "queue.bin"), cls.queue_torrent, 16, cls.announce)
        cls.info_hash, cls.magnet_hash = info_hashes(cls.torrent, cls.magnet_torrent)
        cls.queue_hash = info_hashes(cls.queue_torrent, cls.queue_torrent)[0]
        whitelist = os.path.join(cls.tmp, "whitelist")
        with open(whitelist, "w") as f:
            f.write(cls.info_hash + "\n" + cls.magnet_hash + "\n" + cls.queue_hash + "\n")
        # opentracker chroots (-d) and drops to nobody before it reads the whitelist: a no-op
        # chroot, and a whitelist nobody can read.
        os.chmod(cls.tmp, 0o755)
        os.chmod(whitelist, 0o644)
        cls.start(["opentracker", "-i", "127.0.0.1", "-p", str(tracker_port), "-P",
                   str(tracker_port), "-w", whitelist, "-d", "/"], stderr=subprocess.DEVNULL)
        seeder = cls.start(["/usr/bin/python3", os.path.join(os.path.dirname(__file__),
                                                             "seeder.py"),
                            str(free_port()), seed_dir, cls.torrent, cls.magnet_torrent,
                            cls.queue_torrent],
                           stdout=subprocess.PIPE)
        if seeder.stdout.readline().strip() != "seeding":
            raise RuntimeError("the seeder did not start")
        # A web server on loopback: records every POST (the webhook receiver) and serves the
        # files of tmp (a .torrent fetched by URL).
        cls.hooks = []

        class Receiver(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path = os.path.join(cls.tmp, os.path.basename(self.path))
                if not os.path.isfile(path):
                    self.send_error(404)
                    return
                with open(path, "rb") as f:
                    data = f.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-bittorrent")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                cls.hooks.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass
        cls.receiver = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=cls.receiver.serve_forever, daemon=True).start()
        cls.agent = Agent("--no-rate-limit")
        cfg = loopback_config()
        cfg["download_path"] = os.path.join(cls.tmp, "downloads")
        # A dead receiver first: its retries must not hold up the live one.
        cfg["webhooks"] = ["http://127.0.0.1:1/dead",
                           f"http://127.0.0.1:{cls.receiver.server_port}/done"]
        cfg["webhook_secret"] = "s3cret"
        assert cls.agent.post("/services/config", body={"service_name": "deluge",
                                                        "config": cfg}).status == 200
        r = cls.agent.post("/services/deluge/start", timeout=90)
        assert r.status == 200, r

    @classmethod
    def start(cls, argv, **kw):
        p = subprocess.Popen(argv, text=True, **kw)
        cls.procs.append(p)
        return p

    @classmethod
    def tearDownClass(cls):
        cls.receiver.shutdown()
        cls.receiver.server_close()
        cls.agent.post("/services/deluge/stop", timeout=60)
        cls.agent.stop()
        for p in cls.procs:
            stop_child(p)
            if p.stdout:
                p.stdout.close()

    def details(self, tid):
        return self.agent.get(f"/services/deluge/torrents/{tid}").json()["torrent"]

    def test_one_queue_shows_a_torrent_and_a_direct_link_side_by_side(self):
        a = self.agent
        files = FileServer()
        direct = os.urandom(3 << 20)
        files.files["/direct.bin"] = direct
        events = Events(a)
        try:
            r = a.post("/services/config", body={"service_name": "aria2", "config": {
                "port": free_port(), "download_path": os.path.join(self.tmp, "direct")}})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(a.post("/services/aria2/start", timeout=60).status, 200)
            url = f"http://127.0.0.1:{self.receiver.server_port}/queue.torrent"
            t = a.post("/downloads", body={"url": url})
            self.assertEqual(t.status, 200, t)
            self.assertEqual(t.json()["service"], "deluge")
            tid = t.json()["id"]
            self.assertEqual(tid, "deluge:" + self.queue_hash)
            d = a.post("/downloads", body={"url": files.url("/direct.bin")})
            self.assertEqual(d.status, 200, d)
            self.assertEqual(d.json()["service"], "aria2")
            did = d.json()["id"]
            self.assertEqual(a.post("/downloads", body={"url": "gopher://x/y"}).status, 400)

            def both_done():
                q = a.get("/downloads").json()
                mine = {x["id"]: x for x in q["downloads"] if x["id"] in (tid, did)}
                return len(mine) == 2 and all(x["state"] in ("completed", "seeding")
                                              for x in mine.values()) and mine
            mine = wait_for(both_done, timeout=90, step=0.5)
            self.assertEqual(mine[tid]["kind"], "torrent")
            self.assertEqual(mine[did]["kind"], "direct")
            self.assertEqual(mine[tid]["service"], "deluge")
            self.assertEqual(mine[did]["detail"], "complete")
            self.assertEqual(mine[did]["total_bytes"], len(direct))
            self.assertEqual(mine[tid]["total_bytes"], len(self.queue_data))
            self.assertEqual(sha256(mine[did]["path"]), hashlib.sha256(direct).hexdigest())
            self.assertEqual(sha256(mine[tid]["path"]),
                             hashlib.sha256(self.queue_data).hexdigest())
            kinds = {x["kind"] for x in a.get("/downloads?state=completed,seeding")
                     .json()["downloads"]}
            self.assertLessEqual({"torrent", "direct"}, kinds)
            self.assertEqual([x["id"] for x in a.get("/downloads?service=aria2")
                              .json()["downloads"] if x["id"] == tid], [])
            # One stream carries both engines' completions.
            wait_for(lambda: events.of("download.finished", id=tid) and
                     events.of("download.finished", id=did), timeout=20)
            self.assertEqual(events.of("download.finished", id=did)[0]["service"], "aria2")
            self.assertEqual(events.of("download.finished", id=tid)[0]["service"], "deluge")
            # Actions through the queue reach each engine.
            r = a.post(f"/downloads/{tid}/pause", body={})
            self.assertEqual(r.status, 200, r)
            r = a.post(f"/downloads/{tid}/cancel", body={})
            self.assertEqual(r.status, 200, r)
            wait_for(lambda: all(x["id"] != tid for x in a.get("/downloads").json()["downloads"]),
                     timeout=15)
            self.assertEqual(a.post("/downloads/deluge:" + "0" * 40 + "/pause",
                                    body={}).status, 404)
            self.assertEqual(a.post("/downloads/nope/pause", body={}).status, 404)
        finally:
            events.close()
            a.post("/services/aria2/stop", timeout=60)
            files.stop()

    def test_download_completes_with_the_same_bytes(self):
        a = self.agent
        r = a.post("/services/deluge/torrents", body={"torrent_file": self.torrent})
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body["torrent_id"], self.info_hash)
        self.assertEqual(body["message"], "Torrent added successfully")
        dup = a.post("/services/deluge/torrents", body={"torrent_file": self.torrent})
        self.assertEqual(dup.status, 409, dup)
        self.assertEqual(dup.json()["torrent_id"], self.info_hash)
        done = wait_for(lambda: (t := self.details(self.info_hash))["progress"] >= 100 and t,
                        timeout=90, step=0.5)
        self.assertEqual(done["total_done"], sum(len(d) for d in self.files.values()))
        for name, data in self.files.items():
            got = os.path.join(self.tmp, "downloads", "payload", name)
            self.assertEqual(sha256(got), hashlib.sha256(data).hexdigest(), name)
        # Exactly one signed completion POST, from Deluge's TorrentFinishedEvent, and not after
        # the dead receiver's 15 s of retries.
        completed = time.monotonic()
        wait_for(lambda: self.hooks, timeout=20)
        self.assertLess(time.monotonic() - completed, 10)
        time.sleep(1)
        mine = [h for h in self.hooks if json.loads(h[1])["torrent_id"] == self.info_hash]
        self.assertEqual(len(mine), 1, self.hooks)
        headers, body = mine[0]
        expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        self.assertEqual(headers["X-Moccha-Signature"], "sha256=" + expected)
        event = json.loads(body)
        self.assertEqual((event["event"], event["name"]), ("torrent_finished", "payload"))
        self.assertEqual(sorted(f["path"] for f in done["files"]),
                         ["payload/data.bin", "payload/notes.txt"])
        for f in done["files"]:
            self.assertEqual(set(f), {"index", "path", "size", "offset", "progress"})
        self.assertEqual(done["trackers"][0]["url"].split("/")[-1], "announce")
        listed = a.get("/services/deluge/torrents").json()
        self.assertEqual(listed["count"], len(listed["torrents"]))
        entry = next(t for t in listed["torrents"] if t["id"] == self.info_hash)
        self.assertEqual(set(entry), {"id", "name", "progress", "state", "download_rate",
                                      "upload_rate", "seeds", "peers", "total_wanted",
                                      "total_done", "eta", "ratio"})
        self.assertEqual(entry["name"], "payload")
        seeding = a.get("/services/deluge/torrents?state=Seeding").json()["torrents"]
        self.assertIn(self.info_hash, [t["id"] for t in seeding])
        either = a.get("/services/deluge/torrents?state=paused,seeding").json()["torrents"]
        self.assertIn(self.info_hash, [t["id"] for t in either])
        queued = a.get("/services/deluge/torrents?state=Queued").json()["torrents"]
        self.assertNotIn(self.info_hash, [t["id"] for t in queued])
        stats = a.get("/services/deluge/stats").json()["stats"]
        self.assertEqual(set(stats), {"upload_rate", "download_rate", "dht_nodes", "num_peers",
                                      "num_connections", "payload_upload_rate",
                                      "payload_download_rate"})
        peers = a.get(f"/services/deluge/peers/{self.info_hash}").json()
        self.assertEqual(peers["count"], len(peers["peers"]))
        for p in peers["peers"]:
            self.assertEqual(p["ip"], "127.0.0.1")
            self.assertEqual(p["peer_id"], f"127.0.0.1:{p['port']}")
        # Pause and resume, then remove keeping the data.
        self.assertEqual(a.post(f"/services/deluge/torrents/{self.info_hash}/pause").json()
                         ["message"], f"Torrent {self.info_hash} paused")
        wait_for(lambda: self.details(self.info_hash)["state"] == "Paused", timeout=20)
        a.post(f"/services/deluge/torrents/{self.info_hash}/resume")
        wait_for(lambda: self.details(self.info_hash)["state"] != "Paused", timeout=20)
        r = a.post(f"/services/deluge/torrents/{self.info_hash}/remove",
                   body={"remove_data": False})
        self.assertEqual(r.json()["message"], f"Torrent {self.info_hash} removed")
        self.assertEqual(a.get(f"/services/deluge/torrents/{self.info_hash}").status, 404)
        self.assertTrue(os.path.exists(os.path.join(self.tmp, "downloads", "payload",
                                                    "data.bin")))

    def test_download_by_magnet(self):
        # Only the info-hash, a name and the tracker: the metadata comes over the swarm.
        a = self.agent
        magnet = (f"magnet:?xt=urn:btih:{self.magnet_hash}&dn=by-magnet.bin"
                  f"&tr={urllib.parse.quote(self.announce, safe='')}")
        dest = os.path.join(self.tmp, "magnet-dl")
        r = a.post("/services/deluge/torrents", body={"torrent_url": magnet,
                                                      "download_path": dest})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["torrent_id"], self.magnet_hash)
        done = wait_for(lambda: (t := self.details(self.magnet_hash))["progress"] >= 100 and t,
                        timeout=90, step=0.5)
        self.assertEqual(done["name"], "by-magnet.bin")
        self.assertEqual(done["total_done"], len(self.magnet_data))
        self.assertEqual([f["path"] for f in done["files"]], ["by-magnet.bin"])
        got = os.path.join(dest, "by-magnet.bin")
        self.assertEqual(sha256(got), hashlib.sha256(self.magnet_data).hexdigest())
        r = a.post(f"/services/deluge/torrents/{self.magnet_hash}/remove",
                   body={"remove_data": True})
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: not os.path.exists(got), timeout=20)

    def test_add_by_url(self):
        a = self.agent
        make_torrent(os.path.join(self.tmp, "seed", "payload", "notes.txt"),
                     os.path.join(self.tmp, "by-url.torrent"), 17)
        base = f"http://127.0.0.1:{self.receiver.server_port}"
        r = a.post("/services/deluge/torrents", body={"torrent_url": base + "/by-url.torrent",
                                                      "paused": True}, timeout=60)
        self.assertEqual(r.status, 200, r)
        tid = r.json()["torrent_id"]
        self.assertRegex(tid, "^[0-9a-f]{40}$")
        self.assertEqual((self.details(tid)["name"], self.details(tid)["state"]),
                         ("notes.txt", "Paused"))
        a.post(f"/services/deluge/torrents/{tid}/remove", body={"remove_data": False})
        missing = a.post("/services/deluge/torrents", body={"torrent_url": base + "/none.torrent"},
                         timeout=60)
        self.assertEqual(missing.status, 400, missing)
        self.assertIn("error", missing.json())

    def test_multipart_upload_of_a_torrent(self):
        a = self.agent
        src = make_torrent(os.path.join(self.tmp, "seed", "payload", "notes.txt"),
                           os.path.join(self.tmp, "upload-src.torrent"), 15)
        with open(src, "rb") as f:
            data = f.read()
        boundary = "moccha-torrent-boundary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"paused\"\r\n\r\n"
                f"true\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"torrent\"; "
                f"filename=\"up.torrent\"\r\n\r\n").encode() + data + \
            f"\r\n--{boundary}--\r\n".encode()
        r = a.request("POST", "/services/deluge/torrents", body=body, headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}"})
        self.assertEqual(r.status, 200, r)
        tid = r.json()["torrent_id"]
        self.assertEqual(self.details(tid)["name"], "notes.txt")
        self.assertEqual(self.details(tid)["state"], "Paused")
        bad = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"torrent\"; "
               f"filename=\"x.torrent\"\r\n\r\nnot a torrent\r\n--{boundary}--\r\n").encode()
        self.assertEqual(a.request("POST", "/services/deluge/torrents", body=bad, headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}"}).status, 400)
        a.post(f"/services/deluge/torrents/{tid}/remove", body={"remove_data": False})

    def test_magnet_and_remove_with_data(self):
        a = self.agent
        magnet = "magnet:?xt=urn:btih:" + "ab" * 20 + "&dn=never"
        r = a.post("/services/deluge/torrents", body={"torrent_url": magnet, "paused": True})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["torrent_id"], "ab" * 20)
        self.assertEqual(a.post("/services/deluge/torrents",
                                body={"torrent_url": magnet}).status, 409)
        r = a.post(f"/services/deluge/torrents/{'ab' * 20}/remove", body={"remove_data": True})
        self.assertEqual(r.status, 200)
        self.assertEqual(a.get(f"/services/deluge/torrents/{'ab' * 20}").status, 404)

    def test_cli(self):
        env = {"MOCCHA_URL": self.agent.url, "MOCCHA_API_KEY": self.agent.key}
        magnet = "magnet:?xt=urn:btih:" + "ef" * 20 + "&dn=cli-test"
        out = run_cli("deluge-add", "--paused", magnet, env=env)
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "ef" * 20), out.stderr)
        long_name = "é" * 40  # 40 characters, 80 bytes: cut to fit, between characters
        magnet_long = "magnet:?xt=urn:btih:" + "e1" * 20 + "&dn=" + urllib.parse.quote(long_name)
        self.assertEqual(run_cli("deluge-add", "--paused", magnet_long, env=env).returncode, 0)
        out = run_cli("deluge-list", env=env)  # decoded strictly: a cut inside é would fail
        self.assertIn("efefefefef", out.stdout)
        self.assertIn("cli-test", out.stdout)
        self.assertIn("é" * 25 + "...", out.stdout)
        self.agent.post("/services/deluge/torrents/" + "e1" * 20 + "/remove",
                        body={"remove_data": False})
        watch = Watch(self.agent)
        try:
            # A table, refreshed: the torrent shows up in two of them.
            watch.wait_for_text("cli-test")
            first = len(watch.seen)
            watch.seen = ""
            watch.wait_for_text("cli-test")
            self.assertGreater(first, 0)
            self.assertIn("[", watch.seen)  # the progress bar
        finally:
            watch.stop()
        out = run_cli("deluge-info", "ef" * 20, env=env)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("cli-test", out.stdout)
        out = run_cli("deluge-resume", "ef" * 20, env=env)
        self.assertIn("resumed", out.stdout)
        out = run_cli("deluge-pause", "ef" * 20, env=env)
        self.assertIn("paused", out.stdout)
        out = run_cli("deluge-remove", "--data", "ef" * 20, env=env)
        self.assertIn("removed", out.stdout)
        out = run_cli("deluge-info", "ef" * 20, env=env)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("404", out.stderr)
        out = run_cli("deluge-add", "/no/such/file.torrent", env=env)
        self.assertIn("400", out.stderr)
        # A .torrent on the CLI's side is uploaded (the agent may be another machine): a path
        # relative to the CLI's directory means nothing to the agent.
        local = make_torrent(os.path.join(self.tmp, "seed", "payload", "notes.txt"),
                             os.path.join(self.tmp, "cli-local.torrent"), 19)
        tid, = info_hashes(local)
        out = run_cli("deluge-add", "--paused", "cli-local.torrent", env=env, cwd=self.tmp)
        self.assertEqual((out.returncode, out.stdout.strip()), (0, tid), out.stderr)
        self.assertEqual(self.details(tid)["state"], "Paused")
        self.agent.post(f"/services/deluge/torrents/{tid}/remove", body={"remove_data": False})

    def test_watch_folder(self):
        a = self.agent
        watch = os.path.join(self.tmp, "watch")
        r = a.post("/services/config", body={"service_name": "deluge",
                                             "config": {"auto_add_folder": watch}})
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: os.path.isdir(watch), timeout=10)
        dropped = make_torrent(os.path.join(self.tmp, "seed", "payload", "notes.txt"),
                               os.path.join(self.tmp, "watch-src.torrent"), 18)
        info_hash, = info_hashes(dropped)
        # Written elsewhere, then moved in whole; and a file that is not a torrent.
        os.rename(dropped, os.path.join(watch, "dropped.torrent"))
        with open(os.path.join(watch, "bogus.torrent"), "w") as f:
            f.write("not bencode")
        with open(os.path.join(watch, "huge.torrent"), "wb") as f:
            f.truncate(100 << 20)
        wait_for(lambda: os.path.exists(os.path.join(watch, "dropped.torrent.added")), timeout=20)
        wait_for(lambda: os.path.exists(os.path.join(watch, "bogus.torrent.invalid")), timeout=20)
        wait_for(lambda: os.path.exists(os.path.join(watch, "huge.torrent.invalid")), timeout=20)
        self.assertEqual(a.get(f"/services/deluge/torrents/{info_hash}").status, 200)
        a.post(f"/services/deluge/torrents/{info_hash}/remove", body={"remove_data": False})
        a.post("/services/config", body={"service_name": "deluge",
                                         "config": {"auto_add_folder": ""}})

    def test_bad_requests(self):
        a = self.agent
        not_torrent = os.path.join(self.tmp, "not.torrent")
        with open(not_torrent, "w") as f:
            f.write("hello")
        for body, status in (({}, 400),
                             ({"torrent_url": "magnet:?x", "torrent_file": self.torrent}, 400),
                             ({"torrent_url": "magnet:?dn=nohash"}, 400),
                             ({"torrent_url": "ftp://x/y.torrent"}, 400),
                             ({"torrent_file": not_torrent}, 400),
                             ({"torrent_file": "/no/such.torrent"}, 400),
                             ({"torrent_url": 5}, 400)):
            with self.subTest(body=body):
                self.assertEqual(a.post("/services/deluge/torrents", body=body).status, status)
        # A path to something huge (a disk image, say) is refused unread.
        huge = os.path.join(self.tmp, "huge.torrent")
        with open(huge, "wb") as f:
            f.truncate(100 << 20)  # sparse: no disk used
        r = a.post("/services/deluge/torrents", body={"torrent_file": huge})
        self.assertEqual(r.status, 400, r)
        self.assertIn("too large", r.json()["message"])
        bad_state = a.get("/services/deluge/torrents?state=Bogus")
        self.assertEqual(bad_state.status, 400)
        self.assertIn("Downloading", bad_state.json()["message"])
        for path in ("/services/deluge/torrents/" + "0" * 40,
                     "/services/deluge/peers/" + "0" * 40,
                     "/services/deluge/torrents/not-a-hash"):
            self.assertEqual(a.get(path).status, 404)
        self.assertEqual(a.post("/services/deluge/torrents/" + "0" * 40 + "/pause").status, 404)


class NotRunning(unittest.TestCase):
    def test_watch_waits_out_a_stopped_deluge(self):
        with Agent("--no-rate-limit") as a:
            watch = Watch(a)
            try:
                watch.wait_for_text("(trying again)")
                watch.seen = ""
                watch.wait_for_text("(trying again)", timeout=10)
                self.assertIn("503", watch.seen)
                self.assertIsNone(watch.proc.poll())
            finally:
                watch.stop()

    def test_every_torrent_endpoint_answers_503(self):
        with Agent("--no-rate-limit") as a:
            tid = "0" * 40
            for method, path in (("GET", "/services/deluge/torrents"),
                                 ("POST", "/services/deluge/torrents"),
                                 ("GET", f"/services/deluge/torrents/{tid}"),
                                 ("POST", f"/services/deluge/torrents/{tid}/pause"),
                                 ("POST", f"/services/deluge/torrents/{tid}/resume"),
                                 ("POST", f"/services/deluge/torrents/{tid}/remove"),
                                 ("GET", "/services/deluge/stats"),
                                 ("GET", f"/services/deluge/peers/{tid}")):
                with self.subTest(path=path):
                    body = {"torrent_url": "magnet:?xt=urn:btih:" + "cd" * 20} \
                        if path.endswith("torrents") and method == "POST" else None
                    r = a.request(method, path, body=body)
                    self.assertEqual(r.status, 503, r)
                    self.assertIn("not running", r.json()["error"])


if __name__ == "__main__":
    unittest.main()
