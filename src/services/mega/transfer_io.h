// The bytes of MEGA's transfers (doc/protocols/mega.md, "Transfers"): a file streamed up in
// encrypted chunks and made a node; a file streamed down, decrypted, MAC-checked and only then
// renamed into place. Memory is bounded by one chunk (1 MiB), never the file.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "services/mega/api_client.h"
#include "services/mega/crypto.h"
#include "services/mega/transfers.h"

namespace moccha::mega {

// Uploads `local` into the folder `parent` (a handle) under `name`; returns the new node (as
// `p` answers it). Throws MegaError, std::system_error, or std::runtime_error when cancelled.
nlohmann::json upload_file(ApiClient& api, const Key& master, const std::string& parent,
                           const std::filesystem::path& local, const std::string& name, Transfer& t,
                           RateLimit& limit);

// What a download needs: the `g` command that names the file, its key and size, and the
// folder handle a folder link's file is read under ("" for none).
struct RemoteFile {
  nlohmann::json g_command;
  FileKey key;
  long long size = 0;
  std::string folder;
};

// Downloads into `dest` (written as a hidden ".NAME.part" beside it, renamed when whole and
// its MAC matches; nothing is left on failure). A dropped connection resumes by range from
// the last whole chunk (a few times, with back-off). Throws as upload_file; a bad MAC is a
// MegaError(kKey). Adds what it receives to `t`'s bytes done (and takes back what a resume
// receives again).
void download_file(ApiClient& api, const RemoteFile& source, const std::filesystem::path& dest,
                   Transfer& t, RateLimit& limit);

}  // namespace moccha::mega
