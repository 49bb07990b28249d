#include "core/metrics.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

namespace moccha::metrics {
namespace {

void append_escaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
    out += fmt::format("{}", static_cast<long long>(v));
  } else {
    out += fmt::format("{}", v);
  }
}

}  // namespace

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void Exposition::sample(std::string_view name, const Labels& labels, double value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i) out_ += ',';
      out_ += labels[i].first;
      out_ += "=\"";
      append_escaped(out_, labels[i].second, true);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  append_value(out_, value);
  out_ += '\n';
}

std::atomic<double>& Counter::slot(const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& v = values_[labels];
  if (!v) v = std::make_unique<std::atomic<double>>(0);
  return *v;
}

Histogram::Series& Histogram::series(const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& s = series_[labels];
  if (!s) s = std::make_unique<Series>(bounds_.size());
  return *s;
}

void Histogram::observe(Series& s, double value) const {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);  // first bound >= value
  if (it != bounds_.end()) s.buckets[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1);
  s.count.fetch_add(1);
  s.sum.fetch_add(value);
}

Counter& Registry::counter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  for (auto& f : families_)
    if (f->name == name && f->counter) return *f->counter;
  auto f = std::make_unique<Family>(Family{name, help, std::make_unique<Counter>(), nullptr});
  families_.push_back(std::move(f));
  return *families_.back()->counter;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  for (auto& f : families_)
    if (f->name == name && f->histogram) return *f->histogram;
  std::sort(bounds.begin(), bounds.end());
  auto f = std::make_unique<Family>(
      Family{name, help, nullptr, std::make_unique<Histogram>(std::move(bounds))});
  families_.push_back(std::move(f));
  return *families_.back()->histogram;
}

void Registry::collect(std::function<void(Exposition&)> collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::render() {
  Exposition e;
  std::vector<std::function<void(Exposition&)>> collectors;
  {
    std::lock_guard lock(mu_);
    for (auto& f : families_) {
      if (f->counter) {
        e.family(f->name, "counter", f->help);
        std::lock_guard l2(f->counter->mu_);
        for (const auto& [labels, v] : f->counter->values_) e.sample(f->name, labels, v->load());
      } else {
        Histogram& h = *f->histogram;
        e.family(f->name, "histogram", f->help);
        std::lock_guard l2(h.mu_);
        for (const auto& [labels, series] : h.series_) {
          const Histogram::Series& s = *series;
          // The count first: buckets added to since are at most as many (a scrape reads while
          // requests are counted; the +Inf bucket must hold every bucket below it).
          std::uint64_t count = s.count.load();
          std::uint64_t cumulative = 0;
          Labels with_le = labels;
          with_le.emplace_back("le", "");
          for (std::size_t i = 0; i < h.bounds_.size(); ++i) {
            cumulative = std::min(count, cumulative + s.buckets[i].load());
            with_le.back().second = fmt::format("{}", h.bounds_[i]);
            e.sample(f->name + "_bucket", with_le, static_cast<double>(cumulative));
          }
          with_le.back().second = "+Inf";
          e.sample(f->name + "_bucket", with_le, static_cast<double>(count));
          e.sample(f->name + "_sum", labels, s.sum.load());
          e.sample(f->name + "_count", labels, static_cast<double>(count));
        }
      }
    }
    collectors = collectors_;
  }
  for (auto& c : collectors) c(e);
  return e.take();
}

}  // namespace moccha::metrics
