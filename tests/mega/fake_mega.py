#!/usr/bin/python3
"""A fake MEGA API for the tests (MEGA's servers cannot be reached here), on loopback only.

It speaks MEGA's protocol as its clients do (doc/protocols/mega.md; megatools lib/mega.c, megajs
lib/*.mjs): accounts v1 and v2 with real 2048-bit RSA keys and optional 2FA; the commands
us0 us ug uq f u p g l m a d sml; ciphertext kept as uploaded (on disk) and served by byte
ranges; a 36-byte completion token for the last chunk of an upload; public file and folder
links. It is checked by megajs (tests/mega/check.mjs), a client Moccha did not write.

  fake_mega.py PORT DIR ACCOUNTS.json [CERT KEY]   prints "ready" when it listens; stops on SIGTERM

With CERT and KEY it also answers the API over TLS on 127.0.0.1:443, for megatools, whose API
address is fixed (https://g.api.mega.co.nz/): the test runs it in a mount namespace where that
name is 127.0.0.1 and the test's CA is trusted. Transfer URLs stay plain HTTP on PORT (ssl: 0).

ACCOUNTS.json: [{"email", "password", "version": 1|2, "mfa": "123456"?, "storage_total"?}].
POST /_fault {"command": "us", "code": -3, "times": 1} makes the next matching commands fail
with that code (-3, -9, -15, -17), {"hashcash": 1} answers the next request 402, and
{"drop_download": N} cuts the next download off after N bytes (its Content-Length promised
more), as a dropped connection does."""
import base64
import hashlib
import json
import os
import secrets
import signal
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hashes import SHA512
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64(s):
    s = s.replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def ecb(key, data, encrypt=True):
    c = Cipher(algorithms.AES(key), modes.ECB())
    op = c.encryptor() if encrypt else c.decryptor()
    return op.update(data) + op.finalize()


def cbc(key, data, encrypt=True):
    c = Cipher(algorithms.AES(key), modes.CBC(b"\0" * 16))
    op = c.encryptor() if encrypt else c.decryptor()
    return op.update(data) + op.finalize()


def pad16(b):
    return b + b"\0" * (-len(b) % 16)


def prepare_key(password):
    key = bytes.fromhex("93C467E37DB0C7A4D1BE3F810152CB56")
    blocks = [pad16(password[i:i + 16]) for i in range(0, max(len(password), 1), 16)]
    ciphers = [Cipher(algorithms.AES(b), modes.ECB()).encryptor() for b in blocks]
    for _ in range(65536):
        for c in ciphers:
            key = c.update(key)
    return key


def user_hash_v1(email, pw_key):
    h = bytearray(16)
    for i, c in enumerate(email.encode()):
        h[i % 16] ^= c
    enc = Cipher(algorithms.AES(pw_key), modes.ECB()).encryptor()
    h = bytes(h)
    for _ in range(16384):
        h = enc.update(h)
    return b64(h[0:4] + h[8:12])


def mpi(n):
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return struct.pack(">H", n.bit_length()) + raw


def handle(n=8):
    return b64(secrets.token_bytes(6 if n == 8 else 9))[:n]


class Account:
    def __init__(self, spec, root):
        self.email = spec["email"].lower()
        self.password = spec["password"].encode()
        self.version = spec.get("version", 1)
        self.mfa = spec.get("mfa")
        self.storage_total = spec.get("storage_total", 20 << 30)
        self.user = handle(11)
        self.master = secrets.token_bytes(16)
        if self.version == 2:
            self.salt = secrets.token_bytes(32)
            out = PBKDF2HMAC(SHA512(), 32, self.salt, 100000).derive(self.password)
            self.pw_key, self.uh = out[:16], b64(out[16:])
        else:
            self.pw_key = prepare_key(self.password)
            self.uh = user_hash_v1(self.email, self.pw_key)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pn = key.private_numbers()
        self.p, self.q, self.d, self.n, self.e = pn.p, pn.q, pn.d, pn.public_numbers.n, 65537
        self.u = pow(self.p, -1, self.q)  # MEGA's u = p^-1 mod q
        self.dir = os.path.join(root, self.user)
        os.makedirs(self.dir, exist_ok=True)
        now = int(time.time())
        self.shares = {}  # folder handle -> {"key": share key, "ok", "ha"} (s2 with EXP)
        self.nodes = {}
        for t in (2, 3, 4):
            h = handle()
            self.nodes[h] = {"h": h, "p": "", "u": self.user, "t": t, "a": "", "k": "", "ts": now}
            setattr(self, {2: "root", 3: "inbox", 4: "rubbish"}[t], h)

    def privk(self):
        return b64(ecb(self.master, pad16(mpi(self.p) + mpi(self.q) + mpi(self.d) + mpi(self.u))))

    def used(self):
        return sum(n.get("s", 0) for n in self.nodes.values() if n["t"] == 0)

    def node_key(self, node):
        """The plaintext key of one of our nodes (its k is under the master key)."""
        enc = unb64(node["k"].split(":", 1)[1])
        return ecb(self.master, enc, encrypt=False)


class Fake:
    def __init__(self, port, root, accounts):
        self.port = port
        self.root = root
        self.lock = threading.Lock()
        self.accounts = {a["email"].lower(): Account(a, root) for a in accounts}
        self.sessions = {}   # sid -> account
        self.uploads = {}    # upload id -> {"account", "size", "path", "received"}
        self.tokens = {}     # completion token (b64) -> upload id
        self.links = {}      # public handle -> (account, node handle)
        self.faults = []     # [{"command", "code", "times"}]
        self.hashcash = 0
        self.drop_download = None  # bytes after which the next download is cut off

    # -- the API ---------------------------------------------------------------------------

    def fault_for(self, command):
        for f in self.faults:
            if f["command"] in (command, "*") and f["times"] > 0:
                f["times"] -= 1
                return f["code"]
        return None

    def run(self, commands, sid, folder):
        acct = self.sessions.get(sid) if sid else None
        if sid and not acct:
            return -15
        out = []
        for c in commands:
            name = c.get("a")
            code = self.fault_for(name)
            if code is not None:
                out.append(code)
                continue
            fn = getattr(self, "cmd_" + str(name), None)
            if fn is None:
                print(f"fake MEGA: unknown command {c}", file=sys.stderr, flush=True)
                out.append(-2)
                continue
            if name not in ("us0", "us", "g") and not acct and not (name == "f" and folder):
                out.append(-15 if sid else -11)
                continue
            try:
                out.append(fn(c, acct, folder))
            except (KeyError, ValueError, TypeError) as e:
                print(f"fake MEGA: {name} refused: {e!r} in {c}", file=sys.stderr, flush=True)
                out.append(-2)
        return out

    def cmd_us0(self, c, acct, folder):
        a = self.accounts.get(c["user"].lower())
        if a and a.version == 2:
            return {"v": 2, "s": b64(a.salt)}
        return {"v": 1}

    def cmd_us(self, c, acct, folder):
        a = self.accounts.get(c["user"].lower())
        if not a or c.get("uh") != a.uh:
            return -9
        if a.mfa and "mfa" not in c:
            return -26
        if a.mfa and c["mfa"] != a.mfa:
            return -26
        raw = secrets.token_bytes(43)
        plain = b"\x01" + raw + secrets.token_bytes(210)  # first byte non-zero: no bytes lost
        sid = b64(plain[:43])
        self.sessions[sid] = a
        csid = b64(mpi(pow(int.from_bytes(plain, "big"), a.e, a.n)))
        return {"k": b64(ecb(a.pw_key, a.master)), "privk": a.privk(), "csid": csid}

    def cmd_ug(self, c, a, folder):
        return {"u": a.user, "email": a.email, "name": a.email.split("@")[0], "k": b64(ecb(a.pw_key, a.master)),
                "privk": a.privk(), "pubk": b64(mpi(a.n) + mpi(a.e)), "since": 1700000000,
                "s": 1}

    def cmd_uq(self, c, a, folder):
        return {"mstrg": a.storage_total, "cstrg": a.used(), "mxfer": 1 << 40, "caxfer": 0,
                "csxfer": 0, "utype": 0, "srvratio": 0}

    def cmd_f(self, c, a, folder):
        if folder:  # a public folder link: its subtree, keys under the folder's key
            owner, top = self.links.get(folder, (None, None))
            if not owner:
                return -9
            share = owner.shares.get(top)
            fkey = share["key"] if share else owner.node_key(owner.nodes[top])
            nodes = []
            for n in self.subtree(owner, top):
                enc = ecb(fkey, owner.node_key(n))
                nodes.append({**n, "k": f"{top}:{b64(enc)}", "p": n["p"] if n["h"] != top else ""})
            return {"f": nodes, "ok": [], "s": [], "u": [], "sn": b64(secrets.token_bytes(8))}
        nodes = list(a.nodes.values())
        ph = [{"h": h, "ph": ph} for ph, (o, h) in self.links.items() if o is a]
        ok = [{"h": h, "k": sh["ok"], "ha": sh["ha"]} for h, sh in a.shares.items()]
        return {"f": nodes, "ok": ok, "s": [], "u": [{"u": a.user, "c": 0, "m": a.email}],
                "ph": ph, "sn": b64(secrets.token_bytes(8))}

    def subtree(self, a, top):
        out, todo = [], [top]
        while todo:
            h = todo.pop()
            out.append(a.nodes[h])
            todo += [n["h"] for n in a.nodes.values() if n["p"] == h]
        return out

    def cmd_u(self, c, a, folder):
        size = int(c["s"])
        if a.used() + size > a.storage_total:
            return -17
        uid = handle(11)
        path = os.path.join(a.dir, "upload-" + uid)
        open(path, "wb").close()
        self.uploads[uid] = {"account": a, "size": size, "path": path, "received": 0}
        return {"p": f"http://127.0.0.1:{self.port}/ul/{uid}"}

    def cmd_p(self, c, a, folder):
        parent = c["t"]
        if parent not in a.nodes:
            return -9
        made = []
        for n in c["n"]:
            h = handle()
            node = {"h": h, "p": parent, "u": a.user, "t": int(n["t"]), "a": n["a"],
                    "k": f"{a.user}:{n['k']}", "ts": int(time.time())}
            if node["t"] == 0:
                uid = self.tokens.pop(n["h"], None)
                if uid is None:
                    return -9
                up = self.uploads.pop(uid)
                node["s"] = up["size"]
                os.rename(up["path"], os.path.join(a.dir, h))
            a.nodes[h] = node
            made.append(node)
        return {"f": made}

    def cmd_g(self, c, a, folder):
        if "p" in c:
            owner, h = self.links.get(c["p"], (None, None))
        elif folder:
            owner, _ = self.links.get(folder, (None, None))
            h = c.get("n")
        else:
            owner, h = a, c.get("n")
        if not owner or h not in owner.nodes or owner.nodes[h]["t"] != 0:
            return -9
        node = owner.nodes[h]
        return {"g": f"http://127.0.0.1:{self.port}/dl/{owner.user}/{h}", "s": node["s"],
                "at": node["a"], "msd": 1}

    def cmd_s2(self, c, a, folder):
        """Sharing a folder by link (EXP): its share key, under the master key."""
        if c["n"] not in a.nodes:
            return -9
        if any(x.get("r") == "" for x in c.get("s", [])):
            a.shares.pop(c["n"], None)
            return 0
        a.shares[c["n"]] = {"key": ecb(a.master, unb64(c["ok"]), encrypt=False), "ok": c["ok"],
                            "ha": c["ha"]}
        return 0

    def cmd_l(self, c, a, folder):
        if c["n"] not in a.nodes:
            return -9
        for ph, (o, h) in self.links.items():
            if o is a and h == c["n"]:
                return ph
        ph = handle()
        self.links[ph] = (a, c["n"])
        return ph

    def cmd_m(self, c, a, folder):
        if c["n"] not in a.nodes or c["t"] not in a.nodes:
            return -9
        a.nodes[c["n"]]["p"] = c["t"]
        return 0

    def cmd_a(self, c, a, folder):
        if c["n"] not in a.nodes:
            return -9
        a.nodes[c["n"]]["a"] = c["at"]
        return 0

    def cmd_d(self, c, a, folder):
        if c["n"] not in a.nodes:
            return -9
        for n in self.subtree(a, c["n"]):
            del a.nodes[n["h"]]
            if n["t"] == 0 and os.path.exists(os.path.join(a.dir, n["h"])):
                os.remove(os.path.join(a.dir, n["h"]))
        return 0

    def cmd_sml(self, c, a, folder):
        for sid in [s for s, x in self.sessions.items() if x is a]:
            del self.sessions[sid]
        return 0


def serve(fake, port=None):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def reply(self, status, body, ctype="application/json", headers=()):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def body(self):
            return self.rfile.read(int(self.headers.get("Content-Length", "0")))

        def do_POST(self):
            url = urlparse(self.path)
            data = self.body()
            if url.path == "/cs":
                q = parse_qs(url.query)
                with fake.lock:
                    if fake.hashcash and self.headers.get("X-Hashcash") is None:
                        fake.hashcash -= 1
                        token = b64(secrets.token_bytes(48))
                        fake.pending_hashcash = token
                        return self.reply(402, b"", headers=[("X-Hashcash", f"1:255:{int(time.time())}:{token}")])
                    if self.headers.get("X-Hashcash") and not check_hashcash(
                            getattr(fake, "pending_hashcash", ""), self.headers["X-Hashcash"]):
                        return self.reply(402, b"")
                    try:
                        commands = json.loads(data)
                    except ValueError:
                        return self.reply(200, b"-2")
                    out = fake.run(commands, q.get("sid", [None])[0], q.get("n", [None])[0])
                return self.reply(200, json.dumps(out).encode())
            if url.path == "/_fault":
                f = json.loads(data)
                with fake.lock:
                    if "hashcash" in f:
                        fake.hashcash = f["hashcash"]
                    elif "drop_download" in f:
                        fake.drop_download = int(f["drop_download"])
                    else:
                        fake.faults.append({"command": f["command"], "code": f["code"],
                                            "times": f.get("times", 1)})
                return self.reply(200, b"{}")
            if url.path.startswith("/dl/"):  # megatools POSTs its range requests
                return self.do_GET()
            if url.path.startswith("/ul/"):
                _, _, uid, offset = url.path.split("/")[:4]
                with fake.lock:
                    up = fake.uploads.get(uid)
                    if not up:
                        return self.reply(404, b"-9")
                    with open(up["path"], "r+b") as f:
                        f.seek(int(offset))
                        f.write(data)
                    up["received"] += len(data)
                    if up["received"] < up["size"]:
                        return self.reply(200, b"", "application/octet-stream")
                    token = secrets.token_bytes(36)
                    fake.tokens[b64(token)] = uid
                return self.reply(200, token, "application/octet-stream")
            return self.reply(404, b"")

        def do_GET(self):
            url = urlparse(self.path)
            parts = url.path.split("/")
            if url.path == "/_state":  # for the tests: what is left of the faults asked for
                with fake.lock:
                    state = {"faults": sum(f["times"] for f in fake.faults),
                             "hashcash": fake.hashcash}
                    if fake.drop_download is not None:
                        state["drop_download"] = fake.drop_download
                return self.reply(200, json.dumps(state).encode())
            if len(parts) >= 4 and parts[1] == "dl":
                user, h = parts[2], parts[3]
                owner = next((a for a in fake.accounts.values() if a.user == user), None)
                path = os.path.join(owner.dir, h) if owner else ""
                if not os.path.exists(path):
                    return self.reply(404, b"")
                size = os.path.getsize(path)
                start, end = 0, size - 1
                if len(parts) >= 5 and parts[4]:
                    a, _, b = parts[4].partition("-")
                    start, end = int(a), min(int(b) if b else size - 1, size - 1)
                with open(path, "rb") as f:
                    f.seek(start)
                    data = f.read(max(0, end - start + 1))
                with fake.lock:
                    drop, fake.drop_download = fake.drop_download, None
                if drop is not None and drop < len(data):
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[:drop])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                return self.reply(200, data, "application/octet-stream")
            return self.reply(404, b"")

        def log_message(self, *a):
            pass

    return ThreadingHTTPServer(("127.0.0.1", port or fake.port), Handler)


def check_hashcash(token, header):
    """The server's side of megajs's generateHashcashToken (easiness 255)."""
    try:
        version, got, prefix = header.split(":")
        prefix = unb64(prefix)
    except ValueError:
        return False
    if version != "1" or got != token or len(prefix) != 4:
        return False
    digest = hashlib.sha256(prefix + unb64(token) * 262144).digest()
    return int.from_bytes(digest[:4], "big") <= (127 << 24)


def main():
    port, root, accounts = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    with open(accounts) as f:
        fake = Fake(port, root, json.load(f))
    servers = [serve(fake)]
    if len(sys.argv) > 5:
        import ssl
        tls = serve(fake, 443)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[4], sys.argv[5])
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        servers.append(tls)

    def stop(*_):
        for s in servers:
            threading.Thread(target=s.shutdown).start()
    signal.signal(signal.SIGTERM, stop)
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("ready", flush=True)
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
