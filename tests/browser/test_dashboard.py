"""The dashboard in a real browser: Debian's Chromium, headless, driven by Debian's Selenium
(run with /usr/bin/python3, which has it), against the real agent and a real deluged.

Screenshots of each page in desktop, phone and dark layouts go to $MOCCHA_SCREENS (default
build/screens) for review."""
import http.server
import json
import os
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from agent import Agent, wait_for  # noqa: E402
from test_services import loopback_config  # noqa: E402
from test_torrents import make_torrent  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

SCREENS = os.environ.get("MOCCHA_SCREENS") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "screens")


# Every page of the app, by its data-testid "<name>-page".
PAGES = ["overview", "services", "torrents", "downloads", "files", "console", "terminal",
         "logs"]
AXE = os.path.join(os.path.dirname(__file__), "..", "..", "web", "node_modules", "axe-core",
                   "axe.min.js")


def make_driver():
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,800", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--disable-default-apps"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path="/usr/bin/chromedriver")
    return webdriver.Chrome(options=o, service=service)


def testid(name):
    return (By.CSS_SELECTOR, f'[data-testid="{name}"]')


class Dashboard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # A HOME without rc files: the terminal's login shell should not wait on this machine's
        # ~/.bashrc (pyenv's rehash lock).
        cls.agent = Agent(env={"HOME": tempfile.mkdtemp(prefix="moccha-browser-home-")})
        # Deluge on loopback only, DHT, LSD, UPnP and NAT-PMP off.
        r = cls.agent.post("/services/config",
                           {"service_name": "deluge", "config": loopback_config()})
        assert r.status == 200, r
        cls.driver = make_driver()
        cls.wait = WebDriverWait(cls.driver, 20)
        os.makedirs(SCREENS, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.agent.stop()

    def setUp(self):
        self.driver.delete_all_cookies()
        self.driver.get(self.agent.url + "/")
        self.driver.get_log("browser")  # start each test with an empty console

    def find(self, name):
        return self.wait.until(lambda d: d.find_element(*testid(name)))

    def log_in(self):
        self.find("login-key").send_keys(self.agent.key)
        self.find("login-submit").click()
        self.find("overview-page")

    def assert_clean_console(self, refused=()):
        """No script error and no CSP violation; a failed request only if it is one of
        `refused` (a path the test sends something wrong to, on purpose)."""
        bad = [e for e in self.driver.get_log("browser")
               if (e["level"] == "SEVERE" or "Content Security Policy" in e["message"]) and
               not (e.get("source") == "network" and any(p in e["message"] for p in refused))]
        self.assertEqual(bad, [], "\n".join(e["message"] for e in bad))

    def shoot(self, name):
        self.driver.save_screenshot(os.path.join(SCREENS, f"{name}.png"))

    def test_log_in_see_the_overview_graph_live_and_log_out(self):
        self.find("login-page")
        self.log_in()
        # The key is nowhere a script can read: not in storage, not in a cookie, not in the URL.
        d = self.driver
        storage = d.execute_script(
            "return JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
        self.assertNotIn(self.agent.key, storage)
        self.assertEqual(d.execute_script("return document.cookie"), "")
        self.assertNotIn(self.agent.key, d.current_url)
        cookie = d.get_cookie(f"moccha_{self.agent.port}")
        self.assertTrue(cookie["httpOnly"])
        self.assertEqual(cookie["sameSite"], "Strict")
        # The CPU graph gets points from the stream.
        chart = self.find("chart-cpu")
        wait_for(lambda: int(chart.get_attribute("data-points")) >= 3, timeout=10)
        self.assertIn("%", self.find("fig-cpu").text)
        self.find("gpu-none")  # no GPU here, said so
        self.shoot("overview-desktop")
        # A reload keeps the session (the CSRF token is asked for again).
        d.refresh()
        self.find("overview-page")
        self.find("logout").click()
        self.find("login-page")
        d.refresh()
        self.find("login-page")
        self.assert_clean_console()

    def test_a_wrong_key_is_said_so(self):
        self.find("login-key").send_keys("not-the-key")
        self.find("login-submit").click()
        self.assertIn("not this agent", self.find("login-error").text)

    def test_start_and_stop_deluge_from_its_card(self):
        self.log_in()
        self.find("nav-services").click()
        state = self.find("service-deluge-state")
        self.assertEqual(state.text, "stopped")
        self.find("service-deluge-start").click()
        WebDriverWait(self.driver, 60).until(
            lambda d: d.find_element(*testid("service-deluge-state")).text == "running")
        self.assertTrue(self.agent.get("/services/deluge/status").json()["running"])
        self.shoot("services-desktop")
        self.find("service-deluge-stop").click()
        WebDriverWait(self.driver, 60).until(
            lambda d: d.find_element(*testid("service-deluge-state")).text == "stopped")
        self.assertFalse(self.agent.get("/services/deluge/status").json()["running"])
        self.assert_clean_console()

    def test_the_terminal_runs_what_is_typed_and_keeps_its_scrollback_over_a_reload(self):
        self.log_in()
        self.find("nav-terminal").click()
        state = self.find("terminal-state")
        self.wait.until(lambda d: state.text == "connected")
        rows = lambda: self.driver.find_element(By.CSS_SELECTOR, ".xterm-rows").text  # noqa: E731
        box = self.driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")
        box.send_keys("echo hi-$((40+2))\n")
        self.wait.until(lambda d: "\nhi-42" in rows())
        self.shoot("terminal-desktop")
        [t] = self.agent.get("/terminals").json()["terminals"]
        self.assertEqual(t["viewers"], 1)
        self.assertGreater(t["cols"], 80)  # fitted to the page, not the default
        self.driver.refresh()
        state = self.find("terminal-state")
        self.wait.until(lambda d: state.text == "connected")
        self.wait.until(lambda d: "\nhi-42" in rows())  # replayed from the agent's scrollback
        self.assertEqual([x["id"] for x in self.agent.get("/terminals").json()["terminals"]],
                         [t["id"]])
        self.assert_clean_console()

    def test_add_torrents_by_magnet_and_by_a_dropped_file_then_remove_one(self):
        r = self.agent.post("/services/deluge/start")
        self.assertEqual(r.status, 200, r)
        self.addCleanup(self.agent.post, "/services/deluge/stop")
        self.log_in()
        self.find("nav-torrents").click()
        self.find("torrents-table")
        magnet = "magnet:?xt=urn:btih:" + "ab" * 20 + "&dn=by-magnet"
        self.find("torrents-link").send_keys(magnet)
        self.find("torrents-add").click()
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-id="{"ab" * 20}"]'))
        # A .torrent dropped anywhere on the page: the browser's drop event, with the file.
        tmp = tempfile.mkdtemp(prefix="moccha-browser-")
        payload = os.path.join(tmp, "dropped-payload.bin")
        with open(payload, "wb") as f:
            f.write(os.urandom(100_000))
        with open(make_torrent(payload, os.path.join(tmp, "x.torrent"), 15), "rb") as f:
            torrent = list(f.read())
        self.driver.execute_script(
            "const dt = new DataTransfer();"
            "dt.items.add(new File([new Uint8Array(arguments[0])], 'x.torrent'));"
            "document.querySelector('main').dispatchEvent(new DragEvent('drop', "
            "{dataTransfer: dt, bubbles: true, cancelable: true}));", torrent)
        self.wait.until(lambda d: "dropped-payload.bin" in self.find("torrents-table").text)
        names = [t["name"] for t in self.agent.get("/services/deluge/torrents").json()["torrents"]]
        self.assertIn("dropped-payload.bin", names)
        self.shoot("torrents-desktop")
        row = self.driver.find_element(By.CSS_SELECTOR, f'[data-id="{"ab" * 20}"]')
        row.find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()
        self.find("torrents-remove").click()
        self.driver.switch_to.alert.accept()  # remove?
        self.driver.switch_to.alert.dismiss()  # and the data? no
        wait_for(lambda: len(self.agent.get("/services/deluge/torrents").json()["torrents"]) == 1,
                 timeout=15)
        self.assert_clean_console()

    def test_a_service_config_form_shows_the_agents_error_by_field_then_saves(self):
        self.log_in()
        self.find("nav-services").click()
        self.find("service-aria2-config").find_element(By.TAG_NAME, "summary").click()
        port = self.find("config-aria2-port")
        port.clear()
        port.send_keys("not-a-port")
        self.find("config-aria2-save").click()
        self.assertIn("port", self.find("config-aria2-port-error").text)
        self.assertNotEqual(self.agent.get("/services/config/aria2").json()["config"]["port"],
                            "not-a-port")
        port.clear()
        port.send_keys("6899")
        speed = self.find("config-aria2-max_download_speed")
        speed.clear()
        speed.send_keys("250")
        self.find("config-aria2-save").click()
        self.wait.until(lambda d: self.find("config-aria2-note").text == "saved")
        config = self.agent.get("/services/config/aria2").json()["config"]
        self.assertEqual((config["port"], config["max_download_speed"]), (6899, 250))
        self.shoot("services-config-desktop")
        self.assert_clean_console(refused=["/services/config"])

    def test_the_agents_log_is_followed_and_filtered(self):
        self.log_in()
        self.find("nav-logs").click()
        text = self.find("logs-text")
        self.wait.until(lambda d: "listening on" in text.text)
        # A request made now shows up: the page follows the log as it grows.
        self.agent.get("/status?marker=followed")
        self.wait.until(lambda d: "/status" in text.text)
        self.find("logs-filter").send_keys("listening on")
        self.wait.until(lambda d: "/status" not in text.text and "listening on" in text.text)
        self.assert_clean_console()

    def test_the_console_streams_output_before_the_cell_finishes(self):
        self.log_in()
        self.find("nav-console").click()
        box = self.find("console-code")
        box.send_keys("import time\nfor i in range(3):\n    print('tick', i, flush=True); "
                      "time.sleep(1)\n\n6 * 7")
        box.send_keys(Keys.CONTROL, Keys.ENTER)
        cell = self.find("cell")
        self.wait.until(lambda d: "tick 0" in cell.find_element(*testid("cell-output")).text)
        self.assertEqual(cell.get_attribute("data-status"), "running")  # still going
        self.wait.until(lambda d: cell.get_attribute("data-status") == "done")
        self.assertIn("tick 2", cell.find_element(*testid("cell-output")).text)
        self.assertEqual(cell.find_element(*testid("cell-value")).text, "42")
        self.wait.until(lambda d: "i" in self.find("console-variables").text)
        self.shoot("console-desktop")
        self.assert_clean_console()

    def test_upload_a_file_see_it_listed_then_download_it(self):
        self.log_in()
        self.find("nav-files").click()
        self.find("files-table")
        src = os.path.join(tempfile.mkdtemp(prefix="moccha-browser-"), "hello.bin")
        payload = os.urandom(300_000)
        with open(src, "wb") as f:
            f.write(payload)
        self.driver.find_element(*testid("files-upload")).send_keys(src)
        self.wait.until(lambda d: d.find_element(*testid("upload")).get_attribute("data-state") == "done")
        row = self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-name="hello.bin"]'))
        workspace = self.agent.get("/files").json()["path"]
        with open(os.path.join(workspace, "hello.bin"), "rb") as f:
            self.assertEqual(f.read(), payload)
        href = row.find_element(*testid("file-download")).get_attribute("href")
        got = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => done(Array.from(new Uint8Array(b)).slice(0, 64).concat([b.byteLength])))",
            href)
        self.assertEqual(got[-1], len(payload))
        self.assertEqual(bytes(got[:-1]), payload[:64])
        self.find("files-free")
        self.shoot("files-desktop")
        self.assert_clean_console()

    def test_downloads_says_where_a_link_cannot_go(self):
        self.log_in()
        self.find("nav-downloads").click()
        self.find("downloads-empty")
        self.find("downloads-url").send_keys("gopher://example.invalid/x")
        self.find("downloads-add").click()
        self.wait.until(lambda d: "gopher" in d.find_element(*testid("downloads-note")).text or
                        "scheme" in d.find_element(*testid("downloads-note")).text)
        self.shoot("downloads-desktop")

    def open_page(self, name):
        self.driver.execute_script(f"location.hash = '#/{name}'")
        try:
            return self.find(f"{name}-page")
        except Exception:
            self.shoot(f"failed-{name}")
            print(self.driver.execute_script("return location.href + ' ' + document.body.innerText.slice(0, 500)"), self.driver.get_log('browser'))
            raise

    def test_every_page_in_phone_and_dark_layouts_and_by_axe(self):
        self.log_in()
        d = self.driver
        with open(AXE) as f:
            axe = f.read()
        try:
            for name in PAGES:
                self.open_page(name)
                time.sleep(0.3)  # the page's first data
                self.shoot(f"{name}-desktop")
                d.execute_script(axe)
                found = d.execute_async_script(
                    "const done = arguments[arguments.length - 1];"
                    "axe.run(document, {resultTypes: ['violations']}).then(r => done("
                    "r.violations.filter(v => ['serious', 'critical'].includes(v.impact))"
                    ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))))")
                self.assertEqual(found, [], f"axe-core on {name}")
            d.set_window_size(390, 844)
            for name in PAGES:
                self.open_page(name)
                time.sleep(0.3)
                self.shoot(f"{name}-phone")
                width = d.execute_script("return document.documentElement.scrollWidth")
                self.assertLessEqual(width, 390, f"the phone layout of {name} scrolls sideways")
            d.set_window_size(1280, 800)
            d.execute_cdp_cmd("Emulation.setEmulatedMedia",
                              {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
            d.refresh()
            self.open_page("overview")
            bg = d.execute_script("return getComputedStyle(document.body).backgroundColor")
            self.assertEqual(bg, "rgb(17, 20, 24)")
            for name in PAGES:
                self.open_page(name)
                time.sleep(0.3)
                self.shoot(f"{name}-dark")
        finally:
            d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
            d.set_window_size(1280, 800)
        self.assert_clean_console()


class CrossOrigin(unittest.TestCase):
    """A page on another loopback port (the same site: SameSite does not separate ports) tries
    to use the logged-in browser's session."""

    def test_another_origin_cannot_write_read_events_or_open_a_socket(self):
        agent = Agent()
        self.addCleanup(agent.stop)
        target = agent.url
        terminal = agent.post("/terminals", {}).json()["id"]
        page = f"""<!doctype html><script>
        window.results = {{}};
        fetch("{target}/files/mkdir", {{method: "POST", credentials: "include",
              headers: {{"Content-Type": "text/plain"}}, body: '{{"path": "pwned"}}'}})
          .then(r => results.post = r.status, e => results.post = "blocked");
        const es = new EventSource("{target}/events", {{withCredentials: true}});
        es.onopen = () => results.events = "open";
        es.onerror = () => {{ results.events = results.events || "refused"; es.close(); }};
        const ws = new WebSocket("{target.replace('http', 'ws')}/terminals/{terminal}/ws");
        ws.onopen = () => results.ws = "open";
        ws.onerror = () => results.ws = "refused";
        </script>"""

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(page.encode())

            def log_message(self, *a):
                pass

        evil = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=evil.serve_forever, daemon=True).start()
        self.addCleanup(evil.server_close)
        self.addCleanup(evil.shutdown)
        d = make_driver()
        self.addCleanup(d.quit)
        d.get(target + "/")
        WebDriverWait(d, 20).until(lambda d: d.find_element(*testid("login-key"))).send_keys(agent.key)
        d.find_element(*testid("login-submit")).click()
        WebDriverWait(d, 20).until(lambda d: d.find_element(*testid("overview-page")))
        d.get(f"http://127.0.0.1:{evil.server_port}/")
        results = wait_for(lambda: (lambda r: r if len(r) == 3 else None)(
            d.execute_script("return window.results")), timeout=15)
        self.assertNotEqual(results["post"], 200, results)
        self.assertEqual(results["events"], "refused", results)
        self.assertEqual(results["ws"], "refused", results)
        workspace = agent.get("/files").json()["path"]
        self.assertFalse(os.path.exists(os.path.join(workspace, "pwned")))
        log = agent.log()
        self.assertIn("refused a cross-site request", log)


if __name__ == "__main__":
    unittest.main()
