#!/usr/bin/python3
"""A BitTorrent seeder for the tests: Debian's python3-libtorrent, loopback only (no DHT, LSD,
UPnP or NAT-PMP). Usage: seeder.py PORT SAVE_DIR TORRENT [TORRENT...]. Prints "seeding" once
every payload is checked, then seeds (and serves metadata to magnet peers) until SIGTERM."""
import signal
import sys
import time

import libtorrent as lt

port, save_dir, torrents = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
settings = {
    "listen_interfaces": f"127.0.0.1:{port}",
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "allow_multiple_connections_per_ip": True,
    "announce_to_all_trackers": True,
    "alert_mask": lt.alert.category_t.error_notification,
}
ses = lt.session(settings)
handles = [ses.add_torrent({"ti": lt.torrent_info(t), "save_path": save_dir}) for t in torrents]
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
deadline = time.monotonic() + 60
while not all(h.status().is_seeding for h in handles):
    if time.monotonic() > deadline:
        sys.exit("seeder: a payload did not check out")
    time.sleep(0.1)
print("seeding", flush=True)
while not stop:
    if time.monotonic() % 5 < 0.2:
        for h in handles:
            h.force_reannounce()
    time.sleep(0.2)
