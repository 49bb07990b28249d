"""Files through the real binary: listing, streamed uploads and downloads, safety."""
import hashlib
import http.client
import os
import subprocess
import re
import socket
import tempfile
import threading
import time
import unittest
import urllib.parse

from agent import Agent, multipart, rss_kb, run_cli


class Files(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent("--no-rate-limit")
        cls.ws = os.path.join(cls.agent.data_dir, "workspace")

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()

    def upload(self, parts, query=""):
        body, headers = multipart(parts)
        return self.agent.request("POST", "/upload" + query, body=body, headers=headers)

    def test_round_trip_200_mib_with_sha256(self):
        data = os.urandom(200 << 20)
        digest = hashlib.sha256(data).hexdigest()
        r = self.upload([("path", None, b"big"), ("file", "random.bin", data)])
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual((body["filename"], body["size"], body["success"]),
                         ("random.bin", len(data), True))
        self.assertEqual(body["path"], os.path.join(self.ws, "big", "random.bin"))
        r = self.agent.get("/download/big/random.bin")
        self.assertEqual(r.status, 200)
        self.assertEqual(int(r.headers["Content-Length"]), len(data))
        self.assertEqual(hashlib.sha256(r.body).hexdigest(), digest)

    def test_names_with_spaces_and_unicode(self):
        name = "résumé final (2) 😀.txt"
        r = self.upload([("file", name, b"hello")])
        self.assertEqual(r.json()["filename"], name)
        listed = self.agent.get("/files").json()
        self.assertIn(name, [i["name"] for i in listed["items"]])
        r = self.agent.get("/download/" + urllib.parse.quote(name))
        self.assertEqual(r.body, b"hello")
        self.assertIn("filename*=UTF-8''r%C3%A9sum%C3%A9", r.headers["Content-Disposition"])
        self.assertEqual(r.headers["Content-Type"], "text/plain; charset=utf-8")

    def test_several_files_in_one_request(self):
        r = self.upload([("path", None, b"multi"), ("file", "a.txt", b"A"),
                         ("file", "b.txt", b"BB"), ("file", "c.bin", b"\r\n--x\r\n")])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["count"], 3)
        with open(os.path.join(self.ws, "multi", "c.bin"), "rb") as f:
            self.assertEqual(f.read(), b"\r\n--x\r\n")
        with open(os.path.join(self.ws, "multi", "b.txt"), "rb") as f:
            self.assertEqual(f.read(), b"BB")

    def test_refused_names_and_overwrite(self):
        for bad in ("../evil.txt", "a/b.txt", "..", "."):
            with self.subTest(name=bad):
                self.assertEqual(self.upload([("file", bad, b"x")]).status, 400)
        self.assertFalse(os.path.exists(os.path.join(self.agent.data_dir, "evil.txt")))
        self.assertEqual(self.upload([("file", "keep.txt", b"one")]).status, 200)
        r = self.upload([("overwrite", None, b"false"), ("file", "keep.txt", b"two")])
        self.assertEqual(r.status, 409, r)
        with open(os.path.join(self.ws, "keep.txt")) as f:
            self.assertEqual(f.read(), "one")
        self.assertEqual(self.upload([("file", "keep.txt", b"three")]).status, 200)
        with open(os.path.join(self.ws, "keep.txt")) as f:
            self.assertEqual(f.read(), "three")
        self.assertEqual(self.agent.post("/upload", body={"x": 1}).status, 400)

    def test_put_raw_body(self):
        r = self.agent.request("PUT", "/files/put%20dir/raw.bin", body=b"\x00\x01raw")
        self.assertEqual(r.status, 200, r)
        with open(os.path.join(self.ws, "put dir", "raw.bin"), "rb") as f:
            self.assertEqual(f.read(), b"\x00\x01raw")
        r = self.agent.request("PUT", "/files/put%20dir/raw.bin?overwrite=false", body=b"x")
        self.assertEqual(r.status, 409)

    def test_range_head_and_conditional(self):
        data = bytes(range(256)) * 40
        self.upload([("file", "range.bin", data)])
        r = self.agent.get("/download/range.bin", headers={"Range": "bytes=10-19"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.body, data[10:20])
        self.assertEqual(r.headers["Content-Range"], f"bytes 10-19/{len(data)}")
        r = self.agent.get("/download/range.bin", headers={"Range": "bytes=-5"})
        self.assertEqual(r.body, data[-5:])
        r = self.agent.get("/download/range.bin", headers={"Range": "bytes=100-"})
        self.assertEqual(r.body, data[100:])
        r = self.agent.get("/download/range.bin", headers={"Range": f"bytes={len(data)}-"})
        self.assertEqual(r.status, 416)
        self.assertEqual(r.headers["Content-Range"], f"bytes */{len(data)}")
        r = self.agent.request("HEAD", "/download/range.bin")
        self.assertEqual((r.status, r.body), (200, b""))
        self.assertEqual(int(r.headers["Content-Length"]), len(data))
        etag, modified = r.headers["ETag"], r.headers["Last-Modified"]
        self.assertEqual(self.agent.get("/download/range.bin",
                                        headers={"If-None-Match": etag}).status, 304)
        self.assertEqual(self.agent.get("/download/range.bin",
                                        headers={"If-Modified-Since": modified}).status, 304)
        self.assertEqual(self.agent.get("/download/range.bin",
                                        headers={"If-None-Match": '"other"'}).status, 200)
        self.assertEqual(self.agent.get("/download?path=range.bin").body, data)

    def test_directory_as_tar(self):
        import io
        import tarfile
        self.upload([("path", None, b"tree/sub"), ("file", "x.txt", b"x" * 1000)])
        self.upload([("path", None, b"tree"), ("file", "y.txt", b"why")])
        r = self.agent.get("/download/tree?archive=tar")
        self.assertEqual(r.status, 200)
        with tarfile.open(fileobj=io.BytesIO(r.body)) as t:
            names = sorted(t.getnames())
            self.assertEqual(names, ["tree", "tree/sub", "tree/sub/x.txt", "tree/y.txt"])
            self.assertEqual(t.extractfile("tree/sub/x.txt").read(), b"x" * 1000)
        self.assertEqual(self.agent.get("/download/tree").status, 400)

    def test_directory_as_tar_gz_and_zip(self):
        import io
        import tarfile
        import zipfile
        root = os.path.join(self.ws, "formats")
        long_dir = os.path.join(root, "d" * 120)
        os.makedirs(long_dir, exist_ok=True)
        big = os.urandom(300_000)
        files = {"formats/empty": b"", "formats/big.bin": big,
                 f"formats/{'d' * 120}/{'n' * 130}.txt": b"long name",
                 "formats/caf\u00e9.txt": "é".encode()}
        for name, data in files.items():
            with open(os.path.join(self.ws, name), "wb") as f:
                f.write(data)
        os.symlink("big.bin", os.path.join(root, "link"))
        os.chmod(os.path.join(root, "big.bin"), 0o640)

        r = self.agent.get("/download/formats?format=tar.gz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["Content-Type"], "application/gzip")
        self.assertIn('filename="formats.tar.gz"', r.headers["Content-Disposition"])
        with tarfile.open(fileobj=io.BytesIO(r.body), mode="r:gz") as t:
            for name, data in files.items():
                self.assertEqual(t.extractfile(name).read(), data, name)
            self.assertEqual(t.getmember("formats/link").linkname, "big.bin")
            self.assertEqual(t.getmember("formats/big.bin").mode, 0o640)
        # GNU tar reads it too.
        listing = subprocess.run(["tar", "-tzf", "-"], input=r.body, capture_output=True)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertIn(f"formats/{'d' * 120}/{'n' * 130}.txt", listing.stdout.decode())

        r = self.agent.get("/download/formats?format=zip")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["Content-Type"], "application/zip")
        with zipfile.ZipFile(io.BytesIO(r.body)) as z:
            self.assertIsNone(z.testzip())
            for name, data in files.items():
                self.assertEqual(z.read(name), data, name)
            self.assertIn("formats/", z.namelist())

        r = self.agent.get("/download/formats?format=rar")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"], "unknown archive format")

    def test_listing(self):
        os.makedirs(os.path.join(self.ws, "listing", "zdir"), exist_ok=True)
        os.makedirs(os.path.join(self.ws, "listing", "adir"), exist_ok=True)
        for n in ("b.txt", "A.txt"):
            with open(os.path.join(self.ws, "listing", n), "w") as f:
                f.write("12345")
        os.symlink("b.txt", os.path.join(self.ws, "listing", "link"))
        r = self.agent.get("/files?path=listing").json()
        self.assertEqual(r["path"], os.path.join(self.ws, "listing"))
        self.assertEqual([(i["name"], i["type"]) for i in r["items"]],
                         [("adir", "dir"), ("zdir", "dir"), ("A.txt", "file"),
                          ("b.txt", "file"), ("link", "link")])
        self.assertEqual(r["items"][2]["size"], 5)
        self.assertRegex(r["items"][2]["modified"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
        self.assertEqual(self.agent.get("/files?path=nope").status, 404)
        self.assertEqual(self.agent.get("/files?path=listing/b.txt").status, 400)

    def test_large_directory_lists_fast(self):
        d = os.path.join(self.ws, "many")
        os.makedirs(d)
        for i in range(100_000):
            open(os.path.join(d, f"f{i:06d}"), "w").close()
        # The scan runs off the I/O thread: /health answers while the listing is under way.
        # (Its speed is measured, not asserted here: see the note.)
        result = {}

        def listing():
            result["r"] = self.agent.get("/files?path=many")
        t = threading.Thread(target=listing)
        t.start()
        time.sleep(0.02)
        self.assertEqual(self.agent.get("/health").status, 200)
        t.join(timeout=120)
        items = result["r"].json()["items"]
        self.assertEqual(len(items), 100_000)
        self.assertEqual(items[0]["name"], "f000000")
        self.assertEqual(items[-1]["name"], "f099999")

    def test_delete_mkdir_move(self):
        r = self.agent.post("/files/mkdir", body={"path": "m/n/o"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.agent.post("/files/mkdir", body={"path": "m/n/o"}).status, 409)
        self.agent.request("PUT", "/files/m/f.txt", body=b"f")
        r = self.agent.post("/files/move", body={"from": "m/f.txt", "to": "m/g.txt"})
        self.assertEqual(r.status, 200, r)
        self.agent.request("PUT", "/files/m/h.txt", body=b"h")
        self.assertEqual(self.agent.post("/files/move", body={"from": "m/h.txt",
                                                              "to": "m/g.txt"}).status, 409)
        self.assertEqual(self.agent.post("/files/move", body={"from": "m/h.txt", "to": "m/g.txt",
                                                              "overwrite": True}).status, 200)
        with open(os.path.join(self.ws, "m", "g.txt")) as f:
            self.assertEqual(f.read(), "h")
        self.assertEqual(self.agent.request("DELETE", "/files?path=m").status, 409)
        self.assertEqual(self.agent.request("DELETE", "/files?path=m&recursive=true").status, 200)
        self.assertFalse(os.path.exists(os.path.join(self.ws, "m")))
        self.assertEqual(self.agent.request("DELETE", "/files?path=m").status, 404)
        self.assertEqual(self.agent.request("DELETE", "/files?path=").status, 400)

    def test_upload_cut_off_leaves_nothing(self):
        s = self.agent.connect()
        body, headers = multipart([("file", "partial.bin", b"z" * 4_000_000)])
        head = (f"POST /upload HTTP/1.1\r\nHost: x\r\nX-API-Key: {self.agent.key}\r\n"
                f"Content-Type: {headers['Content-Type']}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        s.sendall(head + body[: len(body) // 2])
        time.sleep(0.3)
        s.close()
        time.sleep(0.5)
        self.assertFalse(os.path.exists(os.path.join(self.ws, "partial.bin")))
        self.assertEqual(os.listdir(os.path.join(self.agent.data_dir, "uploads")), [])

    def test_upload_limit_413(self):
        with Agent("--set", "limits.max_upload_bytes=1000") as a:
            body, headers = multipart([("file", "big.bin", b"x" * 5000)])
            r = a.request("POST", "/upload", body=body, headers=headers)
            self.assertEqual(r.status, 413, r)
            self.assertFalse(os.path.exists(os.path.join(a.data_dir, "workspace", "big.bin")))


class Safety(unittest.TestCase):
    def test_roots_traversal_and_symlinks(self):
        root = tempfile.mkdtemp(prefix="moccha-root-")
        ws = os.path.join(root, "ws")
        os.makedirs(ws)
        os.symlink("/etc", os.path.join(ws, "etc-link"))
        with open(os.path.join(ws, "ok.txt"), "w") as f:
            f.write("ok")
        with Agent("--set", f'files.roots=["{root}"]', "--set", f"workspace={ws}") as a:
            self.assertEqual(a.get("/files").status, 200)
            self.assertEqual(a.get("/files?path=..").json()["path"], root)  # the root itself
            for path in ("/etc", "../..", "etc-link", "/", "ok.txt/../../.."):
                with self.subTest(path=path):
                    self.assertEqual(a.get("/files?path=" + urllib.parse.quote(path)).status, 403)
            self.assertEqual(a.get("/download//etc/hostname").status, 403)
            self.assertEqual(a.get("/download/etc-link/hostname").status, 403)
            self.assertEqual(a.get("/download/%2E%2E/%2E%2E/etc/passwd").status, 403)
            self.assertEqual(a.get("/download?path=/etc/passwd").status, 403)
            self.assertEqual(a.get("/download/ok.txt").body, b"ok")
            body, headers = multipart([("path", None, b"/tmp"), ("file", "x.txt", b"x")])
            self.assertEqual(a.request("POST", "/upload", body=body, headers=headers).status, 403)
            self.assertEqual(a.request("PUT", "/files/etc-link/evil", body=b"x").status, 403)
            self.assertEqual(a.post("/files/move", body={"from": "ok.txt",
                                                         "to": "/tmp/stolen"}).status, 403)
            self.assertEqual(a.request("DELETE", "/files?path=/etc/hostname").status, 403)

    def test_leftover_temp_files_swept_at_start(self):
        data = tempfile.mkdtemp(prefix="moccha-sweep-")
        with Agent(data_dir=data):
            pass
        leftover = os.path.join(data, "uploads", ".moccha-upload-deadbeef")
        with open(leftover, "w") as f:
            f.write("half")
        with Agent(data_dir=data):
            self.assertFalse(os.path.exists(leftover))


class Memory(unittest.TestCase):
    def test_rss_flat_during_2_gib_upload_and_download(self):
        size = 2 << 30
        with Agent("--no-rate-limit") as a:
            base = rss_kb(a.proc.pid)
            peak = [base]
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    peak[0] = max(peak[0], rss_kb(a.proc.pid))
                    time.sleep(0.05)
            t = threading.Thread(target=sample)
            t.start()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=120)
                chunk = b"\x5a" * (1 << 20)
                conn.putrequest("PUT", "/files/huge.bin")
                conn.putheader("X-API-Key", a.key)
                conn.putheader("Content-Length", str(size))
                conn.endheaders()
                for _ in range(size // len(chunk)):
                    conn.send(chunk)
                r = conn.getresponse()
                self.assertEqual(r.status, 200, r.read())
                r.read()
                conn.request("GET", "/download/huge.bin", headers={"X-API-Key": a.key})
                r = conn.getresponse()
                got = 0
                while True:
                    piece = r.read(1 << 20)
                    if not piece:
                        break
                    got += len(piece)
                self.assertEqual(got, size)
                conn.close()
            finally:
                stop.set()
                t.join()
                path = os.path.join(a.data_dir, "workspace", "huge.bin")
                if os.path.exists(path):
                    os.remove(path)
            growth_mib = (peak[0] - base) / 1024
            print(f"\nRSS {base / 1024:.1f} MiB at rest, peak growth {growth_mib:.1f} MiB "
                  f"over a 2 GiB upload and download")
            self.assertLess(growth_mib, 32)


class Cli(unittest.TestCase):
    def test_ls_upload_download_resume(self):
        with Agent("--no-rate-limit") as a:
            env = {"MOCCHA_URL": a.url, "MOCCHA_API_KEY": a.key}
            tmp = tempfile.mkdtemp()
            src = os.path.join(tmp, "data file.bin")
            data = os.urandom(3_000_000)
            with open(src, "wb") as f:
                f.write(data)
            out = run_cli("upload", src, "incoming", env=env)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("incoming/data file.bin", out.stdout)
            out = run_cli("ls", "incoming", env=env)
            self.assertIn("data file.bin", out.stdout)
            self.assertIn("3000000", out.stdout)
            dst = os.path.join(tmp, "copy.bin")
            with open(dst, "wb") as f:
                f.write(data[:1_000_000])  # an interrupted earlier download
            out = run_cli("download", "incoming/data file.bin", dst, env=env)
            self.assertEqual(out.returncode, 0, out.stderr)
            with open(dst, "rb") as f:
                self.assertEqual(f.read(), data)
            out = run_cli("download", "incoming/nope.bin", os.path.join(tmp, "n"), env=env)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("404", out.stderr)
            self.assertFalse(os.path.exists(os.path.join(tmp, "n")))

            # A directory as a zip, named after it, in the current directory.
            out = run_cli("download", "incoming", "--zip", env=env, cwd=tmp)
            self.assertEqual(out.returncode, 0, out.stderr)
            import zipfile
            with zipfile.ZipFile(os.path.join(tmp, "incoming.zip")) as z:
                self.assertEqual(z.read("incoming/data file.bin"), data)
            self.assertFalse(os.path.exists(os.path.join(tmp, "incoming.zip.part")))
            out = run_cli("download", "incoming", "--tar-gz", os.path.join(tmp, "i.tgz"), env=env)
            self.assertEqual(out.returncode, 0, out.stderr)
            listing = subprocess.run(["tar", "-tzf", os.path.join(tmp, "i.tgz")],
                                     capture_output=True, text=True)
            self.assertIn("incoming/data file.bin", listing.stdout)
            out = run_cli("download", "incoming", os.path.join(tmp, "d"), env=env)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("format=zip", out.stderr)  # says how to get a directory
            self.assertFalse(os.path.exists(os.path.join(tmp, "d")))


if __name__ == "__main__":
    unittest.main()
