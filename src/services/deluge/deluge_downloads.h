// Deluge's torrents in the common download queue: its states mapped to the common ones, its
// torrents listed in the common shape, magnet links and .torrent URLs added, and pause,
// resume and cancel (remove, data kept) on one torrent.
#pragma once

#include <string>

#include "services/downloads.h"

namespace moccha::deluge {

class DelugeService;

// Deluge's state (deluge.common.TORRENT_STATE) as a common one; a finished torrent that is
// paused is "completed".
std::string common_state(const std::string& deluge_state, bool finished);

class DelugeDownloads : public services::DownloadSource {
 public:
  explicit DelugeDownloads(DelugeService* service) : service_(service) {}
  std::string service() const override { return "deluge"; }
  // Magnet links and http(s) URLs whose path ends in .torrent.
  bool takes(const std::string& url) const override;
  std::vector<services::DownloadItem> items() override;
  std::string add(const nlohmann::json& request) override;
  void act(const std::string& native_id, const std::string& action) override;

 private:
  std::vector<services::DownloadItem> list();
  std::string add_link(const nlohmann::json& request);
  void control(const std::string& hash, const std::string& action);
  DelugeService* service_;
};

}  // namespace moccha::deluge
