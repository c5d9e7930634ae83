#!/bin/sh
# utils/bench/suite.sh [--quick] [--parts LIST] [--build DIR] [--out DIR] [--keep]
#                      [--allow-dirty]
#
# The benchmark suite: longtail against redis-server 7.0.15, both started by
# the suite on free ports in temporary directories, in one run:
#   0. longtail-bench against redis-benchmark (the tool is not the bottleneck)
#   1. hot path (redis-benchmark -P 1 and -P 16; longtail / Redis with AOF
#   everysec and / Redis without persistence, median of the rounds, with the
#   client's CPU), 2. tiered 10x (zipf, hashes, direct reads or not),
#   3. profile store (99% HSET; open loop at 101,500 requests/s and full
#   speed; every window marked against >= 100 K writes/s, p99 <= 2 ms,
#   p99.9 <= 5 ms; stalls), 4. restart, 5. memory per key (used_memory, RSS,
#   hot tier), 6. bulk load.
# Refuses (exit status 2) a tree with modified tracked files unless
# --allow-dirty, whose results say so at the top.
# Writes bench/results/<date>-<host>.md and .json (and the latency CDF plots
# of part 2 as PNG next to them). --quick takes under 3 minutes, the full run
# under 30 on a 2-core machine. `suite.sh --help` lists every option.
#
# The work is done by suite.py next to this file (Python 3 from Debian).
exec python3 "$(dirname "$0")/suite.py" "$@"
