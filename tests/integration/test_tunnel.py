"""The tunnel service. ssh for real: Debian's sshd on a second loopback port with a throwaway
host key and user key, and the agent reached through the forward it makes. cloudflared and
ngrok cannot reach their clouds from here: scripts stand in for them that print exactly what
the real programs print once a tunnel is up (marked as such below), so what is tested is how
Moccha runs them and reads their output, not the clouds."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
import unittest

from agent import Agent, Events, stop_child, wait_for
from test_services import free_port, pid_alive


def get_through(port, path, key=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"X-API-Key": key} if key else {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def reachable(port, path="/health"):
    try:
        return get_through(port, path)[0] == 200
    except OSError:
        return False


class Sshd:
    """A real OpenSSH server on 127.0.0.1, its own host key, one user key, forwarding on."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="moccha-sshd-")
        self.port = free_port()
        self.host_key = os.path.join(self.dir, "host_ed25519")
        self.user_key = os.path.join(self.dir, "user_ed25519")
        for key in (self.host_key, self.user_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key],
                           check=True, timeout=30)
        shutil.copy(self.user_key + ".pub", os.path.join(self.dir, "authorized_keys"))
        self.config = os.path.join(self.dir, "sshd_config")
        with open(self.config, "w") as f:
            f.write(textwrap.dedent(f"""\
                Port {self.port}
                ListenAddress 127.0.0.1
                HostKey {self.host_key}
                AuthorizedKeysFile {self.dir}/authorized_keys
                PidFile none
                UsePAM no
                StrictModes no
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                PermitRootLogin prohibit-password
                AllowTcpForwarding remote
                GatewayPorts no
                PermitTTY no
                X11Forwarding no
                AllowAgentForwarding no
                ClientAliveInterval 2
                ClientAliveCountMax 2
                LogLevel VERBOSE
                """))
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        self.log = open(os.path.join(self.dir, "sshd.log"), "w")
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", self.config],
                                     stdout=self.log, stderr=self.log)

        def listening():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return self.proc.poll() is not None  # ended: fail below, not by timeout
        wait_for(listening, timeout=20)
        assert self.proc.poll() is None, open(self.log.name).read()

    def drop_sessions(self):
        """Ends every client's session (the per-connection sshd processes), as a dropped
        link would; the listener stays."""
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
            sessions = [int(p) for p in f.read().split()]
        for pid in sessions:
            os.kill(pid, signal.SIGKILL)
        return sessions

    def stop(self):
        stop_child(self.proc)

    def close(self):
        self.stop()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class SshTunnel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sshd = Sshd()
        cls.agent = Agent("--no-rate-limit")
        cls.remote = free_port()
        r = cls.agent.post("/services/config", body={"service_name": "tunnel", "config": {
            "enabled": True, "provider": "ssh", "ssh_host": "127.0.0.1",
            "ssh_port": cls.sshd.port, "ssh_user": "root", "ssh_key_file": cls.sshd.user_key,
            "remote_port": cls.remote, "keepalive_s": 1}})
        assert r.status == 200, r

    @classmethod
    def tearDownClass(cls):
        cls.agent.post("/services/tunnel/stop", timeout=30)
        cls.agent.stop()
        cls.sshd.close()

    def status(self):
        return self.agent.get("/services/tunnel/status").json()

    def test_1_the_agent_is_reached_through_the_tunnel(self):
        r = self.agent.post("/services/tunnel/start", timeout=60)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["result"]["public_url"], f"http://127.0.0.1:{self.remote}")
        st = self.status()
        self.assertTrue(st["running"] and st["connected"], st)
        self.assertEqual(st["public_url"], f"http://127.0.0.1:{self.remote}")
        # Through sshd's forward: the same agent, its key still required.
        self.assertEqual(get_through(self.remote, "/health")[0], 200)
        self.assertEqual(get_through(self.remote, "/status")[0], 401)
        status, body = get_through(self.remote, "/status", key=self.agent.key)
        self.assertEqual(status, 200)
        self.assertIn("cpu_pct", json.loads(body))
        # The server's host key was pinned on first use.
        with open(os.path.join(self.agent.data_dir, "tunnel", "known_hosts")) as f:
            self.assertIn(f"[127.0.0.1]:{self.sshd.port}", f.read())
        # The private key's path is on the command line, never a secret.
        with open(f"/proc/{st['pid']}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        self.assertIn(b"BatchMode=yes", argv)

    def test_2_a_dropped_link_is_reconnected(self):
        if not self.status()["running"]:
            self.agent.post("/services/tunnel/start", timeout=60)
        events = Events(self.agent)
        try:
            # The link drops: ssh exits, supervision reconnects with back-off.
            self.assertTrue(self.sshd.drop_sessions())
            wait_for(lambda: events.of("service.died", service="tunnel"), timeout=30)
            wait_for(lambda: events.of("service.restarted", service="tunnel"), timeout=60)
            wait_for(lambda: reachable(self.remote), timeout=30)
            self.assertGreaterEqual(self.status()["restarts"], 1)
        finally:
            events.close()

    def test_3_stop_ends_the_tunnel(self):
        if not self.status()["running"]:
            self.agent.post("/services/tunnel/start", timeout=60)
        pid = self.status()["pid"]
        self.assertEqual(self.agent.post("/services/tunnel/stop", timeout=30).status, 200)
        self.assertFalse(pid_alive(pid))
        self.assertFalse(reachable(self.remote))
        self.assertIsNone(self.status()["public_url"])


class SshFailures(unittest.TestCase):
    def test_a_refused_key_is_said_plainly(self):
        sshd = Sshd()
        try:
            other = os.path.join(sshd.dir, "other_ed25519")
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other],
                           check=True, timeout=30)
            with Agent() as a:
                a.post("/services/config", body={"service_name": "tunnel", "config": {
                    "enabled": True, "ssh_host": "127.0.0.1", "ssh_port": sshd.port,
                    "ssh_user": "root", "ssh_key_file": other, "remote_port": free_port()}})
                r = a.post("/services/tunnel/start", timeout=60)
                self.assertEqual(r.status, 502, r)
                self.assertTrue(r.json()["error"].startswith("ssh: the server refused the key"),
                                r)
                self.assertFalse(a.get("/services/tunnel/status").json()["running"])
        finally:
            sshd.close()

    def test_bad_config_is_refused_before_anything_runs(self):
        with Agent() as a:
            for bad in ({"provider": "telnet"}, {"enabled": True, "ssh_host": ""},
                        {"ssh_host": "-oProxyCommand=x"}, {"ssh_user": "root@evil"},
                        {"remote_port": 70000}):
                r = a.post("/services/config", body={"service_name": "tunnel", "config": bad})
                self.assertEqual(r.status, 400, (bad, r))
            self.assertFalse(os.path.exists(os.path.join(a.data_dir, "tunnel")))


# Stand-ins for cloudflared and ngrok: each prints, line for line, what the real program prints
# once its tunnel is up (cloudflared 2024.x's quick-tunnel box on stderr; ngrok 3's logfmt log on
# stdout with --log stdout), then stays up like the real one. Their arguments are recorded.
FAKE_CLOUDFLARED = """\
#!/bin/sh
echo "$@" > "$(dirname "$0")/args"
cat >&2 <<'OUT'
2026-12-02T06:00:00Z INF Thank you for trying Cloudflare Tunnel. Doing so, without a Cloudflare account, is a quick way to experiment and try it out. However, be aware that these account-less Tunnels have no uptime guarantee, are subject to the Cloudflare Online Services Terms of Use (https://www.cloudflare.com/website-terms/), and Cloudflare reserves the right to investigate your use of Tunnels for violations of such terms. If you intend to use Tunnels in production you should use a pre-created named tunnel by following: https://developers.cloudflare.com/cloudflare-one/connections/connect-apps
2026-12-02T06:00:00Z INF Requesting new quick Tunnel on trycloudflare.com...
2026-12-02T06:00:01Z INF +--------------------------------------------------------------------------------------------+
2026-12-02T06:00:01Z INF |  Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):  |
2026-12-02T06:00:01Z INF |  https://gentle-river-fancy-words.trycloudflare.com                                        |
2026-12-02T06:00:01Z INF +--------------------------------------------------------------------------------------------+
2026-12-02T06:00:01Z INF Version 2024.11.1
2026-12-02T06:00:02Z INF Registered tunnel connection connIndex=0 location=ams01 protocol=quic
OUT
exec sleep 600
"""

FAKE_NGROK = """\
#!/bin/sh
echo "$@" > "$(dirname "$0")/args"
cat <<'OUT'
t=2026-12-02T06:00:00+0000 lvl=info msg="no configuration paths supplied"
t=2026-12-02T06:00:00+0000 lvl=info msg="starting web service" obj=web addr=127.0.0.1:4040 allow_hosts=[]
t=2026-12-02T06:00:01+0000 lvl=info msg="client session established" obj=tunnels.session
t=2026-12-02T06:00:01+0000 lvl=info msg="tunnel session started" obj=tunnels.session
t=2026-12-02T06:00:01+0000 lvl=info msg="started tunnel" obj=tunnels name=command_line addr=http://127.0.0.1:5000 url=https://3f2a-203-0-113-7.ngrok-free.app
OUT
exec sleep 600
"""


class ScriptedProviders(unittest.TestCase):
    def provider(self, name, script, extra=None):
        d = tempfile.mkdtemp(prefix=f"fake-{name}-")
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(script)
        os.chmod(path, 0o755)
        self.addCleanup(shutil.rmtree, d, True)
        return d, path

    def test_cloudflared_quick_tunnel(self):
        d, path = self.provider("cloudflared", FAKE_CLOUDFLARED)
        with Agent() as a:
            a.post("/services/config", body={"service_name": "tunnel", "config": {
                "provider": "cloudflared", "cloudflared_path": path}})
            r = a.post("/services/tunnel/start", timeout=60)
            self.assertEqual(r.status, 200, r)
            url = "https://gentle-river-fancy-words.trycloudflare.com"
            self.assertEqual(a.get("/services/tunnel/status").json()["public_url"], url)
            with open(os.path.join(d, "args")) as f:
                args = f.read().split()
            self.assertEqual(args[args.index("--url") + 1], f"http://127.0.0.1:{a.port}")
            self.assertIn("--no-autoupdate", args)
            a.post("/services/tunnel/stop", timeout=30)

    def test_ngrok_with_its_token_kept_off_the_command_line(self):
        d, path = self.provider("ngrok", FAKE_NGROK)
        with Agent() as a:
            r = a.post("/services/config", body={"service_name": "tunnel", "config": {
                "provider": "ngrok", "ngrok_path": path, "ngrok_authtoken": "2abcSECRETtoken"}})
            self.assertEqual(r.status, 200, r)
            r = a.post("/services/tunnel/start", timeout=60)
            self.assertEqual(r.status, 200, r)
            st = a.get("/services/tunnel/status").json()
            self.assertEqual(st["public_url"], "https://3f2a-203-0-113-7.ngrok-free.app")
            with open(os.path.join(d, "args")) as f:
                args = f.read()
            self.assertNotIn("2abcSECRETtoken", args)
            self.assertIn(f"http 127.0.0.1:{a.port}", args)
            conf = args.split("--config ")[1].split()[0]
            self.assertEqual(os.stat(conf).st_mode & 0o777, 0o600)
            with open(conf) as f:
                self.assertIn("authtoken: 2abcSECRETtoken", f.read())
            shown = a.get("/services/config/tunnel").json()
            self.assertNotIn("2abcSECRETtoken", json.dumps(shown))
            a.post("/services/tunnel/stop", timeout=30)

    def test_serve_tunnel_prints_the_url(self):
        d, path = self.provider("cloudflared", FAKE_CLOUDFLARED)
        data = tempfile.mkdtemp(prefix="moccha-tunnel-data-")
        self.addCleanup(shutil.rmtree, data, True)
        with open(os.path.join(data, "services_config.json"), "w") as f:
            json.dump({"services": {"tunnel": {"provider": "cloudflared",
                                               "cloudflared_path": path}}}, f)
        with Agent("--tunnel", data_dir=data, keep_data=True) as a:
            line = a.proc.stdout.readline()
            deadline = time.monotonic() + 30
            while "tunnel:" not in line and time.monotonic() < deadline:
                line = a.proc.stdout.readline()
            self.assertEqual(line.strip(),
                             "tunnel: https://gentle-river-fancy-words.trycloudflare.com")
            a.post("/services/tunnel/stop", timeout=30)


if __name__ == "__main__":
    unittest.main()
