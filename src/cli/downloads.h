// The download subcommands: get (through the one queue), downloads [--watch], aria2-add,
// aria2-list, aria2-pause, aria2-resume, aria2-remove, and events (the agent's event stream).
#pragma once

#include <string>
#include <vector>

#include "cli/client.h"

namespace moccha::cli {

int get(const Client& client, const std::vector<std::string>& urls);
int downloads(const Client& client, bool watch, bool as_json);
int aria2_add(const Client& client, const std::string& url, const std::string& out,
              const std::string& dir);
int aria2_list(const Client& client, bool as_json);
// action: pause | resume | remove
int aria2_action(const Client& client, const std::string& id, const std::string& action,
                 bool remove_data);
int events(const Client& client, bool as_json);

}  // namespace moccha::cli
