#include "services/mega/api_client.h"

#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "core/http_client.h"
#include "core/log.h"
#include "services/mega/crypto.h"

namespace moccha::mega {

using nlohmann::json;

namespace {

constexpr int kAttempts = 7;  // back-off 0.2, 0.4, ... 6.4 s: about 12 s in all
constexpr auto kFirstBackOff = std::chrono::milliseconds(200);

int error_code(const json& reply) {
  if (reply.is_number_integer() && reply.get<long long>() < 0) return reply.get<int>();
  return 1;  // not an error
}

}  // namespace

MegaError::MegaError(int code, const std::string& message)
    : std::runtime_error(message), code(code) {}

std::string describe_error(int code) {
  static const std::map<int, std::string> names = {
      {-1, "EINTERNAL (internal error)"},
      {-2, "EARGS (invalid arguments)"},
      {-3, "EAGAIN (try again)"},
      {-4, "ERATELIMIT (rate limited)"},
      {-5, "EFAILED (upload failed)"},
      {-6, "ETOOMANY (too many concurrent connections or transfers)"},
      {-7, "ERANGE (out of range)"},
      {-8, "EEXPIRED (expired)"},
      {-9, "ENOENT (not found)"},
      {-10, "ECIRCULAR (circular linkage)"},
      {-11, "EACCESS (access denied)"},
      {-12, "EEXIST (already exists)"},
      {-13, "EINCOMPLETE (incomplete)"},
      {-14, "EKEY (invalid key or decryption error)"},
      {-15, "ESID (bad session id)"},
      {-16, "EBLOCKED (blocked)"},
      {-17, "EOVERQUOTA (over quota)"},
      {-18, "ETEMPUNAVAIL (temporarily unavailable)"},
      {-19, "ETOOMANYCONNECTIONS (too many connections)"},
      {-24, "EGOINGOVERQUOTA (would exceed the quota)"},
      {-26, "EMFAREQUIRED (a 2FA code is required)"},
  };
  auto it = names.find(code);
  return it != names.end() ? it->second : "error " + std::to_string(code);
}

ApiClient::ApiClient(std::string api_url) : url_(std::move(api_url)) {
  if (url_.empty() || url_.back() != '/') url_ += '/';
  std::random_device rd;
  seq_ = (static_cast<unsigned long long>(rd()) << 16) ^ rd();
}

void ApiClient::set_session(const std::string& sid) {
  std::lock_guard lock(mu_);
  sid_ = sid;
}

std::string ApiClient::session() const {
  std::lock_guard lock(mu_);
  return sid_;
}

json ApiClient::call(const json& command, const std::string& folder) {
  std::string body = json::array({command}).dump();
  std::string hashcash;
  auto back_off = kFirstBackOff;
  std::string last_problem;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::string url = url_ + "cs?id=" + std::to_string(seq_++);
    // A public folder's commands go as its link's, without our session (as megajs's do).
    if (!folder.empty())
      url += "&n=" + folder;
    else if (std::string sid = session(); !sid.empty())
      url += "&sid=" + sid;
    std::vector<std::string> headers;
    if (!hashcash.empty()) headers.push_back("X-Hashcash: " + hashcash);
    HttpOptions options;
    options.timeout = std::chrono::seconds(60);
    HttpReply reply = http_post(url, headers, body, options);
    bool retry = false;
    if (!reply.reached()) {
      last_problem = "MEGA is unreachable at " + url_ + ": " + reply.error;
      retry = attempt < 2;  // a refused connection is not worth 12 s
      if (!retry) throw MegaError(kUnreachable, last_problem);
    } else if (reply.status == 402 && !reply.header("x-hashcash").empty()) {
      auto solved = solve_hashcash(reply.header("x-hashcash"));
      if (!solved)
        throw MegaError(kUnreachable, "MEGA asked for a hashcash this client cannot read: " +
                                          reply.header("x-hashcash"));
      log::info("MEGA asked for a hashcash: solved, resending");
      hashcash = *solved;
      continue;  // no back-off: the proof of work was the wait
    } else if (reply.status >= 500 || reply.status == 429) {
      last_problem = "MEGA answered HTTP " + std::to_string(reply.status);
      retry = true;
    } else if (reply.status != 200) {
      throw MegaError(kUnreachable, "MEGA answered HTTP " + std::to_string(reply.status));
    } else {
      json parsed = json::parse(reply.body, nullptr, false);
      if (parsed.is_discarded())
        throw MegaError(kUnreachable, "MEGA's reply is not JSON: " + reply.body.substr(0, 200));
      json result = parsed.is_array() && !parsed.empty() ? parsed[0] : parsed;
      int code = error_code(result);
      if (code == kAgain) {
        last_problem = "MEGA answered " + describe_error(kAgain);
        retry = true;
      } else if (code < 0) {
        throw MegaError(code, "MEGA refused '" + command.value("a", std::string()) +
                                  "': " + describe_error(code));
      } else {
        return result;
      }
    }
    if (retry) {
      std::this_thread::sleep_for(back_off);
      back_off *= 2;
    }
  }
  throw MegaError(last_problem.find("unreachable") != std::string::npos ? kUnreachable : kAgain,
                  last_problem + ", " + std::to_string(kAttempts) + " times");
}

}  // namespace moccha::mega
