// The services the agent knows, in the order the API lists them.
#pragma once

#include <string>
#include <vector>

namespace moccha::services {

const std::vector<std::string>& known_services();

}  // namespace moccha::services
