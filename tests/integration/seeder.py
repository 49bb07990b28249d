#!/usr/bin/python3
"""A BitTorrent seeder for the tests: Debian's python3-libtorrent, loopback only (no DHT, LSD,
UPnP or NAT-PMP). Usage: seeder.py TORRENT SAVE_DIR PORT. Prints "seeding" once the data is
checked, then seeds until SIGTERM."""
import signal
import sys
import time

import libtorrent as lt

torrent, save_dir, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
settings = {
    "listen_interfaces": f"127.0.0.1:{port}",
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "allow_multiple_connections_per_ip": True,
    "announce_to_all_trackers": True,
    "alert_mask": lt.alert.category_t.error_notification,
}
ses = lt.session(settings)
handle = ses.add_torrent({"ti": lt.torrent_info(torrent), "save_path": save_dir})
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
deadline = time.monotonic() + 60
while not handle.status().is_seeding:
    if time.monotonic() > deadline:
        sys.exit("seeder: the payload did not check out")
    time.sleep(0.1)
print("seeding", flush=True)
while not stop:
    handle.force_reannounce() if time.monotonic() % 5 < 0.2 else None
    time.sleep(0.2)
