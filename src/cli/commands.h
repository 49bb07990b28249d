// The client subcommands. Each prints for a person (or raw JSON with --json) and returns the
// process exit code; errors from the agent arrive as ClientError and are printed by main.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/client.h"

namespace moccha::cli {

int status(const Client& client, bool as_json);
int services(const Client& client, bool as_json);

}  // namespace moccha::cli

namespace moccha::cli {

// Runs code; prints its output, the last expression's value, and the traceback on stderr.
// Exit code 1 when the code failed.
int exec(const Client& client, const std::string& code, bool async, std::optional<double> timeout);
int task(const Client& client, const std::string& id, bool as_json);
int shell(const Client& client, const std::string& command, std::optional<double> timeout);
int install(const Client& client, const std::string& package);
int vars(const Client& client, bool as_json);
int history(const Client& client, int limit, bool as_json);

}  // namespace moccha::cli

namespace moccha::cli {

int services_status(const Client& client, bool as_json);
// action: start | stop | restart
int service_action(const Client& client, const std::string& name, const std::string& action);
int config_get(const Client& client, const std::string& name);
// pairs: "key=value"; values parse as JSON when they can (numbers, true/false), else strings.
int config_set(const Client& client, const std::string& name,
               const std::vector<std::string>& pairs);

}  // namespace moccha::cli
