#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "store/database.h"
#include "store/files.h"
#include "system/process.h"

namespace moccha::store {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(Store, AppendedLogIsCappedWhileItsWriterGoesOn) {
  fs::path dir = fs::temp_directory_path() / ("moccha-cap-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path log = dir / "daemon.out";
  std::string error;
  // A daemon writing its output as deluged does: a file opened O_APPEND by spawn_daemon.
  pid_t pid =
      sys::spawn_daemon({"/bin/sh", "-c", "while :; do echo 0123456789abcdef; sleep 0.005; done"},
                        log.string(), error);
  ASSERT_GT(pid, 0) << error;
  for (int i = 0; i < 400 && fs::file_size(log) <= 2048; ++i) ::usleep(10000);
  EXPECT_FALSE(cap_appended_log(log, 1 << 20));  // under the cap: untouched
  ASSERT_TRUE(cap_appended_log(log, 1024));
  EXPECT_GT(fs::file_size(dir / "daemon.out.1"), 1024u);
  for (int i = 0; i < 400 && fs::file_size(log) < 170; ++i) ::usleep(10000);
  sys::stop_daemon(pid, std::chrono::seconds(2));
  // The writer went on at the start of the emptied file: whole lines, no hole of zeros.
  std::string after = slurp(log);
  EXPECT_GE(after.size(), 170u);
  EXPECT_LT(after.size(), 1024u * 64);
  EXPECT_EQ(after.find('\0'), std::string::npos);
  for (std::size_t pos = 0; pos < after.size(); pos += 17)
    ASSERT_EQ(after.substr(pos, 17), "0123456789abcdef\n") << "at " << pos;
  fs::remove_all(dir);
}

TEST(Store, DatabaseKeepsTheNewestAndCountsEverything) {
  fs::path file = fs::temp_directory_path() / ("moccha-db-" + std::to_string(::getpid()) + ".db");
  {
    Database db(file.string(), Retention{5, 3});
    for (int i = 0; i < 12; ++i) db.add_history({"id", "execute", "t", std::to_string(i), true, 0});
    for (int i = 0; i < 3; ++i) db.add_history({"id", "shell", "t", "true", true, 0});
    auto h = db.history(100);
    EXPECT_LE(h.size(), 6u);  // kept, plus at most one pruning step
    EXPECT_EQ(h.front().input, "true");
    EXPECT_EQ(db.count_history({"execute"}), 12);
    EXPECT_EQ(db.count_history({"execute", "shell"}), 15);
    // Each task saved twice, interleaved, as the engine does (queued, then done).
    for (int i = 0; i < 5; ++i) {
      db.save_task("t" + std::to_string(i), "t", {{"status", "queued"}});
      if (i > 0) db.save_task("t" + std::to_string(i - 1), "t", {{"status", "done"}});
    }
    db.save_task("t4", "t", {{"status", "done"}});
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(db.load_task("t" + std::to_string(i)).has_value(), i >= 2) << i;
  }
  Database again(file.string(), Retention{5, 3});  // the counts survive a reopen
  EXPECT_EQ(again.count_history({"execute"}), 12);
  // A huge limit keeps everything (it must not wrap negative and drop all).
  Database all(file.string(), Retention{SIZE_MAX, SIZE_MAX});
  all.save_task("big", "t", {{"status", "done"}});
  all.add_history({"id", "execute", "t", "y", true, 0});
  EXPECT_TRUE(all.load_task("big").has_value());
  EXPECT_TRUE(all.load_task("t4").has_value());
  EXPECT_EQ(all.history(100).front().input, "y");
  fs::remove(file);
  fs::remove(file.string() + "-wal");
  fs::remove(file.string() + "-shm");
}

}  // namespace
}  // namespace moccha::store
