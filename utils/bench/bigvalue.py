#!/usr/bin/env python3
"""utils/bench/bigvalue.py: what one big value costs a server in memory.

    bigvalue.py [--server PATH] [--redis PATH] [--mb 100] [--setrange-mb 512]
                [--only longtail|redis] [--settle S]

Starts each server itself (a fresh process per group of cases, on a free
port, in a temporary directory it removes) and runs, with one client:

  hot    SET of an MB-sized value, GET of it, DEL (and RSS once settled);
  append APPEND in 1 MB steps up to MB, DEL;
  range  SETRANGE at offset SETRANGE_MB - 1 (a value of SETRANGE_MB), DEL;
  cold   (longtail only, --maxmemory 1) SET, GET read back from RocksDB's
         memtable, a small SET that has the memtable flushed, GET read back
         from the SST file, DEL.

For every case it prints RSS before and after (VmRSS of /proc/PID/status,
"after" is taken SETTLE seconds after the reply), the peak during the case
(VmHWM, reset before the case through /proc/PID/clear_refs), INFO memory
used_memory and INFO tiering hot_tier_used_memory, as one Markdown table.
Redis runs the same cases with its defaults (no AOF); the cold group needs
longtail's tiers and is skipped there.

Every server started here is a child of this script and is killed when it
ends, whatever happens.
"""
import argparse
import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

MB = 1 << 20
children = []


def cleanup():
    for p, d in children:
        if p.poll() is None:
            p.kill()
            p.wait()
        shutil.rmtree(d, ignore_errors=True)


atexit.register(cleanup)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def send(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, (bytes, bytearray, memoryview)) else str(a).encode()
            parts += [b"$%d\r\n" % len(a), a, b"\r\n"]
        for p in parts:
            self.s.sendall(p)

    def _fill(self):
        chunk = self.s.recv(4 * MB)
        if not chunk:
            raise EOFError("server closed the connection")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[: i + 2]
                return line
            self._fill()

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b":"):
            return rest
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            out = bytearray()
            while len(out) < n + 2:
                if not self.buf:
                    self._fill()
                take = min(n + 2 - len(out), len(self.buf))
                out += self.buf[:take]
                del self.buf[:take]
            return bytes(out[:n])
        raise RuntimeError("unexpected reply %r" % line[:40])

    def call(self, *args):
        self.send(*args)
        return self.read()

    def info(self, section, field):
        for line in self.call("INFO", section).decode().split("\r\n"):
            if line.startswith(field + ":"):
                return int(line.split(":", 1)[1])
        return None


class Server:
    def __init__(self, kind, binary, extra):
        self.kind = kind
        self.dir = tempfile.mkdtemp(prefix="bigvalue-")
        self.port = free_port()
        if kind == "longtail":
            args = [binary, "--port", str(self.port), "--dir", self.dir + "/data",
                    "--logfile", self.dir + "/server.log"] + extra
        else:
            args = [binary, "--port", str(self.port), "--dir", self.dir, "--save", "",
                    "--logfile", self.dir + "/server.log"] + extra
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        children.append((self.proc, self.dir))
        for _ in range(300):
            try:
                self.c = Conn(self.port)
                self.c.call("PING")
                break
            except OSError:
                time.sleep(0.05)
        else:
            sys.exit("%s did not start" % binary)

    def status(self, field):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        return 0

    def reset_peak(self):
        with open("/proc/%d/clear_refs" % self.proc.pid, "w") as f:
            f.write("5")

    def stop(self):
        self.c.s.close()
        self.proc.terminate()
        self.proc.wait()


def fmt(n):
    return "—" if n is None else "%.0f" % (n / MB)


rows = []


def case(srv, name, fn, settle):
    srv.c.call("PING")
    before = srv.status("VmRSS")
    srv.reset_peak()
    t0 = time.time()
    fn(srv.c)
    secs = time.time() - t0
    time.sleep(settle)
    srv.c.call("PING")
    after = srv.status("VmRSS")
    peak = srv.status("VmHWM")
    used = srv.c.info("memory", "used_memory")
    hot = srv.c.info("tiering", "hot_tier_used_memory") if srv.kind == "longtail" else None
    row = (srv.kind, name, before, after, after - before, peak, used, hot, secs)
    rows.append(row)
    print("%-8s %-28s rss %5s -> %5s MB (%+5s)  peak %5s  used_memory %5s  hot %5s  %.1f s"
          % (row[0], row[1], fmt(before), fmt(after), fmt(after - before), fmt(peak), fmt(used),
             fmt(hot), secs), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default="./longtail-server")
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--setrange-mb", type=int, default=512)
    ap.add_argument("--only", choices=["longtail", "redis"])
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--groups", default="hot,append,range,cold")
    a = ap.parse_args()
    size = a.mb * MB
    block = os.urandom(MB)
    value = block * a.mb
    groups = a.groups.split(",")
    kinds = [k for k in ("longtail", "redis") if a.only in (None, k)]

    def check_get(c):
        v = c.call("GET", "k")
        if v != value:
            sys.exit("GET returned %s bytes, not the value" % (None if v is None else len(v)))

    def flushed(c):
        # a write makes RocksDB flush the memtable the value overfilled
        c.call("SET", "small", "x")
        for _ in range(600):
            if c.info("tiering", "rocksdb_memtable_bytes") < size // 2:
                return
            time.sleep(0.05)
        sys.exit("the memtable was not flushed")

    def append(c):
        for _ in range(a.mb):
            c.call("APPEND", "a", block)
        if int(c.call("STRLEN", "a")) != size:
            sys.exit("APPEND: wrong length")

    for kind in kinds:
        binary = a.server if kind == "longtail" else a.redis
        if "hot" in groups:
            s = Server(kind, binary, [])
            case(s, "SET %d MB" % a.mb, lambda c: c.call("SET", "k", value), a.settle)
            case(s, "GET %d MB" % a.mb, check_get, a.settle)
            case(s, "DEL", lambda c: c.call("DEL", "k"), a.settle)
            case(s, "(10 s later)", lambda c: time.sleep(10), 0)
            s.stop()
        if "append" in groups:
            s = Server(kind, binary, [])
            case(s, "APPEND 1 MB x %d" % a.mb, append, a.settle)
            case(s, "DEL", lambda c: c.call("DEL", "a"), a.settle)
            s.stop()
        if "range" in groups:
            s = Server(kind, binary, [])
            off = a.setrange_mb * MB - 1
            case(s, "SETRANGE at %d MB - 1" % a.setrange_mb,
                 lambda c: c.call("SETRANGE", "r", off, "x"), a.settle)
            case(s, "DEL", lambda c: c.call("DEL", "r"), a.settle)
            case(s, "(10 s later)", lambda c: time.sleep(10), 0)
            s.stop()
        if "cold" in groups and kind == "longtail":
            s = Server(kind, binary, ["--maxmemory", "1"])
            case(s, "cold: SET %d MB" % a.mb, lambda c: c.call("SET", "k", value), a.settle)
            tier = s.c.call("OBJECT", "TIER", "k")
            if tier != b"cold":
                print("warning: the key is %s, not cold" % tier)
            case(s, "cold: GET %d MB (memtable)" % a.mb, check_get, a.settle)
            case(s, "cold: SET small, flush", lambda c: flushed(c), a.settle)
            case(s, "cold: GET %d MB (SST)" % a.mb, check_get, a.settle)
            case(s, "cold: DEL", lambda c: c.call("DEL", "k"), a.settle)
            s.stop()

    print()
    print("| server | case | RSS before | RSS after | growth | peak (VmHWM) | used_memory |"
          " hot_tier_used_memory | s |")
    print("| --- | --- | --: | --: | --: | --: | --: | --: | --: |")
    for r in rows:
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %.1f |"
              % (r[0], r[1], fmt(r[2]), fmt(r[3]), fmt(r[4]), fmt(r[5]), fmt(r[6]), fmt(r[7]),
                 r[8]))
    print("\n(MB = MiB; RSS 'after' is %.1f s after the reply)" % a.settle)


if __name__ == "__main__":
    main()
