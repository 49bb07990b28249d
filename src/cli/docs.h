// Documents generated from the subcommand table itself (the CLI11 app main() builds), so they
// cannot drift from it: the man page moccha(1) and a bash completion script. `moccha man` and
// `moccha completion` print them; the package build runs those.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace moccha::cli {

// roff for man(7): NAME, SYNOPSIS, DESCRIPTION, OPTIONS, COMMANDS (each subcommand with its
// arguments and options), FILES, ENVIRONMENT.
std::string man_page(const CLI::App& app, const std::string& version);

// A bash completion function for `moccha`: subcommands, then each one's own flags and
// subcommands (config get/set); local paths for everything else.
std::string bash_completion(const CLI::App& app);

}  // namespace moccha::cli
