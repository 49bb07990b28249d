// MegaService's life: config, logging in (or resuming the saved session), status, stop.
// Its file operations and transfers are in mega_files.cpp.
#include "services/mega/mega_service.h"

#include <map>
#include <system_error>

#include "core/log.h"
#include "services/events.h"
#include "services/mega/transfers.h"
#include "services/schema.h"
#include "store/files.h"

namespace moccha::mega {

namespace fs = std::filesystem;
using nlohmann::json;
using services::ServiceError;
using Kind = services::ServiceError::Kind;

void rethrow_mega_error(const MegaError& e) {
  switch (e.code) {
    case kNotFound:
      throw ServiceError(Kind::not_found, e.what());
    case kOverQuota:
    case -24:
      throw ServiceError(Kind::no_space, e.what());
    case kArgs:
      throw ServiceError(Kind::invalid, e.what());
    case kExists:
      throw ServiceError(Kind::conflict, e.what());
    case kSessionExpired:
      throw ServiceError(Kind::unavailable, std::string(e.what()) + ": start mega again");
    default:
      throw ServiceError(Kind::bad_reply, e.what());
  }
}

namespace {

const json kQuotaCommand = {{"a", "uq"}, {"strg", 1}, {"xfer", 1}, {"pro", 1}};

// uq's answer in our words.
json quota_of(const json& q) {
  static const std::map<int, std::string> types = {
      {0, "free"},     {1, "pro_i"},      {2, "pro_ii"},     {3, "pro_iii"},
      {4, "pro_lite"}, {100, "business"}, {101, "pro_flexi"}};
  int utype = q.value("utype", 0);
  auto type = types.find(utype);
  return {{"storage_used", q.value("cstrg", json())},
          {"storage_total", q.value("mstrg", json())},
          {"transfer_used", q.contains("mxfer") ? q.value("caxfer", json()) : json()},
          {"transfer_total", q.value("mxfer", json())},
          {"account_type", type != types.end() ? type->second : std::to_string(utype)}};
}

}  // namespace

MegaService::MegaService(std::string data_dir, services::EventBus* events)
    : data_dir_(std::move(data_dir)), events_(events) {}

MegaService::~MegaService() {
  transfers_.reset();  // cancels and joins while the rest is still here
}

json MegaService::defaults() const {
  return {{"enabled", true},
          {"autostart", true},
          {"email", ""},
          {"password", ""},
          {"api_url", "https://g.api.mega.co.nz/"},
          {"download_path", data_dir_ + "/downloads/mega"},
          {"max_download_speed", 0},
          {"max_upload_speed", 0},
          {"parallel_transfers", 2},
          {"webhooks", json::array()},
          {"webhook_secret", ""}};
}

void MegaService::validate(const json& c) const {
  namespace sc = services::schema;
  static const sc::Schema schema = sc::with_engine_rules({
      {"email", sc::text(254)},
      {"password", sc::text(1024)},
      {"api_url", sc::url()},
      {"download_path", sc::path()},
      {"max_download_speed", sc::speed()},
      {"max_upload_speed", sc::speed()},
      {"parallel_transfers", sc::integer(1, 8)},
  });
  sc::check(schema, c);
  std::string email = c.value("email", "");
  if (!email.empty() && email.find('@') == std::string::npos)
    throw ServiceError(Kind::invalid, "'email' is an email address");
}

fs::path MegaService::session_file() const {
  return fs::path(data_dir_) / "mega" / "session";
}

json MegaService::start(const json& config) {
  return start_with(config, json::object());
}

json MegaService::start_with(const json& config, const json& request) {
  std::string mfa;
  if (request.contains("mfa")) {
    if (!request["mfa"].is_string() || request["mfa"].get<std::string>().size() > 16)
      throw ServiceError(Kind::invalid, "'mfa' is the 6-digit code of the account's 2FA app");
    mfa = request["mfa"];
  }
  std::lock_guard lock(mu_);
  return start_locked(config, mfa);
}

json MegaService::start_locked(const json& config, const std::string& mfa) {
  std::string email = config.value("email", ""), password = config.value("password", "");
  if (email.empty() || password.empty())
    throw ServiceError(
        Kind::invalid,
        "set the account first: PUT /services/config/mega {\"email\", \"password\"}");
  auto api = std::make_unique<ApiClient>(config.value("api_url", ""));
  std::optional<Session> session = load_session(session_file());
  if (session && (session->email != email || session->api_url != api->api_url())) session.reset();
  try {
    if (session) {  // a saved session: still good if MEGA knows it
      api->set_session(session->sid);
      try {
        json me = api->call({{"a", "ug"}});
        if (password_opens(*session, password, me.value("k", std::string()))) {
          log::info("MEGA: resumed the saved session of {}", email);
        } else {  // the password was changed since: the session was another login's
          log::info("MEGA: the saved session was for another password; logging in");
          session.reset();
        }
      } catch (const MegaError& e) {
        if (e.code != kSessionExpired && e.code != kAccess) throw;
        session.reset();
      }
    }
    if (!session) {
      session = log_in(*api, email, password, mfa);
      log::info("MEGA: logged in as {}", email);
    }
  } catch (const MegaError& e) {
    if (e.code == kMfaRequired)
      throw ServiceError(Kind::invalid, mfa.empty() ? "this MEGA account needs a 2FA code: POST "
                                                      "/services/mega/start {\"mfa\": \"123456\"}"
                                                    : "MEGA refused the 2FA code (" +
                                                          describe_error(e.code) + ")");
    if (e.code == kNotFound)
      throw ServiceError(Kind::invalid, "MEGA refused the login: wrong email or password (" +
                                            describe_error(e.code) + ")");
    if (e.code == kKey) throw ServiceError(Kind::invalid, e.what());
    rethrow_mega_error(e);
  }
  try {
    store::ensure_dir((fs::path(data_dir_) / "mega").string(), 0700);
    save_session(session_file(), *session);
  } catch (const std::exception& e) {
    log::warn("MEGA: cannot keep the session for the next start: {}", e.what());
  }
  config_ = config;
  api_ = std::move(api);
  session_ = session;  // (the last session's tree went at its stop)
  transfers_ = std::make_unique<Transfers>(config.value("parallel_transfers", 2),
                                           [this](const json& t) { on_transfer_end(t); });
  transfers_->download_limit().set(
      static_cast<long long>(config.value("max_download_speed", 0.0) * 1024));
  transfers_->upload_limit().set(
      static_cast<long long>(config.value("max_upload_speed", 0.0) * 1024));
  try {
    quota_ = quota_of(api_->call(kQuotaCommand));
  } catch (const MegaError& e) {
    log::warn("MEGA: no quota yet: {}", e.what());
  }
  return {{"email", email}, {"account_type", quota_.value("account_type", json())}};
}

void MegaService::stop() {
  std::unique_ptr<Transfers> ending;
  {
    std::lock_guard lock(mu_);
    ending = std::move(transfers_);
    session_.reset();
    if (api_) api_->set_session("");
  }
  ending.reset();               // cancels and waits, outside the lock its transfers' calls may need
  std::lock_guard t(tree_mu_);  // taken before mu_ when both are (tree() calls call())
  tree_.reset();
}

bool MegaService::running() {
  std::lock_guard lock(mu_);
  return session_.has_value();
}

json MegaService::status() {
  std::lock_guard lock(mu_);
  bool on = session_.has_value();
  return {{"running", on},
          {"connected", on},
          {"email", on ? json(session_->email) : json()},
          {"storage_used", on ? quota_.value("storage_used", json()) : json()},
          {"storage_total", on ? quota_.value("storage_total", json()) : json()}};
}

std::vector<std::string> MegaService::apply(const json& before, const json& after) {
  std::vector<std::string> restart;
  for (const char* k : {"email", "password", "api_url"})
    if (before.value(k, json()) != after.value(k, json())) restart.push_back(k);
  std::lock_guard lock(mu_);
  if (!restart.empty()) {  // the saved session was for the old account
    std::error_code ec;
    fs::remove(session_file(), ec);
  }
  if (!session_) return {};
  config_ = after;
  if (transfers_) {
    transfers_->set_parallel(after.value("parallel_transfers", 2));
    transfers_->download_limit().set(
        static_cast<long long>(after.value("max_download_speed", 0.0) * 1024));
    transfers_->upload_limit().set(
        static_cast<long long>(after.value("max_upload_speed", 0.0) * 1024));
  }
  return restart;
}

json MegaService::call(const json& command, const std::string& folder) {
  ApiClient* api;
  {
    std::lock_guard lock(mu_);
    if (!session_) throw ServiceError(Kind::unavailable, "mega is not running (not logged in)");
    api = api_.get();
  }
  try {
    return api->call(command, folder);
  } catch (const MegaError& e) {
    if (e.code != kSessionExpired || !folder.empty()) rethrow_mega_error(e);
  }
  {  // MEGA ended the session: log in again, once
    std::lock_guard lock(mu_);
    if (!session_) throw ServiceError(Kind::unavailable, "mega is not running (not logged in)");
    log::info("MEGA: the session expired; logging in again");
    try {
      session_ = log_in(*api_, config_.value("email", ""), config_.value("password", ""), "");
      save_session(session_file(), *session_);
    } catch (const MegaError& e) {
      session_.reset();
      throw ServiceError(
          Kind::unavailable,
          std::string("MEGA ended the session and logging in again failed: ") + e.what());
    }
  }
  try {
    return api->call(command, folder);
  } catch (const MegaError& e) {
    rethrow_mega_error(e);
  }
}

void MegaService::require_running() {
  std::lock_guard lock(mu_);
  if (!session_) throw ServiceError(Kind::unavailable, "mega is not running (not logged in)");
}

std::string MegaService::download_path() {
  std::lock_guard lock(mu_);
  return config_.value("download_path", data_dir_ + "/downloads/mega");
}

json MegaService::quota() {
  json out = quota_of(call(kQuotaCommand));
  std::lock_guard lock(mu_);
  quota_ = out;
  return out;
}

}  // namespace moccha::mega
