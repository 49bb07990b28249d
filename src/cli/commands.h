// The client subcommands. Each prints for a person (or raw JSON with --json) and returns the
// process exit code; errors from the agent arrive as ClientError and are printed by main.
#pragma once

#include "cli/client.h"

namespace moccha::cli {

int status(const Client& client, bool as_json);
int services(const Client& client, bool as_json);

}  // namespace moccha::cli
