// The MEGA subcommands: mega-login, mega-quota, mega-ls, mega-mkdir, mega-mv, mega-rm,
// mega-link, mega-put and mega-get (those two follow their transfer with a progress bar and
// end with its result). Declared on the app by add_mega_commands, run by run_mega_command.
#pragma once

#include <memory>
#include <optional>

#include "cli/client.h"

namespace CLI {
class App;
}

namespace moccha::cli {

struct MegaCommands;

std::shared_ptr<MegaCommands> add_mega_commands(CLI::App& app);
// The exit status of the MEGA subcommand parsed, or nullopt when none was.
std::optional<int> run_mega_command(const MegaCommands& commands, const Client& client);

}  // namespace moccha::cli
