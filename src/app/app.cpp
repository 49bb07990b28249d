#include "app/app.h"

#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "api/services_api.h"
#include "api/system_api.h"
#include "core/log.h"
#include "http/router.h"
#include "http/server.h"
#include "store/files.h"
#include "system/monitor.h"

namespace moccha::app {
namespace {

// 500 idle keep-alive clients need more than the usual soft limit of 1024 descriptors once
// children and files are counted: take what the hard limit allows.
void raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int serve(Config config) {
  resolve_defaults(config);
  std::signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();

  try {
    store::ensure_dir(config.data_dir, 0700);
    store::ensure_dir(config.workspace, 0755);
  } catch (const std::exception& e) {
    std::cerr << "moccha: " << e.what() << "\n";
    return 1;
  }
  if (!config.log_file.empty() && !log::open(config.log_file))
    std::cerr << "moccha: cannot open log file " << config.log_file << "; logging to stderr\n";

  bool key_generated = false;
  std::string key_file;
  if (config.api_key.empty()) {
    try {
      store::ApiKey k = store::load_or_create_api_key(config.data_dir);
      config.api_key = k.key;
      key_generated = k.generated;
      key_file = k.file.string();
    } catch (const std::exception& e) {
      std::cerr << "moccha: cannot read or create the API key: " << e.what() << "\n";
      return 1;
    }
  }

  sys::Monitor monitor(
      config.workspace,
      std::chrono::milliseconds(static_cast<long>(config.cpu_sample_interval_s * 1000)),
      std::chrono::seconds(5));
  monitor.start();

  http::Router router;
  api::add_system_routes(router, {std::chrono::steady_clock::now(), &monitor});
  api::add_services_routes(router);
  api::add_pending_routes(router);

  boost::asio::io_context ioc(1);
  http::ServerOptions options{config.host, static_cast<unsigned short>(config.port), config.api_key,
                              config.limits, config.rate_limit};
  http::Server server(ioc, options, router);
  unsigned short port = 0;
  try {
    port = server.listen();
  } catch (const std::exception& e) {
    std::cerr << "moccha: cannot listen on " << config.host << ":" << config.port << ": "
              << e.what() << "\n";
    return 1;
  }
  // Signals are caught before the banner: a supervisor may signal as soon as it reads it.
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    log::info("signal {}: shutting down", sig);
    server.shutdown([&] { ioc.stop(); });
  });
  server.start();

  std::string url = "http://" + config.host + ":" + std::to_string(port);
  std::cout << "moccha listening on " << url << std::endl;
  if (key_generated) {
    std::cout << "API key (generated, stored in " << key_file << "): " << config.api_key
              << std::endl;
  } else if (!key_file.empty()) {
    std::cout << "API key: stored in " << key_file << std::endl;
  }
  log::info("listening on {} (pid {}), data dir {}, workspace {}", url, ::getpid(), config.data_dir,
            config.workspace);

  ioc.run();
  log::info("stopped");
  return 0;
}

}  // namespace moccha::app
