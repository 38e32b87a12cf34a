#!/usr/bin/env python3
"""tools/bench/cpu_sample.py OUT [PG_URL]: CPU seconds by process kind.

Samples /proc twice a second for PostgreSQL, metriflow and RabbitMQ
processes and, every two seconds, pg_stat_activity (through psql, if
PG_URL is given) for each backend's application_name. On SIGTERM or
SIGINT writes to OUT the CPU seconds (user + system) each kind used since
sampling started, largest first: "pg backend metriflow-worker/page",
"autovacuum worker", "ingest proc", ... A process first seen after the
start counts from its first sample, so one that lives less than half a
second is missed (autovacuum of a small table, a psql).
"""
import collections
import os
import signal
import subprocess
import sys
import time

TICK = os.sysconf('SC_CLK_TCK')
OUT = sys.argv[1]
URL = sys.argv[2] if len(sys.argv) > 2 else None
seen = {}  # pid -> [title, cpu now, cpu at first sight]
apps = {}  # pid -> application_name (or backend type)


def scan():
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/stat') as f:
                stat = f.read()
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                title = f.read().replace(b'\0', b' ').decode(errors='replace').strip()
        except OSError:
            continue
        comm = stat[stat.index('(') + 1:stat.rindex(')')]
        if not (title.startswith('postgres') or 'metriflow' in title
                or comm.startswith('metriflow') or 'beam' in comm):
            continue
        fields = stat[stat.rindex(')') + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICK
        if pid in seen:
            seen[pid][1] = cpu
        else:
            seen[pid] = [title, cpu, cpu]


def scan_apps():
    if not URL:
        return
    try:
        out = subprocess.run(
            ['psql', URL, '-qAtX', '-F', '|', '-c',
             "SELECT pid, coalesce(nullif(application_name, ''), backend_type)"
             " FROM pg_stat_activity"],
            capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return
    for line in out.splitlines():
        p = line.split('|')
        if len(p) == 2 and p[1] != 'psql':
            apps[p[0]] = p[1]


def kind(pid, title):
    for k in ('autovacuum launcher', 'autovacuum worker', 'walwriter',
              'checkpointer', 'background writer', 'logical replication'):
        if k in title:
            return k
    if 'metriflow-ingest' in title:
        return 'ingest proc'
    if 'metriflow-worker' in title:
        return 'worker proc'
    if 'metriflow-api' in title:
        return 'api proc'
    if 'beam' in title:
        return 'rabbitmq'
    if title.startswith('postgres:'):
        return ('pg backend ' + apps[pid]) if pid in apps else 'pg backend'
    return title[:40]


def finish(*_):
    scan()
    total = collections.Counter()
    for pid, (title, cpu, first) in seen.items():
        total[kind(pid, title)] += cpu - first
    with open(OUT, 'w') as o:
        for k, v in total.most_common():
            if v >= 0.05:
                o.write(f'{v:9.1f} {k}\n')
        o.write(f'{sum(total.values()):9.1f} total\n')
    sys.exit(0)


signal.signal(signal.SIGTERM, finish)
signal.signal(signal.SIGINT, finish)
n = 0
while True:
    scan()
    if n % 4 == 0:
        scan_apps()
    n += 1
    time.sleep(0.5)
