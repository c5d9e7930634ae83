#!/usr/bin/env python3
"""utils/bench/suite.py: longtail's benchmark suite (run it through suite.sh).

Starts longtail and redis-server 7.0.15 itself, on free ports in temporary
directories, runs the six parts of the suite (plus a check that
longtail-bench is not the bottleneck), alternating between the servers, and
writes bench/results/<date>-<host>.md and .json with ratio tables, the
measurements and every command it ran. The latency CDFs of the tiered part
are drawn by utils/bench/plot as PNG next to the results.

The results name a commit, so the suite refuses (exit status 2) to run on a
tree with modified tracked files unless --allow-dirty, which the results
then state at the top. Against the write-path issue's targets: part 1 gives
longtail / Redis with AOF everysec and / Redis without persistence per test
and pipeline (the median of the rounds), with redis-benchmark's own CPU
time; part 3 runs the profile store open loop at a fixed 101,500 requests/s
(100,485 HSET/s) and closed loop at full speed, and marks every window
against >= 100 K writes/s, p99 <= 2 ms and p99.9 <= 5 ms; part 5 gives
used_memory, RSS and hot-tier bytes per key.

Invariants: every server this script starts is its child and is killed when
it exits (normally, on an exception or on SIGINT/SIGTERM); nothing is left
in the temporary directory unless --keep is given. Sizes and durations come
from one table per mode (MODES) so that the time budget is in one place.
"""
import argparse
import atexit
import csv
import datetime
import io
import json
import os
import platform
import random
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Sizes and durations. "profile_keys" hashes are loaded once and serve
# parts 5, 2 and 3; restart_sizes are loads of small strings (the largest is
# part 6's bulk load).
MODES = {
    "quick": dict(
        tool_n16=300_000, tool_n1=30_000, tool_rounds=1,
        hot_secs=1, hot_rounds=1,
        profile_keys=100_000, tier_warmup=1, tier_secs=5,
        store_warmup=2, store_secs=15, store_redis_secs=5, window=5,
        settle_secs=20, restart_sizes=[100_000, 1_000_000],
    ),
    "full": dict(
        tool_n16=1_000_000, tool_n1=100_000, tool_rounds=2,
        hot_secs=4, hot_rounds=2,
        profile_keys=1_000_000, tier_warmup=10, tier_secs=45,
        store_warmup=10, store_secs=300, store_redis_secs=60, window=10,
        settle_secs=120, restart_sizes=[1_000_000, 10_000_000],
    ),
}
PROFILE_TYPE = "hash:20:12"      # 20 fields "field0".."field19", 12-byte values
PROFILE_FIELDS, PROFILE_VALUE = 20, 12
HOT_TESTS = ["set", "get", "incr", "lpush", "hset", "mset"]
HOT_PROBES = {  # command to probe on longtail -> redis-benchmark's CSV test name
    "set": (["SET", "{k}", "v"], "SET"),
    "get": (["GET", "{k}"], "GET"),
    "incr": (["INCR", "{k}"], "INCR"),
    "lpush": (["LPUSH", "{k}", "v"], "LPUSH"),
    "hset": (["HSET", "{k}", "f", "v"], "HSET"),
    "mset": (["MSET", "{k}", "v"], "MSET (10 keys)"),
}
HOT_CLIENTS = 50
# The targets for part 1, longtail / Redis requests/s per pipeline:
# vs Redis with AOF everysec, vs Redis without persistence (None: no target).
HOT_GOALS = {16: {"vs_aof": 1.0, "vs_redis": 0.9}, 1: {"vs_aof": 0.95, "vs_redis": None}}
HOT_KEYSPACE = 100_000          # redis-benchmark -r
TIER_CLIENTS, TIER_PIPELINE = 50, 1
STORE_CLIENTS, STORE_PIPELINE = 50, 4     # part 3 at full speed (closed loop)
# Part 3 open loop: the target is 100 K writes/s; 99 % of 101,500
# requests/s is 100,485 HSET/s, 0.5 % above it so that the random 1:99 mix
# does not leave a window a few writes short (its noise is about 0.02 %).
# 50 x 16 requests may be outstanding: 8 ms of queueing at that rate before
# the client's pipelines, not the server, hold requests back.
STORE_RATE = 101_500
STORE_RATE_CLIENTS, STORE_RATE_PIPELINE = 50, 16
STORE_TARGETS = {"writes_per_sec": 100_000, "p99_ms": 2.0, "p999_ms": 5.0}  # per window
LOAD_CLIENTS, LOAD_PIPELINE = 16, 64
TIERED_FACTOR = 10              # data = 10 x longtail's maxmemory

# ---- small helpers ---------------------------------------------------------

T0 = time.monotonic()


def say(msg):
    print("[%5.0fs] %s" % (time.monotonic() - T0, msg), file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class RespError(Exception):
    pass


class Conn:
    """A minimal RESP2 client: enough for PING, INFO, CONFIG, GET, probes."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.sock.makefile("rb")

    def close(self):
        self.f.close()
        self.sock.close()

    def call(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(parts))
        return self._read()

    def _read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("connection closed")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            return self.f.read(n + 2)[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RespError("unexpected reply %r" % line)


def parse_info(text):
    out = {}
    for line in text.decode().splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            try:
                out[k] = int(v)
            except ValueError:
                try:
                    out[k] = float(v)
                except ValueError:
                    out[k] = v
    return out


def proc_cpu_s(pid):
    """User + system CPU seconds of a running process (all its threads), from
    /proc, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def du_bytes(path):
    total = 0
    seen = set()
    for d, _, files in os.walk(path):
        for f in files:
            try:
                st = os.lstat(os.path.join(d, f))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


def fmt_int(v):
    return "—" if v is None else "{:,}".format(int(round(v)))


def fmt_ratio(a, b):
    if a is None or b is None or not b:
        return "—"
    return "%.2f" % (a / b)


def fmt_ms(v):
    return "—" if v is None else "%.3f" % v


def human_bytes(n):
    for unit in ["B", "KB", "MB", "GB", "TB"]:
        if abs(n) < 1024 or unit == "TB":
            return "%.1f %s" % (n, unit) if unit != "B" else "%d B" % n
        n /= 1024.0
    return str(n)


# ---- the suite ---------------------------------------------------------------


class Server:
    """A server process started by the suite, in a directory of its own."""

    def __init__(self, suite, name, kind, extra=()):
        self.suite, self.name, self.kind = suite, name, kind
        self.extra = list(extra)
        self.port = free_port()
        self.dir = os.path.join(suite.work, name)
        self.log = os.path.join(suite.work, name + ".log")
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None

    def argv(self):
        if self.kind == "longtail":
            return [self.suite.server_bin, "--port", str(self.port), "--dir", self.dir,
                    "--logfile", self.log] + self.extra
        return ["redis-server", "--port", str(self.port), "--dir", self.dir, "--logfile",
                self.log, "--save", ""] + self.extra

    def spawn(self):
        argv = self.argv()
        self.suite.note_command(argv, "start %s" % self.name)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log + ".stderr", "ab"))
        self.suite.children.append(self.proc)

    def start(self, timeout=120):
        self.spawn()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start (status %s); see %s" %
                                   (self.name, self.proc.returncode, self.log))
            try:
                c = Conn(self.port, timeout=2)
                try:
                    if c.call("PING") == "PONG":
                        return self
                finally:
                    c.close()
            except (OSError, RespError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("%s did not answer PING in %d s" % (self.name, timeout))
            time.sleep(0.01)

    def call(self, *args, timeout=600):
        c = Conn(self.port, timeout=timeout)
        try:
            return c.call(*args)
        finally:
            c.close()

    def info(self, section="everything"):
        return parse_info(self.call("INFO", section))

    def stop(self, save=False):
        if not self.proc or self.proc.poll() is not None:
            return
        if self.kind == "redis":
            self.suite.note_command(["redis-cli", "-p", self.port, "shutdown",
                                     "save" if save else "nosave"], "stop %s" % self.name)
            try:
                self.call("SHUTDOWN", "SAVE" if save else "NOSAVE")
            except (OSError, RespError, ConnectionError):
                pass
        else:
            self.suite.note_command(["kill", "-TERM", self.proc.pid], "stop %s" % self.name)
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def timed_restart(self, key):
        """Starts the server again and returns the ms from the process start
        to the first GET of "key" that returns its value."""
        self.suite.commands.append({"at_s": round(time.monotonic() - T0, 1),
                                    "what": "timed restart of %s" % self.name,
                                    "command": "# from the next start to the first GET %s "
                                               "that returns a value:" % key})
        t0 = time.monotonic()
        self.spawn()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at restart; see %s" % (self.name, self.log))
            try:
                c = Conn(self.port, timeout=30)
                try:
                    while True:
                        try:
                            v = c.call("GET", key)
                        except RespError as e:  # -LOADING while Redis reads its RDB
                            if not str(e).startswith("LOADING"):
                                raise
                            time.sleep(0.001)
                            continue
                        if v is not None:
                            return (time.monotonic() - t0) * 1000.0
                        raise RuntimeError("%s: GET %s returned nil after restart" %
                                           (self.name, key))
                finally:
                    c.close()
            except (ConnectionRefusedError, ConnectionResetError):
                time.sleep(0.001)

    def wipe(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir, exist_ok=True)


class Suite:
    def __init__(self, args):
        self.args = args
        self.mode = "quick" if args.quick else "full"
        self.m = MODES[self.mode]
        self.parts = set(int(p) for p in args.parts.split(",")) if args.parts else set(range(7))
        self.children = []
        self.commands = []
        self.notes = []
        self.results = {"parts": {}}
        self.server_bin, self.bench_bin = self.find_binaries(args.build)
        self.check_trees()
        base = args.workdir or tempfile.gettempdir()
        self.work = tempfile.mkdtemp(prefix="longtail-suite-", dir=base)
        if self.fs_type(self.work) == "tmpfs":
            # RocksDB's direct reads need a file system with O_DIRECT
            shutil.rmtree(self.work)
            alt = os.path.expanduser("~/.cache/longtail-suite")
            os.makedirs(alt, exist_ok=True)
            self.work = tempfile.mkdtemp(prefix="longtail-suite-", dir=alt)
        self.out_dir = args.out or os.path.join(ROOT, "bench", "results")

    # -- setup ---------------------------------------------------------------

    @staticmethod
    def fs_type(path):
        try:
            return subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True,
                                  text=True).stdout.strip()
        except OSError:
            return ""

    @staticmethod
    def source_tree(server_bin):
        """The source tree the server was built from: abs_top_srcdir in the
        Makefile next to it (an out-of-tree build), else the binary's own
        directory when that is a git tree, else ROOT."""
        d = os.path.dirname(os.path.abspath(server_bin))
        try:
            with open(os.path.join(d, "Makefile")) as f:
                for line in f:
                    if line.startswith("abs_top_srcdir ="):
                        return os.path.realpath(line.split("=", 1)[1].strip())
        except OSError:
            pass
        if os.path.isdir(os.path.join(d, ".git")) or os.path.isfile(os.path.join(d, ".git")):
            return os.path.realpath(d)
        return os.path.realpath(ROOT)

    @staticmethod
    def git_state(tree):
        """(short commit, [modified tracked files]) of a git tree, or
        (None, None) when git cannot tell."""
        def git(*a):
            try:
                return subprocess.run(["git", "-C", tree] + list(a), capture_output=True,
                                      text=True)
            except OSError:
                return None
        head = git("rev-parse", "--short", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=no")
        if not head or not status or head.returncode or status.returncode:
            return None, None
        return head.stdout.strip(), [ln for ln in status.stdout.splitlines() if ln.strip()]

    @staticmethod
    def git_time(tree):
        """Commit time of the last commit that changed what the binaries are
        built from (not the docs, tests or these scripts)."""
        try:
            p = subprocess.run(["git", "-C", tree, "log", "-1", "--format=%ct", "--", "src",
                                "utils/longtail-bench", "deps", "configure.ac", "Makefile.am"],
                               capture_output=True, text=True)
            return int(p.stdout.strip()) if p.returncode == 0 else None
        except (OSError, ValueError):
            return None

    def check_trees(self):
        """Refuses (exit status 2) to measure a tree with modified tracked
        files, or one git cannot read, unless --allow-dirty: the results
        name a commit, and must be that commit's figures. Checks the tree
        of the server binary and, when it is another one, the suite's."""
        trees = [self.source_tree(self.server_bin)]
        if os.path.realpath(ROOT) not in trees:
            trees.append(os.path.realpath(ROOT))
        self.trees = []
        refused = []
        for t in trees:
            commit, dirty = self.git_state(t)
            self.trees.append({"path": t, "commit": commit, "dirty_files": dirty})
            if commit is None:
                refused.append("%s: git cannot tell its commit or status (not a git tree?)" % t)
            elif dirty:
                refused.append("%s at %s has modified tracked files:\n    %s" % (
                    t, commit, "\n    ".join(dirty[:20] + (["..."] if len(dirty) > 20 else []))))
        commit_time = self.git_time(trees[0])
        if commit_time and os.path.getmtime(self.server_bin) < commit_time:
            self.notes.append("The server binary (%s) is older than the last commit "
                              "(up to %s) that changed its sources: it may not have been "
                              "rebuilt since." % (self.server_bin, self.trees[0]["commit"]))
        if refused and not self.args.allow_dirty:
            print("suite: refusing to run: the results must be those of a commit.\n  " +
                  "\n  ".join(refused) +
                  "\nCommit or stash the changes, or give --allow-dirty for a development "
                  "run (its results say at the top that the tree was dirty).", file=sys.stderr)
            sys.exit(2)

    @staticmethod
    def find_binaries(build):
        dirs = [build] if build else [os.path.join(ROOT, "build"), ROOT, os.getcwd()]
        for d in dirs:
            s, b = os.path.join(d, "longtail-server"), os.path.join(d, "longtail-bench")
            if os.access(s, os.X_OK) and os.access(b, os.X_OK):
                return s, b
        sys.exit("suite: longtail-server and longtail-bench not found in %s; build with "
                 "`make` (or give --build DIR)" % " or ".join(dirs))

    def note_command(self, argv, what):
        self.commands.append({"at_s": round(time.monotonic() - T0, 1), "what": what,
                              "command": shlex.join(str(a) for a in argv)})

    def cleanup(self):
        for p in self.children:
            if p.poll() is None:
                p.kill()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    def run_timed(self, argv, what):
        """Like run(), with the child's CPU time (user + system seconds)."""
        self.note_command(argv, what)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run(argv, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            raise RuntimeError("%s failed (status %d): %s" %
                               (shlex.join(argv), p.returncode, p.stderr.decode()[-2000:]))
        cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        return p.stdout.decode(), cpu

    def bench(self, server, args, what, json_name):
        path = os.path.join(self.work, json_name)
        argv = [self.bench_bin, "-p", str(server.port), "-q", "--json", path] + args
        out, cpu = self.run_timed(argv, what)
        with open(path) as f:
            data = json.load(f)
        data["client_cpu_s"] = cpu
        return data

    def redis_benchmark(self, server, tests, n, pipeline, extra=()):
        argv = ["redis-benchmark", "-p", str(server.port), "-c", str(HOT_CLIENTS), "-n", str(n),
                "-P", str(pipeline), "-r", str(HOT_KEYSPACE), "-t", ",".join(tests), "--csv"]
        argv += list(extra)
        out, cpu = self.run_timed(argv, "redis-benchmark on %s" % server.name)
        rows = {}
        for row in csv.DictReader(io.StringIO(out)):
            rows[row["test"]] = {k: float(v) for k, v in row.items() if k != "test"}
        return rows, cpu

    RB_PROGRESS = re.compile(r"^(.+): rps=([0-9.]+) \(overall: ([0-9.]+)\) "
                             r"avg_msec=([0-9.]+) \(overall: ([0-9.]+)\)")

    def redis_benchmark_for(self, server, test, pipeline, secs):
        """Runs one redis-benchmark test for "secs" seconds (stopped with
        SIGINT) and returns its overall requests/s and mean latency from its
        last progress line, with the client's CPU (user + system seconds,
        from its own resource usage) and wall time, or None when it printed
        no progress line."""
        argv = ["redis-benchmark", "-p", str(server.port), "-c", str(HOT_CLIENTS), "-n",
                "1000000000", "-P", str(pipeline), "-r", str(HOT_KEYSPACE), "-t", test, "-q"]
        self.commands.append({"at_s": round(time.monotonic() - T0, 1),
                              "what": "redis-benchmark on %s" % server.name,
                              "command": shlex.join(argv) + "   # SIGINT after %g s" % secs})
        t0 = time.monotonic()
        server_cpu0 = proc_cpu_s(server.proc.pid)
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.children.append(p)
        time.sleep(secs)
        p.send_signal(signal.SIGINT)
        killer = threading.Timer(60, p.kill)   # should SIGINT not end it
        killer.start()
        out = p.stdout.read()   # to EOF: the process has exited or is exiting
        killer.cancel()
        p.stdout.close()
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        server_cpu1 = proc_cpu_s(server.proc.pid)
        last = None
        for line in out.decode(errors="replace").replace("\r", "\n").splitlines():
            mt = self.RB_PROGRESS.match(line.strip())
            if mt:
                last = mt
        if not last:
            return None
        return {"name": last.group(1), "rps": float(last.group(3)),
                "avg_ms": float(last.group(5)), "client_cpu_s": ru.ru_utime + ru.ru_stime,
                "server_cpu_s": None if server_cpu0 is None or server_cpu1 is None
                else server_cpu1 - server_cpu0, "wall_s": wall}

    # -- part 0: the tool itself ----------------------------------------------

    def part_tool(self):
        say("part 0: longtail-bench against redis-benchmark on redis-server")
        r = Server(self, "redis-tool", "redis", ["--appendonly", "no"]).start()
        rows = []
        for pipeline, n in ((16, self.m["tool_n16"]), (1, self.m["tool_n1"])):
            for test, ratio in (("set", "0:1"), ("get", "1:0")):
                best = {"rb": None, "lb": None}
                for _ in range(self.m["tool_rounds"]):
                    res, cpu = self.redis_benchmark(r, [test], n, pipeline, ["-d", "3"])
                    rps = res[test.upper()]["rps"]
                    if not best["rb"] or rps > best["rb"][0]:
                        best["rb"] = (rps, cpu)
                    d = self.bench(r, ["--keys", str(HOT_KEYSPACE), "--type", "string:3",
                                       "--ratio", ratio, "-c", str(HOT_CLIENTS), "-P",
                                       str(pipeline), "-n", str(n)],
                                   "longtail-bench on redis-tool", "tool.json")
                    rps = d["run"]["ops_per_sec"]
                    if not best["lb"] or rps > best["lb"][0]:
                        best["lb"] = (rps, d["client_cpu_s"])
                rows.append({"test": test.upper(), "pipeline": pipeline, "requests": n,
                             "redis_benchmark_rps": best["rb"][0],
                             "redis_benchmark_cpu_us_per_req": best["rb"][1] * 1e6 / n,
                             "longtail_bench_rps": best["lb"][0],
                             "longtail_bench_cpu_us_per_req": best["lb"][1] * 1e6 / n})
        r.stop()
        self.results["parts"]["tool"] = {"rows": rows, "clients": HOT_CLIENTS,
                                         "keyspace": HOT_KEYSPACE}

    # -- part 1: hot path -------------------------------------------------------

    def part_hot(self):
        say("part 1: hot path (redis-benchmark)")
        lt = Server(self, "lt-hot", "longtail").start()
        rn = Server(self, "redis-hot-nopersist", "redis", ["--appendonly", "no"]).start()
        ra = Server(self, "redis-hot-aof", "redis",
                    ["--appendonly", "yes", "--appendfsync", "everysec"]).start()
        tests, skipped = [], []
        for t in HOT_TESTS:
            cmd, _ = HOT_PROBES[t]
            key = "suite-probe:" + t
            try:
                lt.call(*[a.format(k=key) for a in cmd])
                tests.append(t)
            except RespError as e:
                if str(e).startswith("ERR unknown command"):
                    skipped.append({"test": t, "reply": str(e)})
                    self.notes.append("Part 1: redis-benchmark test `%s` skipped: longtail "
                                      "answers `%s` with `-%s`." % (t, cmd[0], str(e)))
                else:
                    tests.append(t)
            lt.call("DEL", key)
        servers = [lt, rn, ra]
        rounds = {}   # (server name, test, pipeline) -> one result per round
        secs = self.m["hot_secs"]
        for pipeline in (1, 16):
            for rnd in range(self.m["hot_rounds"]):
                for s in servers:
                    say("  -P %d round %d: %s" % (pipeline, rnd + 1, s.name))
                    for t in tests:
                        row = self.redis_benchmark_for(s, t, pipeline, secs)
                        if row:
                            rounds.setdefault((s.name, t, pipeline), []).append(row)
        table = []
        for pipeline in (1, 16):
            for t in tests:
                row = {"test": HOT_PROBES[t][1], "pipeline": pipeline}
                for s, key in ((lt, "longtail"), (rn, "redis"), (ra, "redis_aof")):
                    rr = rounds.get((s.name, t, pipeline), [])
                    rps = [x["rps"] for x in rr]
                    row[key + "_rps"] = statistics.median(rps) if rps else None
                    row[key + "_rps_best"] = max(rps) if rps else None
                    row[key + "_rps_rounds"] = rps
                    row[key + "_avg_ms"] = (statistics.median(x["avg_ms"] for x in rr)
                                            if rr else None)
                    # the client's CPU over its wall time: near 1.0, the
                    # single-threaded redis-benchmark was what bounded the rate
                    row[key + "_client_cpu_share"] = (
                        statistics.median(x["client_cpu_s"] / x["wall_s"] for x in rr)
                        if rr else None)
                    row[key + "_server_cpu_share"] = (
                        statistics.median(x["server_cpu_s"] / x["wall_s"] for x in rr)
                        if rr and all(x["server_cpu_s"] is not None for x in rr) else None)
                    row[key + "_client_cpu_s"] = [x["client_cpu_s"] for x in rr]
                    row[key + "_server_cpu_s"] = [x["server_cpu_s"] for x in rr]
                    row[key + "_wall_s"] = [x["wall_s"] for x in rr]
                for key, base in (("vs_aof", "redis_aof"), ("vs_redis", "redis")):
                    a, b = row["longtail_rps"], row[base + "_rps"]
                    row[key] = a / b if a and b else None
                    a, b = row["longtail_rps_best"], row[base + "_rps_best"]
                    row[key + "_best"] = a / b if a and b else None
                    goal = HOT_GOALS[pipeline][key]
                    row[key + "_goal"] = goal
                    row[key + "_met"] = (None if goal is None or row[key] is None
                                         else row[key] >= goal)
                table.append(row)
        for s in servers:
            s.stop()
            shutil.rmtree(s.dir, ignore_errors=True)
        self.results["parts"]["hot_path"] = {
            "rows": table, "skipped": skipped, "clients": HOT_CLIENTS,
            "keyspace": HOT_KEYSPACE, "rounds": self.m["hot_rounds"],
            "seconds_per_test": self.m["hot_secs"], "goals": HOT_GOALS,
            "figure": "median of rounds" if self.m["hot_rounds"] >= 2 else "one round"}

    # -- the profile data set: parts 5, 2 and 3 ---------------------------------

    def profile_raw_bytes(self):
        fields = sum(len("field%d" % i) for i in range(PROFILE_FIELDS))
        return len("key:") + 12 + fields + PROFILE_FIELDS * PROFILE_VALUE

    def wait_settled(self, lt, limit):
        """Waits until RocksDB has no compaction pending or running."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            i = lt.info("tiering")
            if not i.get("rocksdb_pending_compaction_bytes") and \
                    not i.get("rocksdb_running_compactions"):
                return time.monotonic() - t0, True
            time.sleep(0.5)
        return time.monotonic() - t0, False

    def part_memory(self):
        """Part 5, and the data set of parts 2 and 3: profile hashes loaded into
        a longtail without maxmemory (all hot) and a Redis without
        persistence."""
        keys = self.m["profile_keys"]
        say("part 5: memory: %d profile hashes (%s)" % (keys, PROFILE_TYPE))
        self.lt_prof = Server(self, "lt-profile", "longtail").start()
        self.r_prof = Server(self, "redis-profile", "redis", ["--appendonly", "no"]).start()
        lt, r = self.lt_prof, self.r_prof
        lt0, r0 = lt.info(), r.info()
        loads = {}
        for s in (lt, r):
            d = self.bench(s, ["--keys", str(keys), "--type", PROFILE_TYPE, "--load", "-c",
                               str(LOAD_CLIENTS), "--load-pipeline", str(LOAD_PIPELINE)],
                           "load profile hashes into %s" % s.name, "load-%s.json" % s.name)
            loads[s.name] = d["load"]
        lt1, r1 = lt.info(), r.info()
        res = {
            "keys": keys, "type": PROFILE_TYPE, "raw_bytes_per_key": self.profile_raw_bytes(),
            "longtail_hot_bytes_per_key":
                (lt1["hot_tier_used_memory"] - lt0["hot_tier_used_memory"]) / keys,
            "longtail_used_memory_per_key": (lt1["used_memory"] - lt0["used_memory"]) / keys,
            "longtail_rss": lt1["used_memory_rss"],
            "longtail_rss_per_key": (lt1["used_memory_rss"] - lt0["used_memory_rss"]) / keys,
            "redis_used_memory_per_key": (r1["used_memory"] - r0["used_memory"]) / keys,
            "redis_rss": r1["used_memory_rss"],
            "redis_rss_per_key": (r1["used_memory_rss"] - r0["used_memory_rss"]) / keys,
            "load_keys_per_sec": {"longtail": loads[lt.name]["ops_per_sec"],
                                  "redis": loads[r.name]["ops_per_sec"]},
        }
        # SIGTERM flushes the memtables; after the restart, wait for
        # compactions to finish, then count the live SST bytes.
        lt.stop()
        self.tier_config = self.tiered_config(res["longtail_hot_bytes_per_key"] * keys)
        self.lt_prof.extra = self.tier_config + ["--storage-direct-reads", "no"]
        lt.start()
        waited, settled = self.wait_settled(lt, self.m["settle_secs"])
        i = lt.info("tiering")
        res.update({"longtail_sst_bytes": i["rocksdb_sst_bytes"],
                    "longtail_disk_bytes_per_key": i["rocksdb_sst_bytes"] / keys,
                    "longtail_dir_bytes": du_bytes(lt.dir),
                    "compaction_wait_s": round(waited, 1), "compaction_settled": settled})
        if not settled:
            self.notes.append("Part 5: compactions were still pending after %d s; the disk "
                              "figure is from that moment." % self.m["settle_secs"])
        self.results["parts"]["memory"] = res

    def tiered_config(self, data_bytes):
        maxmem = int(data_bytes / TIERED_FACTOR)
        cache = max(maxmem // 4, 4 << 20)
        return ["--maxmemory", str(maxmem), "--maxmemory-policy", "allkeys-lfu",
                "--storage-block-cache-size", str(cache)]

    def ensure_profile(self):
        if not hasattr(self, "lt_prof"):
            self.part_memory()

    def tier_counters(self, s):
        i = s.info()
        return {k: i.get(k, 0) for k in (
            "prefetch_reads", "sync_loads", "promotions", "demotions", "total_commands_processed",
            "rocksdb_stall_micros", "rocksdb_write_stopped", "rocksdb_delayed_write_rate",
            "rocksdb_pending_compaction_bytes", "rocksdb_running_compactions",
            "rocksdb_sst_bytes", "hot_tier_used_memory", "hot_keys", "used_memory_rss",
            "used_memory", "storage_read_latency_p99_us")}

    @staticmethod
    def hit_ratio(a, b):
        """Hot-tier hit ratio between two INFO samples: the share of commands
        (all of which touch one key here) that needed no storage read."""
        cmds = b["total_commands_processed"] - a["total_commands_processed"]
        miss = (b["prefetch_reads"] - a["prefetch_reads"]) + (b["sync_loads"] - a["sync_loads"])
        return None if cmds <= 0 else max(0.0, 1.0 - miss / cmds)

    def tier_run(self, s, ratio, label, direct, seed):
        keys = self.m["profile_keys"]
        args = ["--keys", str(keys), "--type", PROFILE_TYPE, "--dist", "zipf:0.99", "--ratio",
                ratio, "-c", str(TIER_CLIENTS), "-P", str(TIER_PIPELINE), "--warmup",
                str(self.m["tier_warmup"]), "--duration", str(self.m["tier_secs"]), "--seed",
                str(seed)]
        say("  %s %s" % (s.name, label))
        before = self.tier_counters(s) if s.kind == "longtail" else None
        d = self.bench(s, args, "tiered %s on %s" % (label, s.name),
                       "tier-%s-%s.json" % (s.name, label.replace(":", "-")))
        run = {"server": s.kind, "label": label, "ratio": ratio, "direct_reads": direct,
               "ops_per_sec": d["run"]["ops_per_sec"], "errors": d["run"]["errors"],
               "latency_ms": d["run"]["all"]["latency_ms"], "bench": d}
        info = s.info()
        run["rss"] = info["used_memory_rss"]
        if s.kind == "longtail":
            after = self.tier_counters(s)
            run["hot_hit_ratio"] = self.hit_ratio(before, after)
            run["stall_micros"] = after["rocksdb_stall_micros"] - before["rocksdb_stall_micros"]
            run["storage_read_p99_us"] = after["storage_read_latency_p99_us"]
            run["sst_bytes"] = after["rocksdb_sst_bytes"]
            run["dir_bytes"] = du_bytes(s.dir)
            run["hot_tier_used_memory"] = after["hot_tier_used_memory"]
        return run

    def part_tiered(self):
        self.ensure_profile()
        lt, r = self.lt_prof, self.r_prof
        say("part 2: tiered, data %dx maxmemory" % TIERED_FACTOR)
        runs = []
        # the same seed gives both servers the same request stream
        for seed, (label, ratio) in enumerate((("90:10", "9:1"), ("10:90", "1:9")), 1):
            runs.append(self.tier_run(lt, ratio, label, False, seed))
            runs.append(self.tier_run(r, ratio, label, None, seed))
        lt.stop()
        lt.extra = self.tier_config + ["--storage-direct-reads", "yes"]
        lt.start()
        for seed, (label, ratio) in enumerate((("90:10", "9:1"), ("10:90", "1:9")), 1):
            runs.append(self.tier_run(lt, ratio, label, True, seed))
        lt.stop()
        lt.extra = self.tier_config + ["--storage-direct-reads", "no"]
        lt.start()
        self.results["parts"]["tiered"] = {
            "keys": self.m["profile_keys"], "type": PROFILE_TYPE, "factor": TIERED_FACTOR,
            "longtail_config": self.tier_config, "clients": TIER_CLIENTS,
            "pipeline": TIER_PIPELINE, "warmup": self.m["tier_warmup"],
            "duration": self.m["tier_secs"], "runs": runs}

    # -- part 3: the profile store --------------------------------------------------

    def check_tiered(self, lt):
        """Part 3 must run on the tiered configuration (data 10x maxmemory):
        checks the running server's maxmemory, and restarts it with the
        configuration when it does not have it."""
        want = int(self.tier_config[self.tier_config.index("--maxmemory") + 1])
        have = int(lt.call("CONFIG", "GET", "maxmemory")[1])
        if have != want:
            self.notes.append("Part 3: longtail ran with maxmemory %d instead of %d; restarted "
                              "with the tiered configuration." % (have, want))
            lt.stop()
            lt.extra = self.tier_config + ["--storage-direct-reads", "no"]
            lt.start()
            have = int(lt.call("CONFIG", "GET", "maxmemory")[1])
            if have != want:
                raise RuntimeError("longtail's maxmemory is %d after a restart with "
                                   "--maxmemory %d" % (have, want))
        return have

    def store_run(self, s, mode, secs):
        """One run of the profile store on server s: mode "rate" is open
        loop at STORE_RATE requests/s, "full" closed loop at full speed.
        Returns the run's figures and its windows, each marked against the
        targets; on longtail with INFO tiering sampled once per window."""
        keys, win = self.m["profile_keys"], self.m["window"]
        args = ["--keys", str(keys), "--type", PROFILE_TYPE, "--dist", "zipf:0.99",
                "--ratio", "1:99", "--warmup", str(self.m["store_warmup"]), "--duration",
                str(secs), "--window", str(win)]
        if mode == "rate":
            clients, pipeline = STORE_RATE_CLIENTS, STORE_RATE_PIPELINE
            args += ["--rate", str(STORE_RATE)]
        else:
            clients, pipeline = STORE_CLIENTS, STORE_PIPELINE
        args += ["-c", str(clients), "-P", str(pipeline)]
        say("  %s: %s for %d s" % (s.name, "open loop at %d requests/s" % STORE_RATE
                                   if mode == "rate" else "full speed", secs))
        samples = []
        stop = threading.Event()

        def sampler():
            # one INFO sample at the start of the measured part and one per window
            if stop.wait(self.m["store_warmup"]):
                return
            t_next = time.monotonic()
            while not stop.is_set():
                try:
                    samples.append(dict(self.tier_counters(s), t=time.monotonic()))
                except (OSError, RespError, ConnectionError):
                    pass
                t_next += win
                if stop.wait(max(0.0, t_next - time.monotonic())):
                    break

        th = None
        if s.kind == "longtail":
            th = threading.Thread(target=sampler, daemon=True)
            th.start()
        try:
            d = self.bench(s, args, "profile store (%s) on %s" % (mode, s.name),
                           "store-%s-%s.json" % (s.kind, mode))
        finally:
            stop.set()
            if th:
                th.join()
        if th:
            samples.append(dict(self.tier_counters(s), t=time.monotonic()))
        windows = []
        for i, w in enumerate(d["windows"]):
            row = {"start_s": w["start_s"], "seconds": w["seconds"],
                   "full": w["seconds"] >= win * 0.99,
                   "ops_per_sec": w["all"]["ops_per_sec"],
                   "writes_per_sec": w.get("HSET", {}).get("ops_per_sec", 0.0),
                   "p99_ms": w["all"]["p99_ms"], "p999_ms": w["all"]["p99.9_ms"],
                   "max_ms": w["all"]["max_ms"], "errors": w["all"]["errors"]}
            row["met"] = {"writes": row["writes_per_sec"] >= STORE_TARGETS["writes_per_sec"],
                          "p99": row["p99_ms"] <= STORE_TARGETS["p99_ms"],
                          "p999": row["p999_ms"] <= STORE_TARGETS["p999_ms"]}
            if mode == "rate":
                row["behind_max_ms"] = w.get("behind_max_ms")
                row["client_lag_max_ms"] = w.get("client_lag_max_ms")
            if i + 1 < len(samples):
                a, b = samples[i], samples[i + 1]
                row.update({"stall_micros": b["rocksdb_stall_micros"] - a["rocksdb_stall_micros"],
                            "write_stopped": b["rocksdb_write_stopped"],
                            "delayed_write_rate": b["rocksdb_delayed_write_rate"],
                            "pending_compaction_bytes": b["rocksdb_pending_compaction_bytes"],
                            "hot_tier_used_memory": b["hot_tier_used_memory"],
                            "hot_hit_ratio": self.hit_ratio(a, b)})
            windows.append(row)
        full = [w for w in windows if w["full"]]
        counts = {"windows": len(full), "partial_windows": len(windows) - len(full)}
        for k in ("writes", "p99", "p999"):
            counts[k] = sum(1 for w in full if w["met"][k])
        counts["all"] = sum(1 for w in full if all(w["met"].values()))
        run = {"mode": mode, "duration": secs, "clients": clients, "pipeline": pipeline,
               "rate": STORE_RATE if mode == "rate" else None,
               "ops_per_sec": d["run"]["ops_per_sec"],
               "writes_per_sec": d["run"]["ops"].get("HSET", {}).get("ops_per_sec"),
               "latency_ms": d["run"]["all"]["latency_ms"], "errors": d["run"]["errors"],
               "client_cpu_s": d["client_cpu_s"], "windows": windows, "met_windows": counts}
        if mode == "rate":
            run["open_loop"] = d["run"].get("rate")
        if samples:
            first, last = samples[0], samples[-1]
            run.update({"stall_micros": last["rocksdb_stall_micros"] -
                        first["rocksdb_stall_micros"],
                        "hot_hit_ratio": self.hit_ratio(first, last),
                        "hot_tier_used_memory_max": max(x["hot_tier_used_memory"]
                                                        for x in samples),
                        "info_samples": samples})
        return run

    def part_store(self):
        self.ensure_profile()
        lt, r = self.lt_prof, self.r_prof
        keys = self.m["profile_keys"]
        say("part 3: profile store, open loop at %d requests/s and full speed" % STORE_RATE)
        maxmem = self.check_tiered(lt)
        mem = self.results["parts"]["memory"]
        data_bytes = mem["longtail_hot_bytes_per_key"] * keys
        runs = {"longtail": {}, "redis": {}}
        runs["longtail"]["rate"] = self.store_run(lt, "rate", self.m["store_secs"])
        # the full-speed run starts, like the first, with compactions settled
        limit = min(self.m["settle_secs"], 60)
        waited, settled = self.wait_settled(lt, limit)
        runs["longtail"]["full"] = self.store_run(lt, "full", self.m["store_secs"])
        runs["longtail"]["full"]["settle_before_s"] = round(waited, 1)
        runs["longtail"]["full"]["settled_before"] = settled
        if not settled:
            self.notes.append("Part 3: compactions were still pending %d s after the open-loop "
                              "run when the full-speed run started." % limit)
        for mode in ("rate", "full"):
            runs["redis"][mode] = self.store_run(r, mode, self.m["store_redis_secs"])
        for name, rr in runs.items():
            ol = rr["rate"].get("open_loop") or {}
            if ol and not ol.get("client_kept_up", True):
                self.notes.append("Part 3: longtail-bench fell behind its schedule on %s "
                                  "(%d requests sent 1 ms or more late by the client itself): "
                                  "that run's latencies include the client's own delay." % (
                                      name, ol.get("client_late_requests", 0)))
        self.results["parts"]["store"] = {
            "keys": keys, "type": PROFILE_TYPE, "window": self.m["window"],
            "warmup": self.m["store_warmup"], "rate": STORE_RATE, "targets": STORE_TARGETS,
            "longtail_maxmemory": maxmem, "data_bytes": data_bytes,
            "data_over_maxmemory": data_bytes / maxmem if maxmem else None,
            "longtail_config": self.tier_config + ["--storage-direct-reads", "no"],
            "longtail": runs["longtail"], "redis": runs["redis"]}

    # -- parts 4 and 6: restart and bulk load --------------------------------------

    def part_restart_bulk(self):
        say("parts 4 and 6: bulk load and restart")
        restarts, loads = [], []
        for n in self.m["restart_sizes"]:
            lt = Server(self, "lt-bulk", "longtail").start()
            r = Server(self, "redis-bulk", "redis", ["--appendonly", "no"]).start()
            row = {"keys": n}
            for s in (lt, r):
                say("  load %d keys into %s" % (n, s.name))
                d = self.bench(s, ["--keys", str(n), "--type", "string:8", "--load", "-c",
                                   str(LOAD_CLIENTS), "--load-pipeline", str(LOAD_PIPELINE)],
                               "bulk load into %s" % s.name, "bulk-%s-%d.json" % (s.name, n))
                row[s.kind + "_keys_per_sec"] = d["load"]["ops_per_sec"]
                row[s.kind + "_errors"] = d["load"]["errors"]
            loads.append(row)
            key = "key:%012d" % random.randrange(n)
            lt.stop()
            r.stop(save=True)   # the RDB Redis restarts from
            rr = {"keys": n, "key": key}
            say("  restart %s" % lt.name)
            rr["longtail_ms"] = lt.timed_restart(key)
            say("  restart %s" % r.name)
            rr["redis_ms"] = r.timed_restart(key)
            rr["longtail_dir_bytes"] = du_bytes(lt.dir)
            rr["redis_rdb_bytes"] = du_bytes(r.dir)
            restarts.append(rr)
            lt.wipe()
            r.wipe()
        self.results["parts"]["restart"] = {"rows": restarts}
        self.results["parts"]["bulk"] = {"rows": loads, "type": "string:8",
                                         "clients": LOAD_CLIENTS, "pipeline": LOAD_PIPELINE}

    # -- driver ------------------------------------------------------------------------

    def meta(self):
        def cmd(argv):
            try:
                return subprocess.run(argv, capture_output=True, text=True,
                                      cwd=ROOT).stdout.strip()
            except OSError:
                return ""
        cpu = ""
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        cpu = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        mem = 0
        try:
            with open("/proc/meminfo") as f:
                mem = int(f.readline().split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
        return {"date": datetime.datetime.now().isoformat(timespec="seconds"),
                "host": platform.node(), "mode": self.mode, "cpus": os.cpu_count(),
                "cpu_model": cpu, "memory_bytes": mem, "kernel": platform.release(),
                "longtail_commit": self.trees[0]["commit"],
                "longtail_tree": self.trees[0]["path"],
                "suite_tree": self.trees[-1]["path"], "suite_commit": self.trees[-1]["commit"],
                "longtail_dirty": any(t["dirty_files"] or t["commit"] is None
                                      for t in self.trees),
                "dirty_files": {t["path"]: t["dirty_files"] for t in self.trees
                                if t["dirty_files"]},
                "allow_dirty": self.args.allow_dirty,
                "redis_version": cmd(["redis-server", "--version"]),
                "bench_version": cmd([self.bench_bin, "--version"]),
                "server_bin": self.server_bin, "bench_bin": self.bench_bin,
                "workdir_fs": self.fs_type(self.work),
                "load_average_at_start": os.getloadavg()}

    def main(self):
        self.results["meta"] = self.meta()
        say("mode %s, work dir %s" % (self.mode, self.work))
        steps = [(0, self.part_tool), (1, self.part_hot), (5, self.part_memory),
                 (2, self.part_tiered), (3, self.part_store), (4, self.part_restart_bulk)]
        for num, fn in steps:
            if num in self.parts or (num == 4 and 6 in self.parts):
                fn()
        for s in ("lt_prof", "r_prof"):
            if hasattr(self, s):
                getattr(self, s).stop()
        self.results["meta"]["seconds"] = round(time.monotonic() - T0, 1)
        self.results["meta"]["load_average_at_end"] = os.getloadavg()
        self.results["commands"] = self.commands
        self.results["notes"] = self.notes
        self.write()

    def write(self):
        os.makedirs(self.out_dir, exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y-%m-%d")
        base = os.path.join(self.out_dir, "%s-%s%s" % (stamp, platform.node(),
                                                         "-quick" if self.mode == "quick" else ""))
        with open(base + ".json", "w") as f:
            json.dump(self.results, f, indent=1)
            f.write("\n")
        pngs = []
        if "tiered" in self.results["parts"]:
            plot = os.path.join(HERE, "plot")
            p = subprocess.run([plot, base + ".json"], capture_output=True, text=True)
            if p.returncode == 0:
                pngs = [line.strip() for line in p.stdout.splitlines() if line.strip()]
            else:
                self.notes.append("The latency plots were not drawn: %s" %
                                  p.stderr.strip().splitlines()[-1:])
        with open(base + ".md", "w") as f:
            f.write(render_md(self.results, [os.path.basename(x) for x in pngs]))
        say("results: %s.md and .json%s" % (base, (", " + ", ".join(pngs)) if pngs else ""))


# ---- Markdown ----------------------------------------------------------------------


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out) + "\n"


def met(ok):
    return "—" if ok is None else ("yes" if ok else "**no**")


def render_md(res, pngs):
    m = res["meta"]
    P = res["parts"]
    o = []
    o.append("# longtail benchmark suite, %s on %s (%s mode)\n" % (m["date"][:10], m["host"],
                                                                     m["mode"]))
    if m["longtail_dirty"]:
        files = ["`%s`" % f.strip() for fs in m["dirty_files"].values() for f in fs]
        o.append("> **DIRTY TREE: these figures are not a release measurement.** The suite ran "
                 "with --allow-dirty on a tree with modified tracked files%s; the binaries "
                 "were not built from commit %s alone.\n" % (
                     (": " + ", ".join(files[:20]) + (" ..." if len(files) > 20 else ""))
                     if files else " (or one git could not read)", m["longtail_commit"]))
    suite = ""
    if m["suite_tree"] != m["longtail_tree"]:
        suite = " (the suite itself from %s at %s)" % (m["suite_tree"], m["suite_commit"])
    o.append("%s; %d CPUs (%s), %s RAM, Linux %s; load average at start %s, at the end %s "
             "(the suite's own load included). longtail commit "
             "%s%s (source tree %s, server %s)%s; %s, %s. The suite took %.1f minutes.\n" % (
                 m["date"], m["cpus"], m["cpu_model"], human_bytes(m["memory_bytes"]), m["kernel"],
                 " ".join("%.2f" % x for x in m["load_average_at_start"]),
                 " ".join("%.2f" % x for x in m.get("load_average_at_end", ())) or "—",
                 m["longtail_commit"], " (modified)" if m["longtail_dirty"] else "",
                 m["longtail_tree"], m["server_bin"], suite,
                 m["redis_version"].split(" sha=")[0], m["bench_version"], m["seconds"] / 60))
    o.append("Ratios are longtail / Redis: above 1 is better for longtail for throughput, "
             "below 1 for latency, time and bytes. Every command the suite ran is listed at "
             "the end.\n")

    # targets
    rows = []
    hp = P.get("hot_path")
    if hp:
        for pipeline in (16, 1):
            prs = [r for r in hp["rows"] if r["pipeline"] == pipeline]
            for key, name in (("vs_aof", "Redis AOF everysec"),
                              ("vs_redis", "Redis without persistence")):
                goal = prs[0][key + "_goal"] if prs else None
                if goal is None:
                    continue
                got = [r for r in prs if r[key] is not None]
                n_met = sum(1 for r in got if r[key + "_met"])
                low = min(got, key=lambda r: r[key]) if got else None
                rows.append(["hot path -P %d vs %s (%s): tests at or above the goal%s" % (
                    pipeline, name, hp.get("figure", "best of rounds"),
                    "; lowest %s %.2f" % (low["test"], low[key]) if low else ""),
                    "%d of %d" % (n_met, len(got)), "≥ %.2f× each" % goal,
                    met(n_met == len(got) if got else None)])
    tr = P.get("tiered")
    if tr:
        for label in ("90:10", "10:90"):
            red = next((r for r in tr["runs"] if r["server"] == "redis" and r["label"] == label),
                       None)
            for direct in (False, True):
                lt = next((r for r in tr["runs"] if r["server"] == "longtail" and
                           r["label"] == label and r["direct_reads"] == direct), None)
                if not lt or not red:
                    continue
                how = "direct reads" if direct else "page cache"
                ratio = lt["ops_per_sec"] / red["ops_per_sec"] if red["ops_per_sec"] else None
                rows.append(["tiered %s (%s): throughput vs Redis" % (label, how),
                             fmt_ratio(ratio, 1), "≥ 0.7",
                             met(ratio is not None and ratio >= 0.7)])
                rows.append(["tiered %s (%s): p99 / p99.9 ms" % (label, how),
                             "%s / %s" % (fmt_ms(lt["latency_ms"]["p99"]),
                                          fmt_ms(lt["latency_ms"]["p99.9"])), "≤ 1 / ≤ 3",
                             met(lt["latency_ms"]["p99"] <= 1 and lt["latency_ms"]["p99.9"] <= 3)])
    st = P.get("store")
    if st:
        T = st["targets"]
        ol, fs = st["longtail"]["rate"], st["longtail"]["full"]
        c = ol["met_windows"]
        for k, what in (("writes", "≥ %s HSET/s" % fmt_int(T["writes_per_sec"])),
                        ("p99", "p99 ≤ %g ms" % T["p99_ms"]),
                        ("p999", "p99.9 ≤ %g ms" % T["p999_ms"])):
            rows.append(["profile store at %s requests/s (open loop): windows with %s" % (
                fmt_int(st["rate"]), what), "%d of %d" % (c[k], c["windows"]), "every window",
                met(c[k] == c["windows"] if c["windows"] else None)])
        c = fs["met_windows"]
        rows.append(["profile store at full speed: windows with ≥ %s HSET/s" %
                     fmt_int(T["writes_per_sec"]), "%d of %d" % (c["writes"], c["windows"]),
                     "every window", met(c["writes"] == c["windows"] if c["windows"] else None)])
        for run, how in ((ol, "open loop"), (fs, "full speed")):
            if run.get("stall_micros") is not None:
                rows.append(["profile store (%s): write stall (µs)" % how,
                             fmt_int(run["stall_micros"]), "0", met(run["stall_micros"] == 0)])
    rs = P.get("restart")
    if rs and rs["rows"]:
        big = rs["rows"][-1]
        rows.append(["restart with %s keys (ms)" % fmt_int(big["keys"]),
                     "%.0f" % big["longtail_ms"], "≤ 1000", met(big["longtail_ms"] <= 1000)])
    mm = P.get("memory")
    if mm:
        rows.append(["hot-tier bytes per profile hash vs Redis used_memory",
                     "%.0f vs %.0f" % (mm["longtail_hot_bytes_per_key"],
                                      mm["redis_used_memory_per_key"]), "≤ Redis",
                     met(mm["longtail_hot_bytes_per_key"] <= mm["redis_used_memory_per_key"])])
        dr = mm["longtail_disk_bytes_per_key"] / mm["raw_bytes_per_key"]
        rows.append(["disk bytes per key / raw payload", "%.2f" % dr, "≤ 0.6", met(dr <= 0.6)])
    if rows:
        o.append("## Targets\n")
        o.append(table(["target", "measured", "goal", "met"], rows))

    if res["notes"]:
        o.append("## Notes\n")
        for n in res["notes"]:
            o.append("- " + n)
        o.append("")

    t = P.get("tool")
    if t:
        o.append("## 0. longtail-bench against redis-benchmark\n")
        o.append("Both clients against one redis-server without persistence, %d connections, "
                 "one client thread each, uniform keys over %s, 3-byte values (best of the "
                 "rounds). CPU is the client's own user + system time per request.\n" % (
                     t["clients"], fmt_int(t["keyspace"])))
        o.append(table(["test", "pipeline", "requests", "redis-benchmark ops/s",
                        "longtail-bench ops/s", "ratio", "redis-benchmark CPU µs/req",
                        "longtail-bench CPU µs/req"],
                       [[r["test"], r["pipeline"], fmt_int(r["requests"]),
                         fmt_int(r["redis_benchmark_rps"]), fmt_int(r["longtail_bench_rps"]),
                         fmt_ratio(r["longtail_bench_rps"], r["redis_benchmark_rps"]),
                         "%.2f" % r["redis_benchmark_cpu_us_per_req"],
                         "%.2f" % r["longtail_bench_cpu_us_per_req"]] for r in t["rows"]]))

    if hp:
        cpus = m["cpus"]
        o.append("## 1. Hot path (redis-benchmark)\n")
        multi = hp["rounds"] >= 2
        o.append("`redis-benchmark -c %d -r %d -P 1|16 -t TEST`, each test run for %g s and "
                 "stopped (its overall requests/s and mean latency from its last progress "
                 "line), %d round%s, the three servers alternating. %s longtail: default "
                 "durability (RocksDB WAL, appendfsync everysec). The issue's targets: at -P 16 "
                 "≥ 1.0× Redis with AOF everysec and ≥ 0.9× Redis without persistence, at -P 1 "
                 "≥ 0.95× Redis with AOF everysec.\n" % (
                     hp["clients"], hp["keyspace"], hp["seconds_per_test"], hp["rounds"],
                     "s" if multi else "",
                     "Figures and ratios are the **median of the rounds** (of two rounds, their "
                     "mean); the last column gives the ratios of the best rounds instead."
                     if multi else "One round: figures and ratios are that round's."))
        for s in hp["skipped"]:
            o.append("- **skipped `%s`**: longtail replies `-%s`\n" % (s["test"], s["reply"]))

        def vs(r, key):
            if r[key] is None:
                return "—"
            if r[key + "_goal"] is None:
                return "%.2f" % r[key]
            return "%.2f (≥ %.2f: %s)" % (r[key], r[key + "_goal"],
                                          "met" if r[key + "_met"] else "**missed**")

        def share(r, key):
            c, v = r.get(key + "_client_cpu_share"), r.get(key + "_server_cpu_share")
            return "%s + %s" % ("—" if c is None else "%.2f" % c,
                                "—" if v is None else "%.2f" % v)
        head = ["test", "-P", "longtail ops/s", "Redis AOF everysec", "Redis no persistence",
                "longtail / AOF", "longtail / no persistence", "mean ms longtail / AOF",
                "CPU / wall, client + server: longtail", "AOF", "no pers."]
        if multi:
            head.append("best rounds: / AOF, / no pers.")
        rows = []
        for r in hp["rows"]:
            row = [r["test"], r["pipeline"], fmt_int(r["longtail_rps"]),
                   fmt_int(r["redis_aof_rps"]), fmt_int(r["redis_rps"]), vs(r, "vs_aof"),
                   vs(r, "vs_redis"),
                   "%s / %s" % (fmt_ms(r["longtail_avg_ms"]), fmt_ms(r["redis_aof_avg_ms"])),
                   share(r, "longtail"), share(r, "redis_aof"), share(r, "redis")]
            if multi:
                row.append("%s, %s" % (fmt_ratio(r["vs_aof_best"], 1),
                                       fmt_ratio(r["vs_redis_best"], 1)))
            rows.append(row)
        o.append(table(head, rows))
        p1 = [x for r in hp["rows"] if r["pipeline"] == 1
              for x in (r.get("longtail_client_cpu_share"), r.get("redis_aof_client_cpu_share"),
                        r.get("redis_client_cpu_share")) if x is not None]
        if not p1:
            verdict = ""
        elif min(p1) >= 0.85:
            verdict = ("the client was the bottleneck in every -P 1 run, and those ratios "
                       "compare redis-benchmark's speed more than the servers'.")
        elif max(p1) >= 0.85:
            verdict = "the client was the bottleneck in some of the -P 1 runs."
        else:
            verdict = ("the client did not use a whole core; with the server it competes for "
                       "the machine's %s CPUs (see the server's share)." % cpus)
        o.append("CPU / wall is each process's user + system time over the run's wall time: "
                 "redis-benchmark's from its resource usage when it exited, the server's from "
                 "/proc (all its threads). redis-benchmark runs on one thread, so near 1.0 the "
                 "client, not the server, bounded the rate.%s\n" % (
                     " At -P 1 the client's was %.2f to %.2f: %s" % (min(p1), max(p1), verdict)
                     if p1 else ""))

    if tr:
        mmr = P.get("memory", {})
        o.append("## 2. Tiered: data %d× longtail's maxmemory\n" % tr["factor"])
        o.append("%s profile hashes (`%s`, HGETALL reads, HSET of one field writes), zipf 0.99, "
                 "%d connections, pipeline %d, %d s warm-up then %d s per run. longtail: `%s`; "
                 "Redis without persistence holds everything in memory.\n" % (
                     fmt_int(tr["keys"]), tr["type"], tr["clients"], tr["pipeline"],
                     tr["warmup"], tr["duration"], " ".join(tr["longtail_config"])))
        rows = []
        for r in tr["runs"]:
            red = next((x for x in tr["runs"] if x["server"] == "redis" and
                        x["label"] == r["label"]), None)
            name = "Redis" if r["server"] == "redis" else (
                "longtail, direct reads" if r["direct_reads"] else "longtail, page cache")
            lat = r["latency_ms"]
            rows.append([r["label"], name, fmt_int(r["ops_per_sec"]),
                         fmt_ratio(r["ops_per_sec"], red["ops_per_sec"] if red else None),
                         fmt_ms(lat["p50"]), fmt_ms(lat["p99"]), fmt_ms(lat["p99.9"]),
                         fmt_ms(lat["max"]),
                         "—" if r.get("hot_hit_ratio") is None else "%.3f" % r["hot_hit_ratio"],
                         fmt_int(r["errors"]), human_bytes(r["rss"]),
                         human_bytes(r["sst_bytes"]) if r.get("sst_bytes") else "—"])
        o.append(table(["read:write", "server", "ops/s", "ratio", "p50 ms", "p99 ms", "p99.9 ms",
                        "max ms", "hot hit ratio", "errors", "RSS", "SST bytes"], rows))
        o.append("The hot hit ratio is 1 − (keys read from RocksDB) / (commands), from INFO "
                 "tiering (`prefetch_reads`, `sync_loads`) and INFO stats. RSS is "
                 "`used_memory_rss` after the run; SST bytes is `rocksdb_sst_bytes`.\n")
        for p in pngs:
            o.append("![%s](%s)\n" % (p, p))

    if st:
        T = st["targets"]
        o.append("## 3. Profile store: 99 % HSET, 1 % HGETALL\n")
        o.append("%s profile hashes (`%s`), zipf 0.99, `--ratio 1:99`, %d s warm-up, windows of "
                 "%d s. longtail: `%s` (maxmemory %s, the data %s hot-tier bytes: %.1f× it), "
                 "Redis without persistence. Two runs on each server:\n" % (
                     fmt_int(st["keys"]), st["type"], st["warmup"], st["window"],
                     " ".join(st["longtail_config"]), human_bytes(st["longtail_maxmemory"]),
                     human_bytes(st["data_bytes"]), st["data_over_maxmemory"] or 0))
        ol = st["longtail"]["rate"]
        o.append("- **open loop**: `--rate %d -c %d -P %d`, %s requests/s in all, of which 99 %% "
                 "(%s/s) HSET: the issue's 100 K writes/s plus 0.5 %%, so that the random mix "
                 "does not leave a window a few writes short. Latency counts from each "
                 "request's intended send time, so queueing behind a slow reply or a stall is "
                 "in it. *behind* is the largest delay between a request's intended and actual "
                 "send time, *client* the part of it the client caused itself (it had a free "
                 "pipeline slot), *late* the requests the client delayed by 1 ms or more, "
                 "*unsent* the requests due but not sent at the end (the server answered too "
                 "slowly for the rate); the client kept up when late is under 1 in 1000." % (
                     st["rate"], ol["clients"], ol["pipeline"], fmt_int(st["rate"]),
                     fmt_int(st["rate"] * 0.99)))
        fs = st["longtail"]["full"]
        o.append("- **full speed**: closed loop, `-c %d -P %d`: each connection sends its next "
                 "batch when the last is answered; latency from the batch's send.\n" % (
                     fs["clients"], fs["pipeline"]))
        o.append("Each window is marked against the targets: ≥ %s HSET/s, p99 ≤ %g ms, p99.9 "
                 "≤ %g ms (latency of all requests); a window shorter than %d s is not "
                 "counted.\n" % (fmt_int(T["writes_per_sec"]), T["p99_ms"], T["p999_ms"],
                                  st["window"]))

        def mark(ok):
            return "met" if ok else "**missed**"

        def summary(server, run):
            lat, c = run["latency_ms"], run["met_windows"]
            how = ("open loop at %s requests/s" % fmt_int(run["rate"]) if run["mode"] == "rate"
                   else "full speed")
            line = ("**%s, %s**, %d s: %s requests/s, %s HSET/s, p99 %s ms, p99.9 %s ms, max %s "
                    "ms, %s errors" % (server, how, run["duration"], fmt_int(run["ops_per_sec"]),
                                       fmt_int(run["writes_per_sec"]), fmt_ms(lat["p99"]),
                                       fmt_ms(lat["p99.9"]), fmt_ms(lat["max"]),
                                       fmt_int(run["errors"])))
            olp = run.get("open_loop")
            if olp:
                line += ("; achieved %s of %s requests/s, behind: max %s ms (client %s ms, "
                         "%s late), unsent %s: %s" % (
                             fmt_int(olp["achieved_ops_per_sec"]),
                             fmt_int(olp["target_ops_per_sec"]), fmt_ms(olp["behind_max_ms"]),
                             fmt_ms(olp["client_lag_max_ms"]),
                             fmt_int(olp["client_late_requests"]), fmt_int(olp["unsent"]),
                             "client kept up" if olp["client_kept_up"] else
                             "**CLIENT FELL BEHIND** (latencies include its own delay)"))
            line += "; longtail-bench's CPU %.1f s (%.2f of a core over warm-up and run)" % (
                run["client_cpu_s"], run["client_cpu_s"] / (run["duration"] + st["warmup"]))
            if run.get("stall_micros") is not None:
                line += "; write stall %s µs, hot hit ratio %s" % (
                    fmt_int(run["stall_micros"]),
                    "—" if run["hot_hit_ratio"] is None else "%.3f" % run["hot_hit_ratio"])
            if "settle_before_s" in run:
                line += "; started after %g s waiting for compactions%s" % (
                    run["settle_before_s"], "" if run["settled_before"] else " (not settled)")
            n = c["windows"]
            line += (". Of %d window%s: ≥ %s HSET/s met in %d, missed in %d; p99 ≤ %g ms met "
                     "in %d, missed in %d; p99.9 ≤ %g ms met in %d, missed in %d; all three met "
                     "in %d%s." % (
                         n, "" if n == 1 else "s", fmt_int(T["writes_per_sec"]), c["writes"], n - c["writes"],
                         T["p99_ms"], c["p99"], n - c["p99"], T["p999_ms"], c["p999"],
                         n - c["p999"], c["all"],
                         " (and %d partial window(s) not counted)" % c["partial_windows"]
                         if c["partial_windows"] else ""))
            return line

        def windows_table(run):
            head = ["start s", "requests/s", "HSET/s", "p99 ms", "p99.9 ms", "max ms",
                    "≥ %dK w/s" % (T["writes_per_sec"] // 1000), "p99 ≤ %g" % T["p99_ms"],
                    "p99.9 ≤ %g" % T["p999_ms"]]
            if run["mode"] == "rate":
                head += ["behind ms", "client ms"]
            head.append("errors")
            tiered = any("stall_micros" in w for w in run["windows"])
            if tiered:
                head += ["stall µs", "write stopped", "delayed write rate",
                         "pending compaction", "hot tier", "hot hit ratio"]
            rows = []
            for w in run["windows"]:
                row = ["%g%s" % (w["start_s"], "" if w["full"] else " (partial)"),
                       fmt_int(w["ops_per_sec"]), fmt_int(w["writes_per_sec"]),
                       fmt_ms(w["p99_ms"]), fmt_ms(w["p999_ms"]), fmt_ms(w["max_ms"]),
                       mark(w["met"]["writes"]), mark(w["met"]["p99"]), mark(w["met"]["p999"])]
                if run["mode"] == "rate":
                    row += [fmt_ms(w.get("behind_max_ms")), fmt_ms(w.get("client_lag_max_ms"))]
                row.append(fmt_int(w["errors"]))
                if tiered:
                    row += [fmt_int(w.get("stall_micros")), w.get("write_stopped", "—"),
                            fmt_int(w.get("delayed_write_rate")),
                            human_bytes(w["pending_compaction_bytes"])
                            if "pending_compaction_bytes" in w else "—",
                            human_bytes(w["hot_tier_used_memory"])
                            if "hot_tier_used_memory" in w else "—",
                            "—" if w.get("hot_hit_ratio") is None else
                            "%.3f" % w["hot_hit_ratio"]]
                rows.append(row)
            return table(head, rows)

        for server, key in (("longtail", "longtail"), ("Redis", "redis")):
            for mode in ("rate", "full"):
                o.append(summary(server, st[key][mode]) + "\n")
                o.append(windows_table(st[key][mode]))
        o.append("Stall µs is the growth of `rocksdb_stall_micros` (RocksDB's STALL_MICROS) "
                 "over the window; write stopped, delayed write rate, pending compaction and "
                 "hot tier (`hot_tier_used_memory`) are INFO's values at its end.\n")

    if rs:
        o.append("## 4. Restart: process start to the first GET of a random key\n")
        o.append("Small strings (`string:8`). Redis restarts from its RDB (written by SHUTDOWN "
                 "SAVE), longtail from its data directory.\n")
        o.append(table(["keys", "longtail ms", "Redis ms", "ratio", "longtail dir", "Redis RDB"],
                       [[fmt_int(r["keys"]), "%.1f" % r["longtail_ms"], "%.1f" % r["redis_ms"],
                         fmt_ratio(r["longtail_ms"], r["redis_ms"]),
                         human_bytes(r["longtail_dir_bytes"]), human_bytes(r["redis_rdb_bytes"])]
                        for r in rs["rows"]]))

    if mm:
        o.append("## 5. Memory and disk per key\n")
        o.append("%s profile hashes (`%s`): raw payload %d bytes per key (key, field names and "
                 "values). longtail without maxmemory (every key hot); disk after a restart "
                 "(memtables flushed) once compactions settled (%s s%s). Per key: the growth "
                 "over the load divided by the keys. longtail's used_memory (the whole process's "
                 "allocated bytes) and RSS include RocksDB's memory (memtables, block cache) "
                 "besides the keys; its hot tier counts the keys only.\n" % (
                     fmt_int(mm["keys"]), mm["type"], mm["raw_bytes_per_key"],
                     mm["compaction_wait_s"], "" if mm["compaction_settled"] else ", not settled"))
        o.append(table(["per key", "longtail", "Redis", "ratio"], [
            ["hot tier / used_memory bytes", "%.0f" % mm["longtail_hot_bytes_per_key"],
             "%.0f" % mm["redis_used_memory_per_key"],
             fmt_ratio(mm["longtail_hot_bytes_per_key"], mm["redis_used_memory_per_key"])],
            ["used_memory bytes", "%.0f" % mm["longtail_used_memory_per_key"],
             "%.0f" % mm["redis_used_memory_per_key"],
             fmt_ratio(mm["longtail_used_memory_per_key"], mm["redis_used_memory_per_key"])],
            ["RSS bytes (`used_memory_rss` growth over the load)",
             "%.0f" % mm["longtail_rss_per_key"], "%.0f" % mm["redis_rss_per_key"],
             fmt_ratio(mm["longtail_rss_per_key"], mm["redis_rss_per_key"])],
            ["disk bytes (live SST)", "%.0f" % mm["longtail_disk_bytes_per_key"], "—",
             "%.2f of raw" % (mm["longtail_disk_bytes_per_key"] / mm["raw_bytes_per_key"])],
            ["RSS after the load (whole process)", human_bytes(mm["longtail_rss"]),
             human_bytes(mm["redis_rss"]), fmt_ratio(mm["longtail_rss"], mm["redis_rss"])],
            ["load keys/s (`--load`, pipelined)", fmt_int(mm["load_keys_per_sec"]["longtail"]),
             fmt_int(mm["load_keys_per_sec"]["redis"]),
             fmt_ratio(mm["load_keys_per_sec"]["longtail"], mm["load_keys_per_sec"]["redis"])],
        ]))

    bk = P.get("bulk")
    if bk:
        o.append("## 6. Bulk load\n")
        o.append("`longtail-bench --load`, `%s`, %d connections, pipeline %d, into empty "
                 "servers (Redis without persistence).\n" % (bk["type"], bk["clients"],
                                                           bk["pipeline"]))
        o.append(table(["keys", "longtail keys/s", "Redis keys/s", "ratio", "errors"],
                       [[fmt_int(r["keys"]), fmt_int(r["longtail_keys_per_sec"]),
                         fmt_int(r["redis_keys_per_sec"]),
                         fmt_ratio(r["longtail_keys_per_sec"], r["redis_keys_per_sec"]),
                         "%d / %d" % (r["longtail_errors"], r["redis_errors"])]
                        for r in bk["rows"]]))

    o.append("## Commands\n")
    o.append("In the order they ran (seconds from the start, then what the command was for); "
             "ports and directories were chosen at run time.\n")
    o.append("```")
    for c in res["commands"]:
        o.append("%7.1f  [%s]  %s" % (c["at_s"], c["what"], c["command"]))
    o.append("```\n")
    return "\n".join(o)


def main():
    ap = argparse.ArgumentParser(
        prog="suite.sh",
        description="longtail's benchmark suite: longtail against redis-server, one run. "
                    "Refuses (exit status 2) a tree with modified tracked files unless "
                    "--allow-dirty.",
        epilog="Parts: 0 tool check; 1 hot path (redis-benchmark -P 1 and -P 16 against Redis "
               "with AOF everysec and without persistence, median of the rounds); 2 tiered "
               "(data 10x maxmemory); 3 profile store (99%% HSET, open loop at %d requests/s "
               "and full speed, windows against >= 100 K writes/s, p99 <= 2 ms, p99.9 <= 5 "
               "ms); 4 restart; 5 memory per key; 6 bulk load (4 and 6 run together). Parts 2 "
               "and 3 load the data set of part 5 first." % STORE_RATE)
    ap.add_argument("--quick", action="store_true", help="small sizes, under 3 minutes")
    ap.add_argument("--parts", help="comma-separated part numbers to run (default: all)")
    ap.add_argument("--build", help="directory holding longtail-server and longtail-bench "
                    "(default: build/, then the repository root)")
    ap.add_argument("--out", help="results directory (default: bench/results)")
    ap.add_argument("--workdir", help="where the temporary server directories go "
                    "(default: $TMPDIR or /tmp, or ~/.cache/longtail-suite when that is "
                    "tmpfs, which has no O_DIRECT for direct reads)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--allow-dirty", action="store_true",
                    help="run even when the source tree of the server (or the suite's) has "
                    "modified tracked files (`git status --porcelain --untracked-files=no` not "
                    "empty), which is refused otherwise (exit status 2); the results then say "
                    "at the top that they are not a release measurement")
    args = ap.parse_args()
    suite = Suite(args)
    atexit.register(suite.cleanup)

    def on_signal(sig, frame):
        sys.exit(128 + sig)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    suite.main()


if __name__ == "__main__":
    main()
