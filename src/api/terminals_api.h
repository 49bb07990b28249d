// Routes under /terminals: shells on PTYs (terminal::Terminals), and the WebSocket that joins
// one. GET /terminals/{id}/ws speaks binary frames both ways for the PTY's bytes, and text
// frames of JSON: {"type": "resize", "cols", "rows"} from the client; {"type": "attached"} and
// {"type": "exit", "how"} from the agent. A browser (cookie session) first sends
// {"type": "auth", "csrf_token"}; nothing reaches or leaves the shell before it. A client with
// the key in a header sends no auth frame. Any other frame closes the socket (1003, 1008).
#pragma once

#include "core/worker_pool.h"

namespace moccha::terminal {
class Terminals;
}
namespace moccha::http {
class Router;
}

namespace moccha::api {

struct TerminalsApiDeps {
  terminal::Terminals* terminals = nullptr;  // null: terminal.enabled is false (403)
  Post pool;                                 // starting and ending shells
};

void add_terminals_routes(http::Router& router, TerminalsApiDeps deps);

}  // namespace moccha::api
