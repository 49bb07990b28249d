// The Deluge subcommands: deluge-add, deluge-list [--watch], deluge-info, deluge-pause,
// deluge-resume, deluge-remove.
#pragma once

#include <string>

#include "cli/client.h"

namespace moccha::cli {

int deluge_add(const Client& client, const std::string& what, bool paused);
int deluge_list(const Client& client, bool watch, bool as_json);
int deluge_info(const Client& client, const std::string& id, bool as_json);
// action: pause | resume | remove
int deluge_action(const Client& client, const std::string& id, const std::string& action,
                  bool remove_data);

}  // namespace moccha::cli
