// MEGA's transfers in the one download queue: kind "cloud", direction up or down; a mega.nz
// link sent to POST /downloads is downloaded into the service's download_path. Transfers can
// be cancelled, not paused.
#pragma once

#include "services/downloads.h"

namespace moccha::mega {

class MegaService;

class MegaDownloads : public services::DownloadSource {
 public:
  explicit MegaDownloads(MegaService* service) : service_(service) {}
  std::string service() const override { return "mega"; }
  bool takes(const std::string& url) const override;
  std::vector<services::DownloadItem> items() override;
  std::string add(const nlohmann::json& request) override;
  void act(const std::string& id, const std::string& action) override;

 private:
  MegaService* service_;
};

}  // namespace moccha::mega
