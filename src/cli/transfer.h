// File transfer subcommands: ls, upload, download (resumable), with a progress bar on a
// terminal and plain lines otherwise.
#pragma once

#include <string>

#include "cli/client.h"

namespace moccha::cli {

int ls(const Client& client, const std::string& path, bool as_json);
int upload(const Client& client, const std::string& local, const std::string& remote_dir);
// A file (resumed when `local` holds part of it), or with `archive_format` ("tar", "tar.gz",
// "zip") a directory as that archive.
int download(const Client& client, const std::string& remote, const std::string& local,
             const std::string& archive_format = {});

}  // namespace moccha::cli
