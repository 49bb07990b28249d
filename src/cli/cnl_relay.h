// `moccha cnl-relay`: a Click'n'Load receiver for the user's own computer. Pages post CNL to
// 127.0.0.1:9666 of the machine the browser runs on, never to the headless box; the relay
// answers there as JDownloader's ExternInterface does (/jdcheck.js, /crossdomain.xml, /flash/,
// /flash/add, /flash/addcrypted2), decrypts the links itself (never running the page's
// JavaScript) and sends them to the agent's authenticated POST /downloads.
//
// It listens on loopback only and takes connections from loopback peers only, checking the
// peer's address, never the Host header (what pyLoad's CVE-2024-39205 trusted).
#pragma once

#include <string>

#include "cli/client.h"

namespace moccha::cli {

// Runs until SIGINT or SIGTERM. `listen` is "HOST:PORT" with a loopback HOST; `service`
// forces the engine the links go to (empty: the queue routes each link). Returns the exit code.
int cnl_relay(const Client& client, const std::string& listen, const std::string& service);

// Whether `address` (as the server reports a peer) is a loopback address.
bool is_loopback(const std::string& address);

}  // namespace moccha::cli
