"""Peers the benchmarks time Moccha against, shared by bench/torrents and bench/downloads."""
import subprocess


class DelugeClient:
    """Deluge's own client library (deluge.ui.client) in a child process, as twisted's reactor
    runs once per process: one timed core.get_torrents_status, with the same keys, per line
    it reads."""

    CODE = """
import sys, time
from twisted.internet import defer, reactor, threads
from deluge.ui.client import client
@defer.inlineCallbacks
def run():
    yield client.connect("127.0.0.1", int(sys.argv[1]), "localclient", sys.argv[2])
    keys, count = eval(sys.argv[3]), int(sys.argv[4])
    while (yield threads.deferToThread(sys.stdin.readline)).strip():
        t0 = time.perf_counter()
        r = yield client.core.get_torrents_status({}, keys)
        elapsed = time.perf_counter() - t0
        assert len(r) == count
        print(elapsed, flush=True)
    yield client.disconnect()
    reactor.stop()
reactor.callWhenRunning(run)
reactor.run()
"""

    def __init__(self, port, password, keys, count):
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-c", self.CODE, str(port), password, repr(keys), str(count)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def listing(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the deluge.ui.client child ended")
        return float(line)

    def close(self):
        try:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
