// MegaService's files: the tree by path, folder and node changes, links, and transfers.
#include <algorithm>
#include <system_error>

#include "core/log.h"
#include "core/time_util.h"
#include "services/events.h"
#include "services/mega/links.h"
#include "services/mega/mega_service.h"
#include "services/mega/transfer_io.h"
#include "services/mega/transfers.h"
#include "store/files.h"

namespace moccha::mega {

namespace fs = std::filesystem;
using nlohmann::json;
using services::ServiceError;
using Kind = services::ServiceError::Kind;

namespace {

constexpr auto kTreeMaxAge = std::chrono::seconds(3);

void check_path(const std::string& path) {
  if (path.size() > 4096 || path.find_first_of(std::string("\0\r\n", 3)) != std::string::npos)
    throw ServiceError(Kind::invalid, "a MEGA path is at most 4096 bytes of text");
  for (std::size_t at = 0; at <= path.size();) {
    std::size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    if (path.compare(at, slash - at, "..") == 0 && slash - at == 2)
      throw ServiceError(Kind::invalid, "a MEGA path has no '..'");
    at = slash + 1;
  }
}

void check_name(const std::string& name) {
  if (name.empty() || name.size() > 255 || name == "." || name == ".." ||
      name.find_first_of(std::string("/\0\r\n", 4)) != std::string::npos)
    throw ServiceError(Kind::invalid, "a name is 1-255 bytes without '/'");
}

std::string key_text(const Key& k) {
  return std::string(reinterpret_cast<const char*>(k.data()), 16);
}

long long local_size(const fs::path& p) {
  if (!fs::is_directory(p)) return static_cast<long long>(fs::file_size(p));
  long long total = 0;
  for (const auto& e : fs::recursive_directory_iterator(p))
    if (e.is_regular_file() && !e.is_symlink()) total += static_cast<long long>(e.file_size());
  return total;
}

}  // namespace

std::shared_ptr<const Tree> MegaService::tree(bool fresh) {
  std::lock_guard lock(tree_mu_);
  auto now = std::chrono::steady_clock::now();
  if (!fresh && tree_ && now - tree_at_ < kTreeMaxAge) return tree_;
  json listing = call({{"a", "f"}, {"c", 1}});
  Key master;
  std::string user;
  {
    std::lock_guard s(mu_);
    if (!session_) throw ServiceError(Kind::unavailable, "mega is not running (not logged in)");
    master = session_->master;
    user = session_->user;
  }
  tree_ = std::make_shared<const Tree>(Tree::of_account(listing, master, user));
  tree_at_ = now;
  return tree_;
}

const Node& MegaService::node_at(const Tree& t, const std::string& path) {
  check_path(path);
  const Node* n = t.find(path);
  if (!n) throw ServiceError(Kind::not_found, "nothing at '" + path + "' in MEGA");
  return *n;
}

const Node& MegaService::folder_at(const Tree& t, const std::string& path) {
  const Node& n = node_at(t, path);
  if (!n.is_dir()) throw ServiceError(Kind::invalid, "'" + path + "' is a file, not a folder");
  return n;
}

json MegaService::list(const std::string& path) {
  auto t = tree();
  const Node& dir = folder_at(*t, path);
  json items = json::array();
  for (const Node* c : t->children(dir.handle)) {
    items.push_back({{"name", c->name},
                     {"type", c->is_dir() ? "dir" : "file"},
                     {"size", c->size},
                     {"modified", iso8601_utc(std::chrono::system_clock::time_point(
                                      std::chrono::seconds(c->modified)))},
                     {"handle", c->handle}});
  }
  return {{"path", t->path_of(dir.handle)}, {"items", std::move(items)}};
}

std::string MegaService::mkdir_in(const std::string& parent, const std::string& name) {
  Key key = key_from(random_bytes(16));
  Key master;
  {
    std::lock_guard s(mu_);
    master = session_->master;
  }
  json node = {{"h", "xxxxxxxx"},
               {"t", kFolder},
               {"a", encrypt_attributes({{"n", name}}, key)},
               {"k", b64url(aes_ecb_encrypt(master, key_text(key)))}};
  json made = call({{"a", "p"}, {"t", parent}, {"n", json::array({node})}});
  if (!made.contains("f") || made["f"].empty())
    throw ServiceError(Kind::bad_reply, "MEGA made no folder '" + name + "'");
  return made["f"][0].value("h", std::string());
}

void MegaService::mkdir(const std::string& path) {
  check_path(path);
  auto t = tree(true);
  std::string at = t->root()->handle;
  std::string so_far;
  bool made = false;
  for (std::size_t i = 0; i <= path.size();) {
    std::size_t slash = path.find('/', i);
    if (slash == std::string::npos) slash = path.size();
    std::string part = path.substr(i, slash - i);
    i = slash + 1;
    if (part.empty() || part == ".") continue;
    check_name(part);
    so_far += "/" + part;
    const Node* n = made ? nullptr : t->find(so_far);
    if (n && !n->is_dir()) throw ServiceError(Kind::conflict, "'" + so_far + "' is a file in MEGA");
    if (n) {
      at = n->handle;
      continue;
    }
    at = mkdir_in(at, part);
    made = true;
  }
  if (so_far.empty()) throw ServiceError(Kind::invalid, "mkdir needs a path below '/'");
  tree(true);
}

void MegaService::move(const std::string& from, const std::string& to_dir) {
  auto t = tree(true);
  const Node& n = node_at(*t, from);
  const Node& dest = folder_at(*t, to_dir);
  if (n.type != kFile && n.type != kFolder)
    throw ServiceError(Kind::invalid, "'" + from + "' cannot be moved");
  for (const Node* in : t->subtree(n.handle))
    if (in->handle == dest.handle)
      throw ServiceError(Kind::invalid, "a folder cannot move into itself");
  call({{"a", "m"}, {"n", n.handle}, {"t", dest.handle}});
  tree(true);
}

void MegaService::rename(const std::string& path, const std::string& name) {
  check_name(name);
  auto t = tree(true);
  const Node& n = node_at(*t, path);
  if (n.type != kFile && n.type != kFolder)
    throw ServiceError(Kind::invalid, "'" + path + "' cannot be renamed");
  if (!n.decrypted) throw ServiceError(Kind::conflict, "'" + path + "' has a key we cannot read");
  json attributes = n.attributes;
  attributes["n"] = name;
  call({{"a", "a"}, {"n", n.handle}, {"at", encrypt_attributes(attributes, n.key)}});
  tree(true);
}

void MegaService::remove(const std::string& path, bool permanent) {
  auto t = tree(true);
  const Node& n = node_at(*t, path);
  if (n.type != kFile && n.type != kFolder)
    throw ServiceError(Kind::invalid, "'" + path + "' cannot be deleted");
  bool in_rubbish = t->path_of(n.handle).rfind("/Rubbish/", 0) == 0;
  if (permanent || in_rubbish || !t->rubbish())
    call({{"a", "d"}, {"n", n.handle}});
  else
    call({{"a", "m"}, {"n", n.handle}, {"t", t->rubbish()->handle}});
  tree(true);
}

std::string MegaService::link(const std::string& path) {
  auto t = tree(true);
  const Node& n = node_at(*t, path);
  if (n.type != kFile && n.type != kFolder)
    throw ServiceError(Kind::invalid, "'" + path + "' cannot be shared by link");
  if (!n.decrypted) throw ServiceError(Kind::conflict, "'" + path + "' has a key we cannot read");
  PublicLink out;
  out.folder = n.is_dir();
  if (!out.folder) {
    out.key = n.raw_key;
  } else {
    // A folder is shared (s2 with MEGA's "EXP" user) under a share key of its own, and every
    // node below gets its key under that share key (cr), as MEGA's clients do.
    std::optional<Key> share = t->share_key(n.handle);
    if (!share) {
      Key sk = key_from(random_bytes(16));
      Key master;
      {
        std::lock_guard s(mu_);
        master = session_->master;
      }
      json handles = json::array(), keys = json::array();
      auto below = t->subtree(n.handle);
      for (std::size_t j = 0; j < below.size(); ++j) {
        handles.push_back(below[j]->handle);
        if (!below[j]->decrypted) continue;
        keys.push_back(0);
        keys.push_back(j);
        keys.push_back(b64url(aes_ecb_encrypt(sk, below[j]->raw_key)));
      }
      call({{"a", "s2"},
            {"n", n.handle},
            {"s", json::array({{{"u", "EXP"}, {"r", 0}}})},
            {"ok", b64url(aes_ecb_encrypt(master, key_text(sk)))},
            {"ha", b64url(aes_ecb_encrypt(master, n.handle + n.handle))},
            {"cr", json::array({json::array({n.handle}), handles, keys})}});
      share = sk;
    }
    out.key = key_text(*share);
  }
  json ph = call({{"a", "l"}, {"n", n.handle}});
  if (!ph.is_string()) throw ServiceError(Kind::bad_reply, "MEGA gave no public handle");
  out.handle = ph.get<std::string>();
  tree(true);
  return make_link(out);
}

void MegaService::upload_tree(const fs::path& local, const std::string& parent, Transfer& t,
                              RateLimit& limit) {
  ApiClient* api;
  Key master;
  {
    std::lock_guard s(mu_);
    if (!session_) throw std::runtime_error("mega stopped");
    api = api_.get();
    master = session_->master;
  }
  std::string name = local.filename().string();
  if (!fs::is_directory(local)) {
    upload_file(*api, master, parent, local, name, t, limit);
    return;
  }
  std::string here = mkdir_in(parent, name);
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(local)) entries.push_back(e.path());
  std::sort(entries.begin(), entries.end());
  for (const auto& e : entries) {
    if (t.cancelled()) throw std::runtime_error("cancelled");
    auto st = fs::symlink_status(e);  // a link is not followed: it may point anywhere
    if (fs::is_directory(st) || fs::is_regular_file(st)) upload_tree(e, here, t, limit);
  }
}

std::string MegaService::upload(const fs::path& local, const std::string& remote_dir) {
  require_running();
  std::error_code ec;
  if (!fs::exists(local, ec)) throw ServiceError(Kind::not_found, "no " + local.string());
  if (!fs::is_regular_file(local) && !fs::is_directory(local))
    throw ServiceError(Kind::invalid, local.string() + " is not a file or folder");
  auto t = tree(true);
  const Node& dir = folder_at(*t, remote_dir);
  std::string parent = dir.handle;
  long long size = local_size(local);
  json q = quota();  // refused now rather than failed later
  if (q["storage_total"].is_number() && q["storage_used"].is_number() &&
      q["storage_used"].get<long long>() + size > q["storage_total"].get<long long>())
    throw ServiceError(Kind::no_space, "over MEGA's quota: " + q["storage_used"].dump() + " of " +
                                           q["storage_total"].dump() +
                                           " bytes used, and this upload is " +
                                           std::to_string(size) + " bytes");
  json extra = {{"local_path", local.string()},
                {"remote_path", t->path_of(dir.handle) == "/"
                                    ? "/" + local.filename().string()
                                    : t->path_of(dir.handle) + "/" + local.filename().string()}};
  std::lock_guard lock(mu_);
  if (!transfers_) throw ServiceError(Kind::unavailable, "mega is not running (not logged in)");
  RateLimit* limit = &transfers_->upload_limit();  // lives as long as the transfer
  return transfers_->submit(
      "up", local.filename().string(), size, extra,
      [this, local, parent, limit](Transfer& tr) { upload_tree(local, parent, tr, *limit); });
}

std::string MegaService::download(const std::string& what, const fs::path& local_dir) {
  require_running();
  ApiClient* api;
  {
    std::lock_guard s(mu_);
    api = api_.get();
  }
  struct Item {
    fs::path rel;  // below local_dir; a folder when `file` is empty
    std::optional<RemoteFile> file;
  };
  std::vector<Item> items;
  std::string name;
  json extra = {{"local_dir", local_dir.string()}};
  auto add_tree = [&](const Tree& t, const Node& top, const std::string& folder) {
    for (const Node* n : t.subtree(top.handle)) {
      fs::path rel;  // top's name, then the names below it
      for (const Node* up = n; up && up != &top; up = t.by_handle(up->parent))
        rel = rel.empty() ? fs::path(up->name) : fs::path(up->name) / rel;
      rel = rel.empty() ? fs::path(top.name) : fs::path(top.name) / rel;
      if (n->is_dir()) {
        items.push_back({rel, std::nullopt});
      } else if (n->file_key) {
        items.push_back({rel, RemoteFile{{{"a", "g"}, {"g", 1}, {"ssl", 0}, {"n", n->handle}},
                                         *n->file_key,
                                         n->size,
                                         folder}});
      }
    }
    name = top.name;
  };
  if (is_mega_url(what)) {
    auto link = parse_link(what);
    if (!link) throw ServiceError(Kind::invalid, "not a MEGA file or folder link with its key");
    extra["link"] = what;
    if (!link->folder) {
      json g = call({{"a", "g"}, {"g", 1}, {"ssl", 0}, {"p", link->handle}});
      FileKey key = *FileKey::unpack(link->key);
      auto attrs = decrypt_attributes(g.value("at", std::string()), key.aes);
      if (!attrs) throw ServiceError(Kind::invalid, "the link's key does not open its file");
      name = attrs->value("n", link->handle);
      check_name(name);
      items.push_back({name, RemoteFile{{{"a", "g"}, {"g", 1}, {"ssl", 0}, {"p", link->handle}},
                                        key,
                                        g.value("s", 0LL),
                                        ""}});
    } else {
      json listing = call({{"a", "f"}, {"c", 1}, {"ca", 1}, {"r", 1}}, link->handle);
      Tree t = Tree::of_folder_link(listing, key_from(link->key));
      if (!t.root() || !t.root()->decrypted)
        throw ServiceError(Kind::invalid, "the link's key does not open its folder");
      add_tree(t, *t.root(), link->handle);
    }
  } else {
    auto t = tree();
    const Node& n = node_at(*t, what);
    if (n.type != kFile && n.type != kFolder)
      throw ServiceError(Kind::invalid, "'" + what + "' is not a file or folder");
    extra["path"] = t->path_of(n.handle);
    add_tree(*t, n, "");
  }
  // Names come from MEGA (a public link's, anyone's): each part must be a plain name, so
  // nothing lands outside local_dir.
  for (const Item& i : items)
    for (const auto& part : i.rel) check_name(part.string());
  fs::path target = local_dir / name;
  std::error_code ec;
  if (fs::exists(target, ec))
    throw ServiceError(Kind::conflict, target.string() + " exists already");
  long long total = 0;
  for (const Item& i : items)
    if (i.file) total += i.file->size;
  extra["local_path"] = target.string();
  std::lock_guard lock(mu_);
  if (!transfers_) throw ServiceError(Kind::unavailable, "mega is not running (not logged in)");
  RateLimit* limit = &transfers_->download_limit();
  return transfers_->submit("down", name, total, extra,
                            [api, items, local_dir, limit](Transfer& t) {
                              store::ensure_dir(local_dir.string(), 0755);
                              for (const Item& i : items) {
                                if (t.cancelled()) throw std::runtime_error("cancelled");
                                if (!i.file) {
                                  fs::create_directories(local_dir / i.rel);
                                  continue;
                                }
                                download_file(*api, *i.file, local_dir / i.rel, t, *limit);
                              }
                            });
}

json MegaService::transfers() {
  require_running();
  std::lock_guard lock(mu_);
  return transfers_ ? transfers_->list() : json::array();
}

json MegaService::transfer(const std::string& id) {
  std::lock_guard lock(mu_);
  auto t = transfers_ ? transfers_->get(id) : std::nullopt;
  if (!t) throw ServiceError(Kind::not_found, "no MEGA transfer '" + id + "'");
  return *t;
}

void MegaService::cancel(const std::string& id) {
  std::lock_guard lock(mu_);
  if (!transfers_ || !transfers_->cancel(id))
    throw ServiceError(Kind::not_found, "no MEGA transfer '" + id + "'");
}

void MegaService::on_transfer_end(const json& t) {
  // A cancel of a queued transfer ends it here under mu_ (cancel()): nothing below takes
  // tree_mu_ for one, and an upload cancelled made nothing to see.
  std::string state = t.value("state", "");
  if (state == "canceled") return;
  if (t.value("direction", "") == "up") {
    std::lock_guard lock(tree_mu_);
    tree_.reset();
  }
  if (!events_) return;
  json fields = {{"service", "mega"},
                 {"id", "mega:" + t.value("id", "")},
                 {"native_id", t.value("id", "")},
                 {"name", t.value("name", "")},
                 {"direction", t.value("direction", "")},
                 {"path", t.value("direction", "") == "up" ? t.value("remote_path", "")
                                                           : t.value("local_path", "")},
                 {"dir", t.value("local_dir", "")},
                 {"size", t.value("bytes_total", 0LL)},
                 {"state", state},
                 {"detail", state}};
  if (state == "completed") {
    events_->publish("download.finished", fields);
  } else {
    fields["error"] = t.value("error", json());
    events_->publish("download.failed", fields);
  }
}

}  // namespace moccha::mega
