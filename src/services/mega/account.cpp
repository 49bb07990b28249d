#include "services/mega/account.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "store/files.h"

namespace moccha::mega {

using nlohmann::json;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Bytes decoded(const json& reply, const char* field) {
  auto b = b64url_decode(reply.value(field, std::string()));
  if (!b) throw MegaError(kKey, std::string("MEGA's login reply has no readable '") + field + "'");
  return *b;
}

}  // namespace

namespace {

Key password_key(int version, const std::string& salt_b64, const std::string& password) {
  if (version != 2) return prepare_key_v1(password);
  auto salt = b64url_decode(salt_b64);
  if (!salt) throw MegaError(kKey, "MEGA's v2 account has no readable salt");
  return derive_v2(password, *salt).first;
}

}  // namespace

bool password_opens(const Session& s, const std::string& password, const std::string& k) {
  auto enc = b64url_decode(k);
  if (!enc || enc->size() != 16) return false;
  Key master = key_from(aes_ecb_decrypt(password_key(s.version, s.salt, password), *enc));
  return master == s.master;
}

Session log_in(ApiClient& api, const std::string& email, const std::string& password,
               const std::string& mfa) {
  std::string user = lower(email);
  api.set_session("");
  json pre = api.call({{"a", "us0"}, {"user", user}});
  Key pw_key;
  std::string user_hash;
  int version = pre.value("v", 1);
  std::string salt = version == 2 ? pre.value("s", std::string()) : "";
  if (version == 2) {
    auto raw = b64url_decode(salt);
    if (!raw) throw MegaError(kKey, "MEGA's v2 account has no readable salt");
    std::tie(pw_key, user_hash) = derive_v2(password, *raw);
  } else {
    pw_key = prepare_key_v1(password);
    user_hash = user_hash_v1(user, pw_key);
  }
  json us = {{"a", "us"}, {"user", user}, {"uh", user_hash}};
  if (!mfa.empty()) us["mfa"] = mfa;
  json reply = api.call(us);
  Bytes k = decoded(reply, "k");
  if (k.size() != 16) throw MegaError(kKey, "MEGA's master key is not 16 bytes");
  Session s;
  s.api_url = api.api_url();
  s.email = user;
  s.master = key_from(aes_ecb_decrypt(pw_key, k));
  s.version = version;
  s.salt = salt;
  if (reply.contains("csid")) {
    Bytes privk = decoded(reply, "privk");
    if (privk.size() % 16) throw MegaError(kKey, "MEGA's private key is not whole blocks");
    auto sid =
        decrypt_session_id(aes_ecb_decrypt(s.master, privk), reply.value("csid", std::string()));
    if (!sid) throw MegaError(kKey, "the session id does not decrypt: wrong password?");
    s.sid = *sid;
  } else if (reply.contains("tsid")) {  // an account without RSA keys yet
    Bytes tsid = decoded(reply, "tsid");
    if (tsid.size() != 32 || aes_ecb_encrypt(s.master, tsid.substr(0, 16)) != tsid.substr(16))
      throw MegaError(kKey, "the temporary session does not check out: wrong password?");
    s.sid = reply["tsid"].get<std::string>();
  } else {
    throw MegaError(kKey, "MEGA's login reply has no session");
  }
  api.set_session(s.sid);
  json me = api.call({{"a", "ug"}});
  s.user = me.value("u", std::string());
  return s;
}

void save_session(const std::filesystem::path& file, const Session& s) {
  json j = {
      {"api_url", s.api_url},
      {"email", s.email},
      {"sid", s.sid},
      {"user", s.user},
      {"version", s.version},
      {"salt", s.salt},
      {"master", b64url(std::string_view(reinterpret_cast<const char*>(s.master.data()), 16))}};
  store::write_file_atomic(file, j.dump() + "\n", 0600);
}

std::optional<Session> load_session(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  if (!j.is_object()) return std::nullopt;
  Session s;
  s.api_url = j.value("api_url", std::string());
  s.email = j.value("email", std::string());
  s.sid = j.value("sid", std::string());
  s.user = j.value("user", std::string());
  s.version = j.value("version", 1);
  s.salt = j.value("salt", std::string());
  auto master = b64url_decode(j.value("master", std::string()));
  if (s.sid.empty() || !master || master->size() != 16) return std::nullopt;
  s.master = key_from(*master);
  return s;
}

}  // namespace moccha::mega
