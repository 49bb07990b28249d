#include "services/events.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "services/webhooks.h"

namespace moccha::services {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// Waits for one wait_after delivery, bounded.
EventBus::Batch wait_one(EventBus& bus, std::int64_t after, std::chrono::milliseconds hb) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<EventBus::Batch> got;
  bus.wait_after(after, hb, [&](EventBus::Batch b) {
    std::lock_guard lock(mu);
    got = std::move(b);
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, 5s, [&] { return got.has_value(); }));
  return got.value_or(EventBus::Batch{});
}

TEST(EventBus, IdsIncreaseAndFramesCarryTypeAndData) {
  EventBus bus;
  std::int64_t start = bus.last_id();
  bus.publish("download.added", {{"service", "aria2"}, {"id", "aria2:1"}});
  bus.publish("download.finished", {{"service", "aria2"}, {"id", "aria2:1"}});
  auto b = wait_one(bus, start, 1s);
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_FALSE(b.reset);
  EXPECT_EQ(b.events[0].id, start + 1);
  EXPECT_EQ(b.events[1].id, start + 2);
  EXPECT_EQ(b.events[1].data["type"], "download.finished");
  EXPECT_EQ(b.events[1].data["service"], "aria2");
  EXPECT_TRUE(b.events[1].data.contains("time"));
  std::string sse = b.events[0].sse;
  EXPECT_EQ(sse.rfind("id: " + std::to_string(start + 1) + "\nevent: download.added\ndata: {", 0),
            0u);
  EXPECT_EQ(sse.substr(sse.size() - 2), "\n\n");
  EXPECT_EQ(sse.find('\n', sse.find("data: ")), sse.size() - 2);  // one data line
}

TEST(EventBus, AWaitEndsWithTheNextEventOrTheHeartbeat) {
  EventBus bus;
  std::int64_t start = bus.last_id();
  auto t0 = std::chrono::steady_clock::now();
  auto idle = wait_one(bus, start, 300ms);
  EXPECT_TRUE(idle.events.empty());
  EXPECT_FALSE(idle.reset);
  EXPECT_FALSE(idle.closed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);

  std::atomic<int> n{0};
  bus.wait_after(start, 10s, [&](EventBus::Batch b) { n = static_cast<int>(b.events.size()); });
  bus.publish("service.started", {{"service", "aria2"}});
  EXPECT_EQ(n.load(), 1);
}

TEST(EventBus, AClientTooFarBehindTheRingIsToldToReset) {
  EventBus bus(10);
  std::int64_t start = bus.last_id();
  for (int i = 0; i < 25; ++i) bus.publish("download.state", {{"n", i}});
  auto behind = wait_one(bus, start, 1s);
  EXPECT_TRUE(behind.reset);
  ASSERT_EQ(behind.events.size(), 10u);
  EXPECT_EQ(behind.events.front().data["n"], 15);
  // Just inside the ring: no reset, exactly what it missed.
  auto inside = wait_one(bus, start + 20, 1s);
  EXPECT_FALSE(inside.reset);
  ASSERT_EQ(inside.events.size(), 5u);
  EXPECT_EQ(inside.events.front().id, start + 21);
}

TEST(EventBus, AnIdFromBeforeThisAgentIsAResetEvenWithNothingKept) {
  EventBus bus;
  auto b = wait_one(bus, 5, 1s);
  EXPECT_TRUE(b.reset);
  EXPECT_TRUE(b.events.empty());
  EXPECT_EQ(b.upto, bus.last_id());
}

TEST(EventBus, CloseEndsWaitingStreams) {
  EventBus bus;
  std::atomic<bool> closed{false};
  bus.wait_after(bus.last_id(), 10s, [&](EventBus::Batch b) { closed = b.closed; });
  bus.close();
  EXPECT_TRUE(closed.load());
  EXPECT_TRUE(wait_one(bus, 0, 1s).closed);
}

TEST(EventBus, ListenersGetEveryEventInOrderAndCanUnsubscribe) {
  EventBus bus;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> seen;
  int token = bus.subscribe([&](const Event& e) {
    std::lock_guard lock(mu);
    seen.push_back(e.type);
    cv.notify_all();
  });
  bus.publish("a", {});
  bus.publish("b", {});
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return seen.size() == 2; }));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  bus.unsubscribe(token);
  bus.publish("c", {});
  std::this_thread::sleep_for(100ms);
  std::lock_guard lock(mu);
  EXPECT_EQ(seen.size(), 2u);
}

TEST(Webhooks, PayloadsKeepDelugesShapeAndGiveOthersTheCommonOne) {
  Event deluge{1,
               "download.finished",
               {{"service", "deluge"},
                {"id", "deluge:ab"},
                {"native_id", "ab"},
                {"name", "t"},
                {"size", 5},
                {"dir", "/d"},
                {"path", "/d/t"},
                {"time", "2026-01-01T00:00:00"}},
               ""};
  json p = webhook_payload(deluge);
  EXPECT_EQ(p, json({{"event", "torrent_finished"},
                     {"torrent_id", "ab"},
                     {"name", "t"},
                     {"size", 5},
                     {"download_path", "/d"},
                     {"time", "2026-01-01T00:00:00"}}));
  Event aria2 = deluge;
  aria2.data["service"] = "aria2";
  aria2.data["id"] = "aria2:ab";
  p = webhook_payload(aria2);
  EXPECT_EQ(p, json({{"event", "download_finished"},
                     {"service", "aria2"},
                     {"id", "aria2:ab"},
                     {"name", "t"},
                     {"size", 5},
                     {"path", "/d/t"},
                     {"time", "2026-01-01T00:00:00"}}));
  aria2.type = "download.state";
  EXPECT_TRUE(webhook_payload(aria2).is_null());
}

}  // namespace
}  // namespace moccha::services
