// MEGA's API over the one HTTP client: one command at a time POSTed to `<api_url>cs` as a
// batch of one (doc/protocols/mega.md, "Framing"). EAGAIN (-3) and HTTP 5xx are retried with
// back-off, an HTTP 402 hashcash challenge is solved and the request resent; every other error
// is a MegaError with MEGA's code. Blocking, every wait bounded; safe from several threads.
#pragma once

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace moccha::mega {

// MEGA's error codes that callers tell apart (the others keep their number).
enum : int {
  kUnreachable = 0,  // no reply at all: the message says why
  kArgs = -2,
  kAgain = -3,
  kNotFound = -9,  // also a wrong password at login
  kAccess = -11,
  kExists = -12,
  kKey = -14,
  kSessionExpired = -15,
  kBlocked = -16,
  kOverQuota = -17,
  kMfaRequired = -26,
};

class MegaError : public std::runtime_error {
 public:
  MegaError(int code, const std::string& message);
  int code;
};

// MEGA's name for an error code ("ENOENT (not found)").
std::string describe_error(int code);

class ApiClient {
 public:
  // `api_url` ends in '/' (one is added otherwise).
  explicit ApiClient(std::string api_url);

  const std::string& api_url() const { return url_; }
  // The session every later command is sent with ("" for none).
  void set_session(const std::string& sid);
  std::string session() const;

  // Runs one command and returns its result (object, array, string or 0). `folder`: the
  // public folder handle the command reads under (n=, sent instead of the session), for a
  // folder link's listing and downloads. Throws MegaError.
  nlohmann::json call(const nlohmann::json& command, const std::string& folder = "");

 private:
  std::string url_;
  mutable std::mutex mu_;
  std::string sid_;
  std::atomic<unsigned long long> seq_;
};

}  // namespace moccha::mega
