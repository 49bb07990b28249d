#include "core/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace moccha::log {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Log, AccessLinesComeWithin100msAndOtherLinesAtOnce) {
  std::string path = std::filesystem::temp_directory_path() / ("log-" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  ASSERT_TRUE(open(path));
  write("access", "GET /first");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (slurp(path).find("GET /first") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_NE(slurp(path).find("GET /first"), std::string::npos);
  write("access", "GET /second");
  error("something broke");  // written through at once, with the access line before it
  std::string text = slurp(path);
  EXPECT_NE(text.find("GET /second"), std::string::npos);
  EXPECT_NE(text.find("error something broke"), std::string::npos);
  EXPECT_LT(text.find("GET /second"), text.find("something broke"));
  open("/dev/stderr");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace moccha::log
