#include "services/catalog.h"

namespace moccha::services {

const std::vector<std::string>& known_services() {
  static const std::vector<std::string> names = {"deluge", "jdownloader", "mega"};
  return names;
}

}  // namespace moccha::services
