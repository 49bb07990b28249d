// Logging in to MEGA (doc/protocols/mega.md, "Logging in"): v1 and v2 accounts, 2FA, and the
// session kept on disk between runs so a restart does not log in again.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "services/mega/api_client.h"
#include "services/mega/crypto.h"

namespace moccha::mega {

struct Session {
  std::string api_url, email;  // what it was made for: another of either is another session
  std::string sid;             // sent as sid= with every command
  std::string user;            // the account's handle (owner of its nodes)
  Key master{};                // decrypts the account's node keys
  int version = 1;             // the account's: how a password becomes its key
  std::string salt;            // v2's (base64url)
};

// Whether `password` is the account's: its key opens `k` (the master key as `ug` gives it)
// into the session's master key. A saved session is only used with the password it was for.
bool password_opens(const Session& session, const std::string& password, const std::string& k);

// us0 (the account's version and salt), then us with the user hash (and `mfa` when given).
// Leaves the session set on `api`. Throws MegaError: kNotFound for a wrong email or password,
// kMfaRequired when the account needs a 2FA code, kKey when MEGA's keys do not decrypt.
Session log_in(ApiClient& api, const std::string& email, const std::string& password,
               const std::string& mfa);

// The session file (0600, written whole or not at all): sid, master key, user, email, API.
void save_session(const std::filesystem::path& file, const Session& session);
// nullopt when there is none, or it does not parse.
std::optional<Session> load_session(const std::filesystem::path& file);

}  // namespace moccha::mega
