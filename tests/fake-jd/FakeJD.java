// The tests' JDownloader. JD itself cannot be had here (it is packaged nowhere, and its jar
// downloads the application on first start), so this stands in for it, placed as
// JDownloader.jar so Moccha's real launcher, config writer, readiness check and stop path run.
// What it does, and where JD does the same (mirror/jdownloader):
// - runs from the folder of its jar and reads cfg/org.jdownloader.api.RemoteAPIConfig.json with
//   JD's keys and defaults (RemoteAPIConfig.java: deprecatedapienabled false, port 3128,
//   localhost only, headlessmyjdownloadermandatory true);
// - headless, when My.JDownloader is required (MyJDownloaderController.isAlwaysConnectRequired:
//   mandatory, or the local API off) it prints the console login prompt and waits;
// - writes its pid to JDownloader.pid; on what stands for its first run (a `restart-once` file
//   the test puts in its folder) it restarts itself into a new process, as JD's bootstrap does
//   after fetching the application, and that process writes its pid there;
// - serves the local API on 127.0.0.1: POST /<namespace>/<method> with the envelope
//   {"apiVer", "url", "params": [positional], "rid"}, answering {"data", "rid"}; an Origin
//   header is refused (AUTH_FAILED), params that are not a list are BAD_PARAMETERS, an unknown
//   method API_COMMAND_NOT_FOUND;
// - device/ping, jd/version, config/get and config/set (GeneralSettings), system/exitJD (which,
//   like JD, writes its cfg files back from memory before it exits);
// - the link grabber, the download list and the download controller (Model.java), with
//   linkgrabberv2/*, downloadsV2/* and downloadcontroller/* as JD's interfaces declare them
//   (LinkCollectorAPIV2, DownloadsAPIV2, DownloadWatchdogAPI): positional params, and only the
//   fields a query's flags ask for.
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class FakeJD {
  static final String REMOTE = "org.jdownloader.api.RemoteAPIConfig";
  static final String GENERAL = "org.jdownloader.settings.GeneralSettings";
  static Path home;
  static final Map<String, Map<String, Object>> cfg = new LinkedHashMap<>();

  @SuppressWarnings("unchecked")
  static Map<String, Object> read(String name) throws IOException {
    Path p = home.resolve("cfg").resolve(name + ".json");
    Map<String, Object> m = new LinkedHashMap<>();
    if (Files.exists(p)) m.putAll((Map<String, Object>) Json.parse(Files.readString(p)));
    cfg.put(name, m);
    return m;
  }

  static void saveCfg() throws IOException {
    Files.createDirectories(home.resolve("cfg"));
    for (Map.Entry<String, Map<String, Object>> e : cfg.entrySet())
      Files.writeString(home.resolve("cfg").resolve(e.getKey() + ".json"), Json.write(e.getValue()));
  }

  static boolean flag(Map<String, Object> m, String key, boolean dflt) {
    Object v = m.get(key);
    return v instanceof Boolean ? (Boolean) v : dflt;
  }

  public static void main(String[] args) throws Exception {
    home = new File(FakeJD.class.getProtectionDomain().getCodeSource().getLocation().toURI())
               .getParentFile().toPath();
    Map<String, Object> remote = read(REMOTE);
    read(GENERAL);
    System.out.println("JDownloader (Moccha's test stand-in) in " + home);
    if (Files.deleteIfExists(home.resolve("restart-once"))) {
      List<String> cmd = new java.util.ArrayList<>();
      cmd.add(ProcessHandle.current().info().command().orElse("java"));
      cmd.add("-jar");
      cmd.add(home.resolve("JDownloader.jar").toString());
      cmd.addAll(List.of(args));
      Process next = new ProcessBuilder(cmd)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .redirectOutput(ProcessBuilder.Redirect.INHERIT)
          .redirectErrorStream(true)
          .start();
      Files.writeString(home.resolve("JDownloader.pid"), next.pid() + "\n");
      System.out.println("first run: restarting as pid " + next.pid());
      System.out.flush();
      System.exit(0);
    }
    Files.writeString(home.resolve("JDownloader.pid"), ProcessHandle.current().pid() + "\n");
    boolean api = flag(remote, "deprecatedapienabled", false);
    if (flag(remote, "headlessmyjdownloadermandatory", true) || !api) {
      // What headless JD does without a usable My.JDownloader login: ask on the console.
      System.out.println("MyJDownloader Setup");
      System.out.println("Your 'My JDownloader' logins are not correct. Please enter your logins.");
      System.out.println("1. Enter Logins");
      System.out.println("2. Exit JDownloader");
      System.out.flush();
      new BufferedReader(new InputStreamReader(System.in)).readLine();
      while (true) Thread.sleep(60000);  // no answer on a closed stdin: it waits
    }
    int port = ((Number) remote.getOrDefault("deprecatedapiport", 3128L)).intValue();
    InetAddress bind = flag(remote, "deprecatedapilocalhostonly", true)
        ? InetAddress.getLoopbackAddress() : InetAddress.getByName("0.0.0.0");
    HttpServer server = HttpServer.create(new InetSocketAddress(bind, port), 64);
    server.createContext("/", FakeJD::handle);
    server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
    server.start();
    Model.general = cfg.get(GENERAL);
    Thread watchdog = new Thread(Model::watchdog);
    watchdog.setDaemon(true);
    watchdog.start();
    System.out.println("Deprecated API on " + bind.getHostAddress() + ":" + port);
    System.out.flush();
  }

  static void answer(HttpExchange x, int status, Object body) throws IOException {
    byte[] out = Json.write(body).getBytes(StandardCharsets.UTF_8);
    x.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
    x.sendResponseHeaders(status, out.length);
    try (OutputStream o = x.getResponseBody()) {
      o.write(out);
    }
  }

  static Map<String, Object> error(String type, Object data) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("src", "DEVICE");
    e.put("type", type);
    e.put("data", data);
    return e;
  }

  @SuppressWarnings("unchecked")
  static void handle(HttpExchange x) throws IOException {
    try {
      if (x.getRequestHeaders().containsKey("Origin")) {
        answer(x, 403, error("AUTH_FAILED", "Bad Origin"));
        return;
      }
      String path = x.getRequestURI().getPath();
      Object doc = null;
      if ("POST".equals(x.getRequestMethod())) {
        String body = new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        doc = body.isBlank() ? new LinkedHashMap<String, Object>() : Json.parse(body);
      }
      if (!(doc instanceof Map) || !(((Map<String, Object>) doc).getOrDefault("params",
              List.of()) instanceof List)) {
        answer(x, 400, error("BAD_PARAMETERS", null));
        return;
      }
      Map<String, Object> env = (Map<String, Object>) doc;
      List<Object> params = (List<Object>) env.getOrDefault("params", List.of());
      Object rid = env.get("rid");
      Object data;
      switch (path) {
        case "/device/ping": data = Boolean.TRUE; break;
        case "/jd/version": data = 47000L; break;
        case "/config/get":
          data = params.size() == 3 ? cfg.getOrDefault(GENERAL, Map.of())
                                          .get(String.valueOf(params.get(2)).toLowerCase()) : null;
          if (params.size() != 3) { answer(x, 400, error("BAD_PARAMETERS", null)); return; }
          break;
        case "/config/set":
          if (params.size() != 4 || !GENERAL.equals(params.get(0))) {
            answer(x, 400, error("BAD_PARAMETERS", null));
            return;
          }
          cfg.get(GENERAL).put(String.valueOf(params.get(2)).toLowerCase(), params.get(3));
          data = Boolean.TRUE;
          break;
        case "/system/exitJD":
          data = null;
          new Thread(() -> {
            try {
              Thread.sleep(100);
              saveCfg();  // JD writes its cfg back from memory on exit
              Files.deleteIfExists(home.resolve("JDownloader.pid"));
            } catch (Exception e) {
              e.printStackTrace();
            }
            System.exit(0);
          }).start();
          break;
        case "/linkgrabberv2/addLinks": {
          Map<String, Object> job = new LinkedHashMap<>();
          job.put("id", Model.add((Map<String, Object>) params.get(0)));
          data = job;
          break;
        }
        case "/linkgrabberv2/isCollecting": data = Model.collecting; break;
        case "/linkgrabberv2/queryPackages":
          data = Model.queryPackages((Map<String, Object>) params.get(0), true);
          break;
        case "/linkgrabberv2/queryLinks":
          data = Model.queryLinks((Map<String, Object>) params.get(0), true);
          break;
        case "/linkgrabberv2/moveToDownloadlist":
          Model.move((List<Object>) params.get(0), (List<Object>) params.get(1));
          data = null;
          break;
        case "/linkgrabberv2/clearList": Model.clearGrabber(); data = null; break;
        case "/downloadsV2/queryPackages":
          data = Model.queryPackages((Map<String, Object>) params.get(0), false);
          break;
        case "/downloadsV2/queryLinks":
          data = Model.queryLinks((Map<String, Object>) params.get(0), false);
          break;
        case "/downloadsV2/setEnabled": {
          boolean on = Boolean.TRUE.equals(params.get(0));
          synchronized (Model.class) {
            for (Model.Link l : Model.selected((List<Object>) params.get(1),
                                                (List<Object>) params.get(2)))
              l.enabled = on;
          }
          data = null;
          break;
        }
        case "/downloadsV2/removeLinks":
          Model.remove((List<Object>) params.get(0), (List<Object>) params.get(1));
          data = null;
          break;
        case "/downloadcontroller/start":
          synchronized (Model.class) { Model.state = "RUNNING"; }
          data = true;
          break;
        case "/downloadcontroller/stop":
          synchronized (Model.class) { Model.state = "STOPPED_STATE"; }
          data = true;
          break;
        case "/downloadcontroller/pause": {
          boolean pause = Boolean.TRUE.equals(params.get(0));
          synchronized (Model.class) {
            if (pause && Model.state.equals("RUNNING")) Model.state = "PAUSE";
            else if (!pause && Model.state.equals("PAUSE")) Model.state = "RUNNING";
          }
          data = true;
          break;
        }
        case "/downloadcontroller/getCurrentState":
          synchronized (Model.class) { data = Model.state; }
          break;
        case "/downloadcontroller/getSpeedInBps": data = Model.speed(); break;
        default:
          answer(x, 404, error("API_COMMAND_NOT_FOUND", path));
          return;
      }
      Map<String, Object> reply = new LinkedHashMap<>();
      reply.put("data", data);
      reply.put("rid", rid);
      answer(x, 200, reply);
    } catch (IllegalArgumentException | ClassCastException | IndexOutOfBoundsException
             | NullPointerException e) {
      answer(x, 400, error("BAD_PARAMETERS", String.valueOf(e.getMessage())));
    }
  }
}
