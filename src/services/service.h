// A managed service (a download daemon): what the ServiceManager sees of each one.
// Implementations block (they spawn, wait, talk RPC): the manager calls them from worker
// threads, one call per service at a time.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace moccha::services {

class ServiceError : public std::runtime_error {
 public:
  // bad_reply: the engine answered something we cannot read, or could not be reached (502);
  // no_space: the engine's storage is full (507).
  enum class Kind {
    invalid,
    not_implemented,
    unavailable,
    failed,
    conflict,
    not_found,
    bad_reply,
    no_space
  };
  ServiceError(Kind kind, std::string message)
      : std::runtime_error(std::move(message)), kind(kind) {}
  Kind kind;
};

// A log a service writes: "deluge" (the daemon's own log), "deluge.out" (what it printed).
struct LogFile {
  std::string name;
  std::filesystem::path path;
};

class Service {
 public:
  virtual ~Service() = default;
  virtual std::string name() const = 0;
  // The full default config. Its keys and value types are the schema: an update with another
  // key or type is refused before anything is written.
  virtual nlohmann::json defaults() const = 0;
  // The config keys that hold secrets: shown as "********", and kept when that is sent back.
  virtual std::vector<std::string> secrets() const { return {}; }
  // Checks a whole merged config beyond types (ranges, absolute paths). Throws invalid.
  virtual void validate(const nlohmann::json& config) const = 0;
  // {"running", "connected", ...}; never throws for a stopped service.
  virtual nlohmann::json status() = 0;
  // Starts with `config`; returns {"pid", "host", "port"} or what the service has. Throws.
  virtual nlohmann::json start(const nlohmann::json& config) = 0;
  // The same from POST /services/NAME/start with a body: `request` is that body, for what only
  // this start needs (MEGA's 2FA code). Autostart and supervision call start(config).
  virtual nlohmann::json start_with(const nlohmann::json& config, const nlohmann::json& request) {
    (void)request;
    return start(config);
  }
  virtual void stop() = 0;
  virtual bool running() = 0;
  // Applies a changed config to a running service where it can; returns the keys that only
  // take effect after a restart.
  virtual std::vector<std::string> apply(const nlohmann::json& before,
                                         const nlohmann::json& after) = 0;
  // Called about once a second by the manager: notice deaths, restart with back-off.
  virtual void supervise() {}
  // Its log files, once it has been started (GET /logs).
  virtual std::vector<LogFile> logs() const { return {}; }
};

}  // namespace moccha::services
