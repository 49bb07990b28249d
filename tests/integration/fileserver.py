"""A loopback HTTP server of the tests' own for aria2: serves files from a dict with Range
support (206, so aria2 can split and resume), an optional throttle per response (bytes/s),
and a log of every request (path, Range header, other headers). Python's http.server ignores
Range, so aria2 could neither split nor resume against it."""
import http.server
import re
import threading
import time


class FileServer:
    def __init__(self):
        self.files = {}        # path -> bytes
        self.throttle = {}     # path -> bytes per second
        self.requests = []     # (path, range or None, headers dict)
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.respond(head=True)

            def do_GET(self):
                self.respond(head=False)

            def respond(self, head):
                path = self.path
                rng = self.headers.get("Range")
                with server.lock:
                    server.requests.append((path, rng, dict(self.headers)))
                data = server.files.get(path)
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start, end = 0, len(data) - 1
                m = re.match(r"bytes=(\d+)-(\d*)$", rng or "")
                if m:
                    start = int(m.group(1))
                    end = min(int(m.group(2)) if m.group(2) else end, len(data) - 1)
                    if start > end:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(end - start + 1))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if head:
                    return
                rate = server.throttle.get(path)
                pos = start
                try:
                    while pos <= end:
                        step = min(end + 1 - pos, max(1024, rate // 10) if rate else 1 << 20)
                        self.wfile.write(data[pos:pos + step])
                        pos += step
                        if rate:
                            time.sleep(step / rate)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def ranges(self, path):
        with self.lock:
            return [r for p, r, _ in self.requests if p == path and r]

    def headers_of(self, path):
        with self.lock:
            return [h for p, _, h in self.requests if p == path]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
