"""The dashboard's login and the browser checks (http/web_guard.h), over real HTTP: the key
exchanged once for an HttpOnly cookie, the cookie held to Origin / Sec-Fetch-Site / CSRF checks,
the Host allow-list, one-time login links, sessions kept across a restart, and the embedded
files served with ETags."""
import gzip
import re
import time
import unittest

from agent import Agent, wait_for


def login(agent, credential=None):
    r = agent.post("/auth/session", key=credential or agent.key)
    assert r.status == 200, r
    cookie = r.headers["Set-Cookie"]
    name_value = cookie.split(";")[0]
    return name_value, r.json()["csrf_token"], cookie


def browser(agent, cookie, **extra):
    """Headers a same-origin page sends, with the session cookie and no key."""
    h = {"Cookie": cookie, "Host": f"127.0.0.1:{agent.port}", "Sec-Fetch-Site": "same-origin"}
    h.update(extra)
    return h


class WebAuthTest(unittest.TestCase):
    def setUp(self):
        self.agent = Agent()
        self.addCleanup(self.agent.stop)

    def test_the_key_buys_an_http_only_strict_cookie_named_after_the_port(self):
        cookie, csrf, header = login(self.agent)
        self.assertRegex(cookie, rf"^moccha_{self.agent.port}=[0-9a-f]{{64}}$")
        self.assertIn("HttpOnly", header)
        self.assertIn("SameSite=Strict", header)
        self.assertIn("Path=/", header)
        self.assertNotIn("Secure", header)  # plain HTTP on loopback
        self.assertNotIn(self.agent.key, header)
        self.assertRegex(csrf, r"^[0-9a-f]{64}$")
        # Over a TLS tunnel the cookie is Secure.
        r = self.agent.post("/auth/session", headers={"X-Forwarded-Proto": "https"})
        self.assertIn("Secure", r.headers["Set-Cookie"])

    def test_the_cookie_reads_and_gives_the_csrf_token_back_after_a_reload(self):
        cookie, csrf, _ = login(self.agent)
        r = self.agent.get("/auth/session", key=None, headers=browser(self.agent, cookie))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["csrf_token"], csrf)
        self.assertTrue(r.json()["logged_in"])
        # Without the cookie: not logged in, said without an error.
        r = self.agent.get("/auth/session", key=None)
        self.assertEqual((r.status, r.json()["logged_in"], r.json()["csrf_token"]), (200, False, None))
        # Asked from another origin: refused.
        r = self.agent.get("/auth/session", key=None,
                           headers=browser(self.agent, cookie, Origin="http://127.0.0.1:1"))
        self.assertEqual(r.status, 403)
        self.assertEqual(self.agent.get("/status", key=None,
                                        headers=browser(self.agent, cookie)).status, 200)
        # A wrong cookie is a 401, as is none.
        bad = browser(self.agent, cookie[:-4] + "0000")
        self.assertEqual(self.agent.get("/status", key=None, headers=bad).status, 401)
        self.assertEqual(self.agent.get("/status", key=None).status, 401)

    def test_cookie_writes_need_the_csrf_token_and_the_pages_origin(self):
        cookie, csrf, _ = login(self.agent)
        origin = f"http://127.0.0.1:{self.agent.port}"
        cases = [
            ({}, "X-CSRF-Token"),
            ({"X-CSRF-Token": "0" * 64}, "wrong X-CSRF-Token"),
            ({"X-CSRF-Token": csrf, "Origin": "http://127.0.0.1:1"}, "Origin"),
            ({"X-CSRF-Token": csrf, "Sec-Fetch-Site": "same-site"}, "Sec-Fetch-Site"),
        ]
        for extra, why in cases:
            with self.subTest(extra=extra):
                r = self.agent.post("/files/mkdir", {"path": "x"}, key=None,
                                    headers=browser(self.agent, cookie, **extra))
                self.assertEqual(r.status, 403, r)
                self.assertEqual(r.json()["error"], "cross-site request refused")
                self.assertIn(why, r.json()["message"])
        # Neither Origin nor Sec-Fetch-Site: not shown to be the page's own.
        h = {"Cookie": cookie, "X-CSRF-Token": csrf}
        self.assertEqual(self.agent.post("/files/mkdir", {"path": "x"}, key=None,
                                         headers=h).status, 403)
        ok = browser(self.agent, cookie, **{"X-CSRF-Token": csrf, "Origin": origin})
        r = self.agent.post("/files/mkdir", {"path": "made-by-browser"}, key=None, headers=ok)
        self.assertEqual(r.status, 201, r)
        self.assertIn("refused a cross-site request", self.agent.log())
        # The key in a header is unchanged: no CSRF, no Origin needed.
        self.assertEqual(self.agent.post("/files/mkdir", {"path": "by-key"}).status, 201)

    def test_cross_site_reads_and_upgrades_are_refused(self):
        cookie, _, _ = login(self.agent)
        foreign = browser(self.agent, cookie, Origin="http://127.0.0.1:1")
        self.assertEqual(self.agent.get("/events", key=None, headers=foreign).status, 403)
        cross = browser(self.agent, cookie, **{"Sec-Fetch-Site": "cross-site"})
        self.assertEqual(self.agent.get("/status", key=None, headers=cross).status, 403)
        # A WebSocket upgrade with the cookie and no Origin is refused before any 101.
        ws = {"Cookie": cookie, "Upgrade": "websocket", "Connection": "Upgrade"}
        r = self.agent.get("/events", key=None, headers=ws)
        self.assertEqual(r.status, 403, r)
        self.assertIn("without Origin", r.json()["message"])

    def test_unknown_host_names_are_refused_but_ip_literals_and_localhost_pass(self):
        for host in ("evil.example", "evil.example:%d" % self.agent.port, "127.0.0.1.nip.io"):
            r = self.agent.get("/", key=None, headers={"Host": host})
            self.assertEqual(r.status, 403, host)
            self.assertEqual(r.json()["error"], "unknown Host")
        for host in ("localhost:9000", "app.localhost", "127.0.0.1:9000", "[::1]:5000", "10.1.2.3"):
            self.assertEqual(self.agent.get("/", key=None, headers={"Host": host}).status, 200, host)
        # With the key, any name: API clients are not browsers.
        self.assertEqual(self.agent.get("/status", headers={"Host": "box.lan"}).status, 200)

    def test_configured_host_names_are_allowed(self):
        with Agent("--set", "web.allowed_hosts=[\"box.lan\", \"*.example.net\"]") as a:
            for host, status in (("box.lan:5000", 200), ("x.example.net", 200),
                                 ("example.net", 403), ("other.lan", 403)):
                self.assertEqual(a.get("/", key=None, headers={"Host": host}).status, status, host)

    def test_a_login_link_works_once(self):
        line = self.agent.proc.stdout.readline()
        m = re.search(r"#login=([0-9a-f]{32})", line)
        self.assertTrue(m, line)
        code = m.group(1)
        self.assertNotIn(code, self.agent.log())
        cookie, csrf, _ = login(self.agent, code)
        self.assertTrue(csrf)
        r = self.agent.post("/auth/session", key=code)
        self.assertEqual(r.status, 401, r)
        # The code is no key: it opens nothing else.
        self.assertEqual(self.agent.get("/status", key=code).status, 401)

    def test_failed_logins_slow_down_per_client_and_the_key_still_gets_in(self):
        with Agent("--no-rate-limit", "--set", "rate_limit.auth_failures=2") as a:
            for guess in ("wrong-key", "0" * 32):  # a wrong key, a wrong one-time code
                self.assertEqual(a.post("/auth/session", key=guess).status, 401)
            waits = []
            for _ in range(3):
                t0 = time.monotonic()
                self.assertEqual(a.post("/auth/session", key="wrong-key").status, 401)
                waits.append(time.monotonic() - t0)
            self.assertGreaterEqual(waits[0], 0.09)  # 100 ms, then doubling
            self.assertGreaterEqual(waits[2], 0.35)
            t0 = time.monotonic()
            self.assertEqual(a.post("/auth/session").status, 200)
            self.assertLess(time.monotonic() - t0, 2)

    def test_log_out_ends_the_session(self):
        cookie, csrf, _ = login(self.agent)
        h = browser(self.agent, cookie, **{"X-CSRF-Token": csrf})
        r = self.agent.request("DELETE", "/auth/session", key=None, headers=h)
        self.assertEqual(r.status, 200, r)
        self.assertIn("Max-Age=0", r.headers["Set-Cookie"])
        self.assertEqual(self.agent.get("/status", key=None, headers=browser(self.agent, cookie)).status, 401)

    def test_sessions_survive_a_restart_but_not_a_new_key(self):
        self.agent.stop()
        with Agent(keep_data=True) as a:
            cookie_value, csrf, _ = login(a)
            data = a.data_dir
            tmp = a.tmp
        with Agent(data_dir=data, keep_data=True) as b:
            name = f"moccha_{b.port}="
            # The cookie's name carries the port, which changed: the same value, renamed.
            cookie = name + cookie_value.split("=", 1)[1]
            r = b.get("/auth/session", key=None, headers=browser(b, cookie))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["csrf_token"], csrf)
        with Agent(data_dir=data, api_key="another-key-0123456789", keep_data=True) as c:
            cookie = f"moccha_{c.port}=" + cookie_value.split("=", 1)[1]
            r = c.get("/auth/session", key=None, headers=browser(c, cookie))
            self.assertFalse(r.json()["logged_in"])
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)

    def test_the_dashboard_is_served_gzipped_with_etags_and_a_strict_policy(self):
        r = self.agent.get("/", key=None, headers={"Accept-Encoding": "gzip"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["Content-Encoding"], "gzip")
        page = gzip.decompress(r.body).decode()
        self.assertIn('<script type="module" src="/assets/main.js">', page)
        csp = r.headers["Content-Security-Policy"]
        self.assertIn("script-src 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertNotIn("unsafe-eval", csp)
        self.assertNotIn("'unsafe-inline'", csp.split("script-src")[1].split(";")[0])
        self.assertEqual(r.headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(r.headers["Referrer-Policy"], "no-referrer")
        etag = r.headers["ETag"]
        again = self.agent.get("/", key=None, headers={"Accept-Encoding": "gzip",
                                                      "If-None-Match": etag})
        self.assertEqual(again.status, 304)
        plain = self.agent.get("/", key=None)
        self.assertNotIn("Content-Encoding", plain.headers)
        self.assertEqual(plain.body.decode(), page)
        self.assertNotEqual(plain.headers["ETag"], etag)
        js = self.agent.get("/assets/main.js", key=None)
        self.assertEqual(js.status, 200)
        self.assertTrue(js.headers["Content-Type"].startswith("text/javascript"))
        self.assertEqual(self.agent.get("/assets/nope.js", key=None).status, 404)
        # API replies carry the sandboxing policy: a user's file opened in a tab cannot script.
        self.assertIn("sandbox", self.agent.get("/status").headers["Content-Security-Policy"])

    def test_status_stream_sends_samples(self):
        conn = self.agent.connect()
        conn.sendall(f"GET /status/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {self.agent.key}\r\n\r\n".encode())
        data = b""
        conn.settimeout(10)
        while data.count(b"event: sample") < 2:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        conn.close()
        self.assertGreaterEqual(data.count(b"event: sample"), 2, data)
        self.assertIn(b'"agent_rss_bytes"', data)
        self.assertIn(b'"net_rx_bps"', data)


if __name__ == "__main__":
    unittest.main()
