"""Moccha's Python kernel: one persistent namespace, driven by the agent over a pipe pair.

Started by the agent as `python -c <this source> REQ_FD REP_FD`. Frames both ways are a 4-byte
big-endian length and a UTF-8 JSON object.

Requests:  {"id", "op": "execute", "code", "limit"} | {"id", "op": "variables"}
           | {"id", "op": "delete", "name"} | {"id", "op": "ping"}
Replies:   {"id", "type": "output", "data"}        (execute: output as it is produced)
           {"id", "type": "done", ...}             (every request ends with exactly one)
           {"type": "ready", "pid", "python"}      (once, at start)

Everything the code writes, through sys.stdout/sys.stderr or straight to file descriptors 1 and
2 (C extensions, os.system, child processes), goes into one pipe that a reader thread forwards
in order. An execution's end is marked in that pipe by a random sentinel, so the done frame
never overtakes output written before it.
"""
import ast
import importlib
import io
import json
import math
import os
import reprlib
import secrets
import signal
import struct
import sys
import threading
import traceback
import types

REQ_FD = int(sys.argv[1])
REP_FD = int(sys.argv[2])
VALUE_LIMIT = 10_000   # bytes of JSON a variable may take before it is shown as its repr
REPR_LIMIT = 1_000     # characters of repr kept

_send_lock = threading.Lock()


def send(obj):
    data = json.dumps(obj, ensure_ascii=False).encode("utf-8", "backslashreplace")
    with _send_lock:
        os.write(REP_FD, struct.pack(">I", len(data)))
        view = memoryview(data)
        while view:
            n = os.write(REP_FD, view)
            view = view[n:]


def read_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = os.read(REQ_FD, n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def receive():
    (length,) = struct.unpack(">I", read_exact(4))
    return json.loads(read_exact(length))


class OutputPump(threading.Thread):
    """Reads the shared stdout/stderr pipe and forwards it to the agent as output frames."""

    def __init__(self, fd):
        super().__init__(daemon=True)
        self.fd = fd
        self.lock = threading.Condition()
        self.current = None      # id of the running execution
        self.sentinel = None     # bytes that end it
        self.remaining = 0       # bytes it may still send
        self.truncated = False
        self.pending = b""
        self.finished = False

    def begin(self, exec_id, limit):
        with self.lock:
            self.current = exec_id
            self.sentinel = ("\x00moccha-end-" + secrets.token_hex(8) + "\x00").encode()
            self.remaining = limit
            self.truncated = False
            self.finished = False
            return self.sentinel

    def wait_end(self):
        with self.lock:
            while not self.finished:
                self.lock.wait()
            return self.truncated

    def forward(self, data):
        if not data or self.current is None:
            return
        if len(data) > self.remaining:
            data = data[: self.remaining]
            self.truncated = True
        if data:
            self.remaining -= len(data)
            send({"id": self.current, "type": "output",
                  "data": data.decode("utf-8", "replace")})

    def run(self):
        # SIGINT must reach the main thread, where the user's code runs: a signal handled by
        # this thread would not wake a blocking call there (time.sleep, a lock, a socket).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        while True:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return
            with self.lock:
                self.pending += chunk
                sentinel = self.sentinel
                if sentinel and sentinel in self.pending:
                    before, _, after = self.pending.partition(sentinel)
                    self.forward(before)
                    self.pending = after  # written after the end: belongs to nobody
                    self.sentinel = None
                    self.current = None
                    self.finished = True
                    self.lock.notify_all()
                    continue
                # Hold back only a tail that could be the start of a split sentinel.
                cut = len(self.pending)
                if sentinel:
                    nul = self.pending.rfind(b"\x00", max(0, cut - len(sentinel) + 1))
                    if nul >= 0 and sentinel.startswith(self.pending[nul:]):
                        cut = nul
                # Never cut inside a UTF-8 sequence.
                while 0 < cut < len(self.pending) and (self.pending[cut] & 0xC0) == 0x80:
                    cut -= 1
                self.forward(self.pending[:cut])
                self.pending = self.pending[cut:]


def redirect_output():
    r, w = os.pipe()
    os.dup2(w, 1)
    os.dup2(w, 2)
    os.close(w)
    # Unbuffered text streams: print() and os.write(1, ...) reach the pipe in program order.
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.__stdout__, sys.__stderr__ = sys.stdout, sys.stderr
    pump = OutputPump(r)
    pump.start()
    return pump


def is_variable(name, value):
    if name.startswith("_"):
        return False
    return not isinstance(value, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
                                  type, types.MethodType))


def json_size(value, budget):
    """About how many bytes of JSON `value` takes, counted only until `budget` is passed (then
    some number above it): the walk visits at most about `budget` items, however big the value,
    so a 1 GiB string or a million-item list costs nothing to turn down. Anything JSON cannot
    hold as it is (NaN, huge ints, other types) counts as too big."""
    total, stack = 0, [value]
    while stack:
        v = stack.pop()
        if v is None or isinstance(v, bool):
            total += 5
        elif isinstance(v, int):
            if abs(v) >= 2**63:
                return budget + 1
            total += 20
        elif isinstance(v, float):
            if not math.isfinite(v):
                return budget + 1
            total += 24
        elif isinstance(v, str):
            total += len(v) + 2
        elif isinstance(v, (list, tuple)):
            total += 2 + len(v)
            if total <= budget:
                stack.extend(v)
        elif isinstance(v, dict):
            total += 2 + 4 * len(v)
            if total <= budget:
                for k, x in v.items():
                    if not isinstance(k, (str, int, float, bool)) and k is not None:
                        return budget + 1
                    total += len(k) if isinstance(k, str) else 20
                    stack.append(x)
        else:
            return budget + 1
        if total > budget:
            return total
    return total


class Preview(reprlib.Repr):
    """reprlib's bounded repr (a few items of each container, the start of each string), with
    bytes cut the same way (reprlib would repr them whole)."""

    def __init__(self):
        super().__init__()
        self.maxstring = self.maxother = self.maxlong = REPR_LIMIT
        self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = self.maxdeque = 20
        self.maxdict = 10

    def repr_bytes(self, x, level):
        return repr(x[:self.maxstring]) + ("..." if len(x) > self.maxstring else "")

    repr_bytearray = repr_bytes


PREVIEW = Preview()


def size_of(value):
    """"<str of 1073741824 characters> " or "<list of 100000 items> " for a value too long to
    show whole, else "" (short values, and those without a len())."""
    try:
        n = len(value)
    except Exception:
        return ""
    text = isinstance(value, (str, bytes, bytearray, memoryview))
    if n <= (REPR_LIMIT if text else PREVIEW.maxlist):
        return ""
    unit = "characters" if isinstance(value, str) else "bytes" if text else "items"
    return f"<{type(value).__name__} of {n} {unit}> "


def show(value):
    """The value itself when it is JSON and small, else a preview: its type and size, and the
    start of its repr. The work is bounded by what is shown, not by the value's size."""
    try:
        if json_size(value, VALUE_LIMIT) <= VALUE_LIMIT:
            text = json.dumps(value, allow_nan=False)
            if len(text) <= VALUE_LIMIT:
                return json.loads(text)
    except (TypeError, ValueError, RecursionError):
        pass
    try:
        text = PREVIEW.repr(value)
    except Exception as e:  # a broken __repr__ must not break the reply
        text = f"<repr failed: {type(e).__name__}>"
    if len(text) > REPR_LIMIT:
        text = text[:REPR_LIMIT] + "..."
    return size_of(value) + text


class Kernel:
    def __init__(self, pump):
        self.pump = pump
        self.ns = {"__name__": "__main__", "__builtins__": __builtins__}
        self.count = 0

    def user_variables(self):
        return {k: v for k, v in self.ns.items() if is_variable(k, v)}

    def execute(self, req):
        exec_id = req["id"]
        code = req.get("code", "")
        sentinel = self.pump.begin(exec_id, int(req.get("limit", 1 << 20)))
        before = {k: id(v) for k, v in self.ns.items()}
        success, error, result = True, "", None
        self.count += 1
        filename = f"<cell-{self.count}>"
        try:
            importlib.invalidate_caches()  # packages installed since the last run are found
            tree = ast.parse(code, filename, "exec")
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, filename, "exec"), self.ns)
            if last is not None:
                value = eval(compile(last, filename, "eval"), self.ns)
                if value is not None:
                    result = show(value)
                    self.ns["_"] = value
        except BaseException as e:  # SyntaxError, SystemExit, KeyboardInterrupt included
            success = False
            tb = e.__traceback__
            # Drop this file's frames: the user sees their own code only.
            while tb is not None and tb.tb_frame.f_code.co_filename != filename:
                tb = tb.tb_next
            error = "".join(traceback.format_exception(type(e), e, tb))
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except Exception:
                pass
            os.write(1, sentinel)
        truncated = self.pump.wait_end()
        changed = {}
        for k, v in self.ns.items():
            if is_variable(k, v) and before.get(k) != id(v):
                changed[k] = show(v)
        send({"id": exec_id, "type": "done", "success": success, "error": error,
              "variables": changed, "result": result, "truncated": truncated,
              "variable_count": len(self.user_variables())})

    def serve(self):
        send({"type": "ready", "pid": os.getpid(), "python": sys.version.split()[0]})
        while True:
            try:
                req = receive()
            except KeyboardInterrupt:
                continue  # an interrupt that came while idle
            except EOFError:
                return
            op = req.get("op")
            try:
                if op == "execute":
                    self.execute(req)
                elif op == "variables":
                    send({"id": req["id"], "type": "done", "success": True,
                          "variables": {k: show(v) for k, v in self.user_variables().items()}})
                elif op == "delete":
                    name = req.get("name", "")
                    found = name in self.ns and is_variable(name, self.ns[name])
                    if found:
                        del self.ns[name]
                    send({"id": req["id"], "type": "done", "success": found,
                          "variable_count": len(self.user_variables())})
                else:
                    send({"id": req.get("id"), "type": "done", "success": True})
            except KeyboardInterrupt:
                send({"id": req.get("id"), "type": "done", "success": False,
                      "error": "KeyboardInterrupt\n", "variables": {}, "result": None,
                      "truncated": False, "variable_count": len(self.user_variables())})


def main():
    os.set_inheritable(REQ_FD, False)
    os.set_inheritable(REP_FD, False)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    pump = redirect_output()
    Kernel(pump).serve()


if __name__ == "__main__":
    main()
