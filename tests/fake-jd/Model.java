// The stand-in's link model, after JD's: the link grabber (crawled packages and links, not yet
// queued) and the download list (FilePackage -> DownloadLink), one download controller whose
// states are DownloadWatchDog's (IDLE, RUNNING, PAUSE, STOPPING, STOPPED_STATE). Ids are
// 64-bit like JD's uuids, and start past 2^53 so a client that reads them as doubles breaks.
// Links are really downloaded (http on loopback) into their package's folder, .part first,
// resumed with Range, at most maxsimultanedownloads at once, within downloadspeedlimit.
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.net.HttpURLConnection;
import java.net.URL;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

final class Model {
  static final class Link {
    long uuid, pkg, total = -1, loaded = 0, speed = 0;
    String name, url, host, availability = "ONLINE", status = "";
    boolean enabled = true, finished = false, failed = false, running = false;
  }

  static final class Pkg {
    long uuid;
    String name, saveTo;
    boolean grabber = true;
    final List<Link> links = new ArrayList<>();
  }

  static long next = (1L << 53) + 1;
  static final Map<Long, Pkg> pkgs = new LinkedHashMap<>();
  static final Map<Long, Link> links = new LinkedHashMap<>();
  static String state = "IDLE";
  static boolean collecting = false;
  static Map<String, Object> general;  // GeneralSettings, live

  static synchronized long id() {
    return next++;
  }

  // linkgrabberv2/addLinks: crawls (a HEAD for each link's size), one package per call.
  static synchronized long add(Map<String, Object> q) {
    long job = id();
    String text = String.valueOf(q.getOrDefault("links", ""));
    Pkg p = new Pkg();
    p.uuid = id();
    Object dest = q.get("destinationFolder");
    p.saveTo = dest != null ? dest.toString() : String.valueOf(general.get("defaultdownloadfolder"));
    collecting = true;
    for (String u : text.split("[\\s]+")) {
      if (u.isEmpty()) continue;
      Link l = new Link();
      l.uuid = id();
      l.pkg = p.uuid;
      l.url = u;
      try {
        URL url = new URL(u);
        l.host = url.getHost();
        String path = url.getPath();
        l.name = path.substring(path.lastIndexOf('/') + 1);
        HttpURLConnection c = (HttpURLConnection) url.openConnection();
        c.setRequestMethod("HEAD");
        c.setConnectTimeout(5000);
        c.setReadTimeout(5000);
        if (c.getResponseCode() == 200) l.total = c.getContentLengthLong();
        else l.availability = "OFFLINE";
        c.disconnect();
      } catch (IOException | IllegalArgumentException e) {
        l.availability = "OFFLINE";
        if (l.name == null) l.name = u;
      }
      p.links.add(l);
      links.put(l.uuid, l);
    }
    Object name = q.get("packageName");
    p.name = name != null ? name.toString() : p.links.isEmpty() ? "links" : p.links.get(0).name;
    pkgs.put(p.uuid, p);
    collecting = false;
    if (Boolean.TRUE.equals(q.get("autostart")) || "true".equals(String.valueOf(q.get("autostart")))) {
      p.grabber = false;
      state = "RUNNING";
    }
    return job;
  }

  static synchronized void move(List<Object> linkIds, List<Object> pkgIds) {
    for (Object o : pkgIds) {
      Pkg p = pkgs.get(((Number) o).longValue());
      if (p != null) p.grabber = false;
    }
    for (Object o : linkIds) {
      Link l = links.get(((Number) o).longValue());
      if (l != null) pkgs.get(l.pkg).grabber = false;
    }
  }

  static synchronized void clearGrabber() {
    pkgs.values().removeIf(p -> {
      if (p.grabber) p.links.forEach(l -> links.remove(l.uuid));
      return p.grabber;
    });
  }

  static synchronized List<Link> selected(List<Object> linkIds, List<Object> pkgIds) {
    List<Link> out = new ArrayList<>();
    for (Object o : linkIds) {
      Link l = links.get(((Number) o).longValue());
      if (l != null) out.add(l);
    }
    for (Object o : pkgIds) {
      Pkg p = pkgs.get(((Number) o).longValue());
      if (p != null) out.addAll(p.links);
    }
    return out;
  }

  static synchronized void remove(List<Object> linkIds, List<Object> pkgIds) {
    for (Link l : selected(linkIds, pkgIds)) {
      l.enabled = false;  // a running one stops at its next chunk
      links.remove(l.uuid);
      Pkg p = pkgs.get(l.pkg);
      if (p != null) p.links.remove(l);
    }
    pkgs.values().removeIf(p -> p.links.isEmpty());
  }

  static synchronized long speed() {
    long s = 0;
    for (Link l : links.values()) if (l.running) s += l.speed;
    return s;
  }

  // DownloadWatchDog: starts what may start; ends the session when nothing is left to start.
  static void watchdog() {
    while (true) {
      synchronized (Model.class) {
        if (state.equals("RUNNING")) {
          long max = ((Number) general.getOrDefault("maxsimultanedownloads", 3L)).longValue();
          long running = links.values().stream().filter(l -> l.running).count();
          boolean left = false;
          for (Pkg p : pkgs.values()) {
            if (p.grabber) continue;
            for (Link l : p.links) {
              if (!l.enabled || l.finished || l.failed || l.running) continue;
              left = true;
              if (running < max) {
                l.running = true;
                running++;
                new Thread(() -> download(l, p.saveTo)).start();
              }
            }
          }
          if (!left && running == 0) state = "IDLE";
        }
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  static long limit() {
    synchronized (Model.class) {
      if (!Boolean.TRUE.equals(general.get("downloadspeedlimitenabled"))) return 0;
      Object v = general.get("downloadspeedlimit");
      return v instanceof Number ? ((Number) v).longValue() : 0;
    }
  }

  static void download(Link l, String dir) {
    File part = new File(dir, l.name + ".part");
    try {
      new File(dir).mkdirs();
      HttpURLConnection c = (HttpURLConnection) new URL(l.url).openConnection();
      long have = part.exists() ? part.length() : 0;
      if (have > 0) c.setRequestProperty("Range", "bytes=" + have + "-");
      c.setConnectTimeout(5000);
      c.setReadTimeout(10000);
      int code = c.getResponseCode();
      if (code != 200 && code != 206) throw new IOException("HTTP " + code);
      if (code == 200) have = 0;
      synchronized (Model.class) {
        l.status = "Downloading";
        l.loaded = have;
      }
      try (InputStream in = c.getInputStream(); RandomAccessFile out = new RandomAccessFile(part, "rw")) {
        out.seek(have);
        byte[] buf = new byte[16384];
        long t0 = System.nanoTime(), got = 0;
        int n;
        while ((n = in.read(buf)) > 0) {
          synchronized (Model.class) {
            if (!l.enabled || !state.equals("RUNNING") && !state.equals("PAUSE")) break;
          }
          out.write(buf, 0, n);
          got += n;
          double secs = (System.nanoTime() - t0) / 1e9;
          long lim = limit();
          if (lim > 0 && got > lim * secs) Thread.sleep((long) ((got / (double) lim - secs) * 1000));
          while (true) {
            synchronized (Model.class) {
              if (!state.equals("PAUSE")) break;
            }
            Thread.sleep(50);
          }
          synchronized (Model.class) {
            l.loaded = have + got;
            secs = (System.nanoTime() - t0) / 1e9;
            l.speed = secs > 0 ? (long) (got / secs) : 0;
          }
        }
      }
      synchronized (Model.class) {
        if (l.total > 0 && l.loaded >= l.total) {
          part.renameTo(new File(dir, l.name));
          l.finished = true;
          l.status = "Finished";
        } else {
          l.status = l.enabled ? "" : "Skipped";
        }
      }
    } catch (Exception e) {
      synchronized (Model.class) {
        l.failed = true;
        l.status = "Failed: " + e.getMessage();
      }
    } finally {
      synchronized (Model.class) {
        l.running = false;
        l.speed = 0;
      }
    }
  }

  static boolean flag(Map<String, Object> q, String key) {
    return q != null && Boolean.TRUE.equals(q.get(key));
  }

  static long eta(Link l) {
    return l.speed > 0 && l.total > 0 ? (l.total - l.loaded) / l.speed : -1;
  }

  // downloadsV2/queryLinks and linkgrabberv2/queryLinks: uuid, name, packageUUID, and the
  // fields the query's flags ask for.
  static synchronized List<Object> queryLinks(Map<String, Object> q, boolean grabber) {
    List<Object> out = new ArrayList<>();
    for (Pkg p : pkgs.values()) {
      if (p.grabber != grabber) continue;
      for (Link l : p.links) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("uuid", l.uuid);
        m.put("name", l.name);
        m.put("packageUUID", l.pkg);
        if (flag(q, "url")) m.put("url", l.url);
        if (flag(q, "host")) m.put("host", l.host);
        if (flag(q, "bytesTotal")) m.put("bytesTotal", l.total);
        if (flag(q, "availability")) m.put("availability", l.availability);
        if (flag(q, "bytesLoaded")) m.put("bytesLoaded", l.loaded);
        if (flag(q, "enabled")) m.put("enabled", l.enabled);
        if (flag(q, "finished")) m.put("finished", l.finished);
        if (flag(q, "running")) m.put("running", l.running);
        if (flag(q, "speed")) m.put("speed", l.speed);
        if (flag(q, "eta")) m.put("eta", eta(l));
        if (flag(q, "status")) m.put("status", l.status);
        if (flag(q, "finalState") && (l.finished || l.failed))
          m.put("finalState", l.finished ? "FINISHED" : "FAILED");
        out.add(m);
      }
    }
    return out;
  }

  static synchronized List<Object> queryPackages(Map<String, Object> q, boolean grabber) {
    List<Object> out = new ArrayList<>();
    for (Pkg p : pkgs.values()) {
      if (p.grabber != grabber) continue;
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("uuid", p.uuid);
      m.put("name", p.name);
      long total = 0, loaded = 0, speed = 0;
      boolean finished = !p.links.isEmpty(), enabled = false, running = false;
      for (Link l : p.links) {
        total += Math.max(0, l.total);
        loaded += l.loaded;
        speed += l.speed;
        finished &= l.finished;
        enabled |= l.enabled;
        running |= l.running;
      }
      if (flag(q, "childCount")) m.put("childCount", p.links.size());
      if (flag(q, "saveTo")) m.put("saveTo", p.saveTo);
      if (flag(q, "bytesTotal")) m.put("bytesTotal", total);
      if (flag(q, "bytesLoaded")) m.put("bytesLoaded", loaded);
      if (flag(q, "speed")) m.put("speed", speed);
      if (flag(q, "finished")) m.put("finished", finished);
      if (flag(q, "enabled")) m.put("enabled", enabled);
      if (flag(q, "running")) m.put("running", running);
      if (flag(q, "eta")) m.put("eta", speed > 0 ? (total - loaded) / speed : -1);
      if (flag(q, "status")) m.put("status", finished ? "Finished" : running ? "Running" : "");
      out.add(m);
    }
    return out;
  }
}
