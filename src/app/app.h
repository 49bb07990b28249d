// The composition root: builds every component from the Config, wires the routes, runs the
// I/O loop until SIGINT/SIGTERM, and shuts down in order.
#pragma once

#include "core/config.h"

namespace moccha::app {

// Runs `moccha serve`. Returns the process exit code. `config` has been fully loaded.
int serve(Config config);

}  // namespace moccha::app
