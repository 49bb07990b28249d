#include "app/app.h"

#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "api/aria2_api.h"
#include "api/deluge_api.h"
#include "api/downloads_api.h"
#include "api/events_api.h"
#include "api/exec_api.h"
#include "api/files_api.h"
#include "api/jdownloader_api.h"
#include "api/logs_api.h"
#include "api/mega_api.h"
#include "api/metrics_api.h"
#include "api/openapi.h"
#include "api/services_api.h"
#include "api/system_api.h"
#include "api/terminals_api.h"
#include "api/web_api.h"
#include "app/agent_metrics.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/worker_pool.h"
#include "exec/engine.h"
#include "files/file_ops.h"
#include "files/paths.h"
#include "http/router.h"
#include "http/server.h"
#include "http/web_guard.h"
#include "services/aria2/aria2_downloads.h"
#include "services/aria2/aria2_service.h"
#include "services/deluge/deluge_downloads.h"
#include "services/deluge/deluge_service.h"
#include "services/downloads.h"
#include "services/events.h"
#include "services/jdownloader/jd_downloads.h"
#include "services/jdownloader/jd_service.h"
#include "services/manager.h"
#include "services/mega/auto_upload.h"
#include "services/mega/mega_downloads.h"
#include "services/mega/mega_service.h"
#include "services/tunnel/tunnel_service.h"
#include "services/webhooks.h"
#include "store/database.h"
#include "store/files.h"
#include "store/output_store.h"
#include "system/monitor.h"
#include "system/process.h"
#include "terminal/terminals.h"
#include "web/sessions.h"

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
  if (!config.log_file.empty() && !log::open(config.log_file, config.log_max_bytes))
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

  std::unique_ptr<store::Database> db;
  try {
    db = std::make_unique<store::Database>(
        config.data_dir + "/moccha.db",
        store::Retention{config.exec.history_kept, config.exec.tasks_kept});
  } catch (const std::exception& e) {
    std::cerr << "moccha: " << e.what() << "\n";
    return 1;
  }

  // Declared before everything that posts to it (the engine's thread, the pools, supervision),
  // so it is destroyed after all of them: a reply finished during shutdown must find it alive.
  boost::asio::io_context ioc(1);

  // Blocking work runs on these pools, never on the I/O thread, each kind on its own so one
  // cannot starve another: "quick" for SQLite and the file system (listings, uploads'
  // renames, downloads' opens), "jobs" for shell commands, pip and service start/stop
  // (minutes; sized for as many at once as a user would run), "daemons" for RPC to the
  // engines (a stopped daemon holds its callers until their RPC timeout).
  WorkerPool quick_pool("quick", 4);
  WorkerPool jobs_pool("jobs", 16);
  WorkerPool daemons_pool("daemons", 4);

  // The one event bus: engines, the manager and the kernel's tasks publish; /events and the
  // webhooks subscribe. Declared before them all.
  services::EventBus events;

  // Outputs that pass the reply's cap, kept whole for GET /task/{id}/output.
  store::OutputStore outputs(
      config.data_dir + "/output",
      {config.exec.spill_limit_bytes, config.exec.tasks_kept, config.exec.spill_kept_bytes});

  exec::EngineOptions engine_options;
  engine_options.kernel.python = config.python;
  engine_options.kernel.cwd = config.workspace;
  engine_options.kernel.log_file = config.log_file;
  engine_options.output_limit = config.exec.output_limit_bytes;
  engine_options.outputs = &outputs;
  engine_options.warm_spare = config.exec.warm_spare;
  engine_options.interrupt_grace =
      std::chrono::milliseconds(static_cast<long>(config.exec.interrupt_grace_s * 1000));
  engine_options.on_task_end = [&events](const nlohmann::json& task) {
    events.publish("task.finished", {{"service", nullptr},
                                     {"id", task.value("task_id", "")},
                                     {"status", task.value("status", "")},
                                     {"success", task.value("status", "") == "done"}});
  };
  exec::Engine engine(engine_options, db.get());
  engine.start();

  // Uploads are written here first and renamed into place when whole; whatever an earlier run
  // left behind (killed mid-upload) is swept now.
  std::string upload_temp = config.data_dir + "/uploads";
  store::ensure_dir(upload_temp, 0700);
  files::sweep_temp_dir(upload_temp);
  files::PathPolicy path_policy(config.workspace, config.files.roots);

  http::Router router;
  api::SystemApiDeps system_deps{std::chrono::steady_clock::now(), &monitor};
  system_deps.executions = [&engine] { return engine.executions(); };
  system_deps.variables = [&engine] { return engine.variable_count(); };
  api::add_system_routes(router, std::move(system_deps));
  api::add_exec_routes(
      router,
      {&engine, db.get(), &outputs, quick_pool.poster(), jobs_pool.poster(), config.workspace,
       config.python, config.shell.default_timeout_s, config.shell.max_timeout_s,
       config.exec.output_limit_bytes, config.pip.index_url, config.pip.timeout_s});
  std::vector<std::unique_ptr<services::Service>> service_list;
  auto deluge_service = std::make_unique<deluge::DelugeService>(config.data_dir, &events);
  deluge::DelugeService* deluge = deluge_service.get();
  service_list.push_back(std::move(deluge_service));
  auto jd_service = std::make_unique<jd::JdService>(config.data_dir, &events);
  jd::JdService* jdownloader = jd_service.get();
  service_list.push_back(std::move(jd_service));
  auto mega_service = std::make_unique<mega::MegaService>(config.data_dir, &events);
  mega::MegaService* mega = mega_service.get();
  service_list.push_back(std::move(mega_service));
  auto aria2_service = std::make_unique<aria2::Aria2Service>(config.data_dir, &events);
  aria2::Aria2Service* aria2 = aria2_service.get();
  service_list.push_back(std::move(aria2_service));
  auto tunnel_service = std::make_unique<tunnel::TunnelService>(config.data_dir, &events);
  tunnel::TunnelService* tunnel = tunnel_service.get();
  service_list.push_back(std::move(tunnel_service));
  services::ServiceManager service_manager(config.data_dir, std::move(service_list), &events);
  // Webhooks: the bus's subscriber, fed each service's current config.
  services::Webhooks webhooks(events, [&service_manager](const std::string& name) {
    return service_manager.has(name) ? service_manager.config(name) : nlohmann::json();
  });
  // upload_to_mega: what an engine finished goes to MEGA by itself.
  mega::AutoUpload auto_upload(
      events,
      [&service_manager](const std::string& name) {
        return service_manager.has(name) ? service_manager.config(name) : nlohmann::json();
      },
      mega);
  deluge::DelugeDownloads deluge_downloads(deluge);
  aria2::Aria2Downloads aria2_downloads(aria2, db.get(), &events);
  jd::JdDownloads jd_downloads(jdownloader, &events);
  mega::MegaDownloads mega_downloads(mega);
  services::DownloadQueue downloads;
  downloads.add_source(&deluge_downloads);
  downloads.add_source(&mega_downloads);  // before aria2: mega.nz links are https too
  downloads.add_source(&aria2_downloads);
  downloads.add_source(&jd_downloads);
  api::add_services_routes(router, &service_manager, {jobs_pool.poster(), daemons_pool.poster()});
  api::add_deluge_routes(router, deluge, &path_policy, daemons_pool.poster());
  api::add_files_routes(router, {&path_policy, upload_temp, quick_pool.poster()});
  api::add_aria2_routes(router, &aria2_downloads, daemons_pool.poster());
  api::add_downloads_routes(router, &downloads, daemons_pool.poster());
  api::add_events_routes(router, &events);
  api::add_jdownloader_routes(router, &jd_downloads, daemons_pool.poster());
  api::add_mega_routes(router, mega, &path_policy, daemons_pool.poster());

  // Metrics: the server counts its traffic; the rest is read from its owners at each scrape.
  metrics::Registry metrics;
  add_agent_collectors(
      metrics, {&monitor, &engine, &service_manager, &downloads, std::chrono::system_clock::now()});
  api::add_metrics_routes(router, {&metrics, config.metrics.token, daemons_pool.poster()});
  // The dashboard: its pages, the browser's login and the overview's live figures.
  web::WebSessions web_sessions(
      db.get(), config.api_key,
      std::chrono::seconds(static_cast<long long>(config.web.session_idle_hours * 3600)),
      quick_pool.poster());
  api::add_web_routes(router, {&web_sessions, &monitor, quick_pool.poster()});
  // Shells in the browser and `moccha term`; they end with the agent.
  std::unique_ptr<terminal::Terminals> terminals;
  if (config.terminal.enabled) {
    terminals = std::make_unique<terminal::Terminals>(terminal::Options{
        config.terminal.shell, config.workspace, config.terminal.scrollback_bytes,
        // Rounded up: 0.5 is half a second's wish, not "never" (that is 0).
        std::chrono::seconds(static_cast<long long>(std::ceil(config.terminal.idle_timeout_s))),
        config.terminal.max_terminals});
  }
  api::add_terminals_routes(router, {terminals.get(), jobs_pool.poster()});
  api::add_logs_routes(router, {config.log_file, &service_manager, quick_pool.poster()});
  // Names a browser may reach the agent by: loopback's, the configured ones, the tunnel's.
  auto hosts = std::make_shared<http::HostList>(config.web.allowed_hosts);
  hosts->add_source([tunnel] { return tunnel->public_url_now(); });
  // Last: the document of every route above, itself included.
  api::add_openapi_route(router, MOCCHA_VERSION);

  http::ServerOptions options{config.host,       static_cast<unsigned short>(config.port),
                              config.api_key,    config.limits,
                              config.rate_limit, &metrics,
                              &web_sessions,     hosts};
  http::Server server(ioc, options, router);
  unsigned short port = 0;
  try {
    port = server.listen();
  } catch (const std::exception& e) {
    std::cerr << "moccha: cannot listen on " << config.host << ":" << config.port << ": "
              << e.what() << "\n";
    return 1;
  }
  tunnel->set_agent_port(port);
  web_sessions.set_port(port);
  // Signals are caught before the banner: a supervisor may signal as soon as it reads it.
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    log::info("signal {}: shutting down", sig);
    events.close();  // event streams end now rather than at the grace's end
    monitor.close_waits();
    // Requests still running when the grace ends are answered 503; the execution they wait
    // on is interrupted rather than left running into the kernel's end.
    server.shutdown([&] { ioc.stop(); }, [&] { engine.interrupt(); });
  });
  server.start();
  // Services that ran when the agent last stopped come back, off the I/O thread; with
  // --tunnel the tunnel starts too and its public address is printed.
  jobs_pool.post([&service_manager, &web_sessions, tunnel, start_tunnel = config.start_tunnel] {
    service_manager.autostart();
    if (start_tunnel) {
      try {
        service_manager.start("tunnel");
        std::string public_url = tunnel->public_url();
        std::cout << "tunnel: " << public_url << std::endl;
        if (!public_url.empty())  // a credential: printed for the user, never logged
          std::cout << "dashboard login link (single use, 2 minutes): " << public_url
                    << "/#login=" << web_sessions.login_code() << std::endl;
      } catch (const std::exception& e) {
        std::cout << "tunnel: not started: " << e.what() << std::endl;
        log::error("tunnel not started: {}", e.what());
      }
    }
    service_manager.start_supervisor();
  });

  std::string url = "http://" + config.host + ":" + std::to_string(port);
  std::cout << "moccha listening on " << url << std::endl;
  if (key_generated) {
    std::cout << "API key (generated, stored in " << key_file << "): " << config.api_key
              << std::endl;
  } else if (!key_file.empty()) {
    std::cout << "API key: stored in " << key_file << std::endl;
  }
  // A credential: printed for the user (notebooks have no other way to log a browser in),
  // never logged.
  std::cout << "dashboard: " << url << "/ (login link, single use, 2 minutes: " << url
            << "/#login=" << web_sessions.login_code() << ")" << std::endl;
  log::info("listening on {} (pid {}), data dir {}, workspace {}", url, ::getpid(), config.data_dir,
            config.workspace);

  ioc.run();
  // Whatever shell commands, pip and the kernel started, detached or not, ends with the agent
  // (managed daemons carry no scope: they are stopped cleanly below).
  sys::end_scope(sys::agent_scope(), -1, true);
  quick_pool.join();
  jobs_pool.join();
  daemons_pool.join();
  service_manager.shutdown();  // managed daemons are stopped cleanly
  log::info("stopped");
  return 0;
}

}  // namespace moccha::app
