// File transfer subcommands: ls, upload, download (resumable), with a progress bar on a
// terminal and plain lines otherwise.
#pragma once

#include <string>

#include "cli/client.h"

namespace moccha::cli {

int ls(const Client& client, const std::string& path, bool as_json);
int upload(const Client& client, const std::string& local, const std::string& remote_dir);
int download(const Client& client, const std::string& remote, const std::string& local);

}  // namespace moccha::cli
