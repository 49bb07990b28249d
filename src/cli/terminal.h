// `moccha term [ID]`: a terminal on the agent in this one, like ssh: the local terminal in raw
// mode, keys and window size (SIGWINCH) sent over the terminal's WebSocket, its bytes written
// here. Without ID it opens a new terminal; Ctrl-] detaches and leaves the shell running.
#pragma once

#include <string>

#include "cli/client.h"

namespace moccha::cli {

int term(const Client& client, const std::string& id);

}  // namespace moccha::cli
