// Prometheus metrics: counters and histograms the agent updates as it works, gauges read from
// their owners at scrape time (collectors), and the text exposition format (version 0.0.4) they
// are served in by GET /metrics. Names follow Prometheus's conventions: a `moccha_` prefix, base
// units (seconds, bytes, ratios), `_total` on counters. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moccha::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Writes families in the text format: one family() then its samples.
class Exposition {
 public:
  // `type`: counter, gauge or histogram.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Series are made once, under a lock, and then updated without one: a hot path keeps the
// reference slot() or series() gives (it lives as long as the registry) and adds to it.
class Counter {
 public:
  void inc(const Labels& labels, double by = 1) { slot(labels).fetch_add(by); }
  std::atomic<double>& slot(const Labels& labels);

 private:
  friend class Registry;
  std::mutex mu_;
  std::map<Labels, std::unique_ptr<std::atomic<double>>> values_;
};

class Histogram {
 public:
  struct Series {
    explicit Series(std::size_t bounds) : buckets(bounds) {}
    std::vector<std::atomic<std::uint64_t>> buckets;  // per bound, not cumulative
    std::atomic<std::uint64_t> count{0};
    std::atomic<double> sum{0};
  };
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {}
  void observe(const Labels& labels, double value) { observe(series(labels), value); }
  Series& series(const Labels& labels);
  void observe(Series& s, double value) const;

 private:
  friend class Registry;
  std::vector<double> bounds_;
  std::mutex mu_;
  std::map<Labels, std::unique_ptr<Series>> series_;
};

class Registry {
 public:
  // The family `name`, made on first use; the reference stays valid for the registry's life.
  Counter& counter(const std::string& name, const std::string& help);
  Histogram& histogram(const std::string& name, const std::string& help,
                       std::vector<double> bounds);
  // Called at each scrape, in the order added, to write gauges read from their owners.
  // It may block (run the scrape on a worker thread).
  void collect(std::function<void(Exposition&)> collector);

  std::string render();

 private:
  struct Family {
    std::string name, help;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Histogram> histogram;
  };
  std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
  std::vector<std::function<void(Exposition&)>> collectors_;
};

}  // namespace moccha::metrics
