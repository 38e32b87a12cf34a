#!/usr/bin/env python3
"""Reference model of the Metriflow pipeline for the integration tests.

Independent of the project's SQL: it generates raw batches (as the ingest
would write them), computes every level from scratch with exact decimal
arithmetic (identity rule: per (kind, site, path, ts) the record with the
largest (batch_id, ord) wins), and compares that with the levels dumped from
PostgreSQL.

  pipeline_ref.py gen --seed N --out DIR [--batches N] [--size N]
      writes DIR/batches.tsv ("batch_id kind" lines) and, per batch,
      DIR/<batch_id>.tsv in the COPY text format of raw_ga / raw_psi.
  pipeline_ref.py compare --dir DIR --actual FILE [--exclude SITE PATH DAY]
      computes the levels from every DIR/<batch_id>.tsv listed in
      batches.tsv (minus the excluded page-days), reads FILE (the dump made
      by dump_levels.sql) and prints every difference; exit 1 on any.
  pipeline_ref.py compare --json KIND FILE [--json KIND FILE ...] --actual FILE
      the same from record files as metriflow-gen writes them (NDJSON or a
      JSON array, optionally gzip), each loaded by one ingest in file
      order: the page normalisation of records.md and the identity rule
      (the record later in the file wins) are applied here.

Standard library only.
"""
import argparse
import datetime as dt
import gzip
import json
import os
import re
import random
import sys
from decimal import Decimal

METRICS = ["performance_score", "lcp_ms", "cls", "inp_ms", "fcp_ms", "ttfb_ms"]
MEASURES = (["users", "sessions", "views", "bounces", "duration_s",
             "psi_samples"]
            + [m + s for m in METRICS for s in ("_n", "_sum", "_min", "_max")])
UTC = dt.timezone.utc


# ---------------------------------------------------------------- generator

def fmt_ts(t):
    return t.strftime("%Y-%m-%d %H:%M:%S.%f+00")


def rand_dec(rng, lo, hi, places):
    q = Decimal(1).scaleb(-places)
    return (Decimal(rng.uniform(lo, hi))).quantize(q)


def ga_values(rng):
    sessions = rng.randint(0, 500)
    return [str(rng.randint(0, 400)), str(sessions), str(rng.randint(0, 2000)),
            str(rng.randint(0, sessions)), str(rand_dec(rng, 0, 50000, 2))]


def psi_values(rng, extreme=False):
    vals = [str(rand_dec(rng, 0, 100, 1)),
            str(Decimal("599999.5") if extreme else rand_dec(rng, 100, 9000, 2))]
    for hi, places in ((1, 3), (3000, 1), (5000, 0), (2000, 2)):
        vals.append(str(rand_dec(rng, 0, hi, places))
                    if rng.random() < 0.6 else "\\N")
    if extreme:
        vals[2] = "0.000"  # a minimum the correction will raise
    return vals


def gen(args):
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    pages = [("site%d.example" % (i % 3), "/p/%d" % i) for i in range(24)]
    pages.append(("default", "/"))
    base = dt.datetime(2025, 12, 30, 18, 0, tzinfo=UTC)  # spans a year end
    late = [dt.datetime(2024, 2, 29, 23, 45, tzinfo=UTC),
            dt.datetime(2025, 6, 1, 0, 0, tzinfo=UTC)]

    def some_ts():
        if rng.random() < 0.08:
            return rng.choice(late) + dt.timedelta(minutes=15 * rng.randint(0, 8))
        return base + dt.timedelta(minutes=15 * rng.randint(0, 4 * 60))

    seen = {"ga": [], "psi": []}   # identities written so far, per kind
    extremes = []                  # PSI identities with a max LCP, min CLS
    batch_lines = []
    for b in range(1, args.batches + 1):
        kind = "ga" if b % 2 and b != args.batches else "psi"
        rows = []
        for o in range(1, args.size + 1):
            r = rng.random()
            if seen[kind] and r < 0.10:      # duplicate or correction
                site, path, ts, vals = rng.choice(seen[kind])
                if rng.random() < 0.5:       # correction: new values
                    vals = ga_values(rng) if kind == "ga" else psi_values(rng)
            else:
                site, path = rng.choice(pages)
                ts = some_ts()
                extreme = kind == "psi" and rng.random() < 0.03
                vals = ga_values(rng) if kind == "ga" else psi_values(rng, extreme)
            seen[kind].append((site, path, ts, vals))
            if kind == "psi" and vals[1] == "599999.5":
                extremes.append((site, path, ts))
            rows.append([str(b), str(o), site, path, fmt_ts(ts)] + vals)
            if rng.random() < 0.04:          # the same identity twice in a batch
                vals2 = ga_values(rng) if kind == "ga" else psi_values(rng)
                o2 = len(rows) + 1
                rows.append([str(b), str(o2), site, path, fmt_ts(ts)] + vals2)
                seen[kind].append((site, path, ts, vals2))
        if b == args.batches:
            # the last batch corrects every extreme PSI record, which lowers
            # maxima and raises minima at every level
            for site, path, ts in extremes:
                rows.append(["0", "0", site, path, fmt_ts(ts)]
                            + psi_values(rng))
        # ord must be unique per batch: renumber in file order
        for i, row in enumerate(rows, 1):
            row[1] = str(i)
        with open(os.path.join(args.out, "%d.tsv" % b), "w") as f:
            for row in rows:
                f.write("\t".join(row) + "\n")
        batch_lines.append("%d\t%s\n" % (b, kind))
    with open(os.path.join(args.out, "batches.tsv"), "w") as f:
        f.writelines(batch_lines)


# ---------------------------------------------------------------- reference

def dec(s):
    return None if s == "\\N" else Decimal(s)


def parse_ts(s):
    return dt.datetime.strptime(s, "%Y-%m-%d %H:%M:%S.%f+00").replace(tzinfo=UTC)


# ------------------------------------------------------- JSON record files

def json_records(path):
    """Yields the records of an NDJSON or array file, gzip or not, in file
    order, with numbers as exact Decimals."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    text = data.decode("utf-8")
    if text.lstrip().startswith("["):
        for r in json.loads(text, parse_float=Decimal):
            yield r
        return
    for line in text.splitlines():
        if line.strip():
            yield json.loads(line, parse_float=Decimal)


def normalise_page(rec):
    """(site, path) by records.md: an URL is split into host and path, query
    and fragment dropped, a trailing '/' removed except for the root; the
    site member wins, else the URL's host, else 'default'; lower-cased."""
    page, host = rec["page"], None
    if not page.startswith("/"):
        rest = page.split("://", 1)[1]
        auth = re.match(r"[^/?#]*", rest).group(0)
        page = rest[len(auth):]
        host = auth.rsplit("@", 1)[-1]
        if re.search(r":[0-9]*$", host):
            host = host.rsplit(":", 1)[0]
    path = re.split(r"[?#]", page, maxsplit=1)[0]
    while len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    if path == "":
        path = "/"
    site = rec.get("site")
    if site is None:
        site = host if host is not None else "default"
    return site.lower(), path


def record_ts(v):
    if isinstance(v, int):
        return dt.datetime.fromtimestamp(v, UTC)
    s = v.replace("t", "T").replace("z", "Z")
    t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return t.astimezone(UTC)


def record_values(kind, rec):
    if kind == "ga":
        return [Decimal(rec.get(m, 0)) for m in
                ("users", "sessions", "views", "bounces", "duration_s")]
    return [None if rec.get(m) is None else Decimal(rec[m]) for m in METRICS]


def staged_from_json(files):
    best = {}
    for kind, path in files:
        for i, rec in enumerate(json_records(path)):
            site, p = normalise_page(rec)
            key = (kind, site, p, record_ts(rec["ts"]))
            best[key] = ((0, i), record_values(kind, rec))  # later wins
    return best


def staged(directory, exclude):
    """identity -> ((batch, ord), values) under the identity rule."""
    best = {}
    with open(os.path.join(directory, "batches.tsv")) as f:
        batches = [line.split() for line in f if line.strip()]
    for b, kind in batches:
        with open(os.path.join(directory, "%s.tsv" % b)) as f:
            for line in f:
                c = line.rstrip("\n").split("\t")
                ts = parse_ts(c[4])
                if (c[2], c[3], ts.date().isoformat()) in exclude:
                    continue
                key = (kind, c[2], c[3], ts)
                rank = (int(c[0]), int(c[1]))
                if key not in best or best[key][0] < rank:
                    best[key] = (rank, [dec(v) for v in c[5:]])
    return best


def empty():
    return dict((m, None if m.endswith(("_min", "_max")) else Decimal(0))
                for m in MEASURES)


def add_record(acc, kind, vals):
    if kind == "ga":
        for m, v in zip(["users", "sessions", "views", "bounces",
                         "duration_s"], vals):
            acc[m] += v
        return
    acc["psi_samples"] += 1
    for m, v in zip(METRICS, vals):
        if v is None:
            continue
        acc[m + "_n"] += 1
        acc[m + "_sum"] += v
        lo, hi = acc[m + "_min"], acc[m + "_max"]
        acc[m + "_min"] = v if lo is None else min(lo, v)
        acc[m + "_max"] = v if hi is None else max(hi, v)


def add_acc(acc, other):
    for m in MEASURES:
        a, b = acc[m], other[m]
        if m.endswith("_min"):
            acc[m] = b if a is None else (a if b is None else min(a, b))
        elif m.endswith("_max"):
            acc[m] = b if a is None else (a if b is None else max(a, b))
        else:
            acc[m] = a + b


def levels(best):
    """(level, site, path, key) -> measures, computed straight from staged
    records for every level (not rolled up level by level)."""
    out = {}
    for (kind, site, path, ts), (_, vals) in best.items():
        h = ts.replace(minute=0, second=0)
        d = ts.date()
        keys = [("hour", h.strftime("%Y-%m-%dT%H")),
                ("interval", "%s/%d" % (d.isoformat(), h.hour // 4 + 1)),
                ("day", d.isoformat()),
                ("month", d.strftime("%Y-%m")),
                ("year", str(d.year))]
        for level, k in keys:
            acc = out.setdefault((level, site, path, k), empty())
            add_record(acc, kind, vals)
    return out


def canon(v):
    if v is None:
        return "NULL"
    v = Decimal(v)
    return "0" if v == 0 else format(v.normalize(), "f")


def read_actual(path):
    """The dump of dump_levels.sql: level, site, path, key, measures...;
    staged rows: 'staged', kind, site, path, ts, values..."""
    levels_, staged_ = {}, {}
    with open(path) as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            if c[0] == "staged":
                staged_[(c[1], c[2], c[3], c[4])] = [canon(dec(v)) for v in c[5:]]
            else:
                levels_[tuple(c[:4])] = [canon(dec(v)) for v in c[4:]]
    return levels_, staged_


def compare(args):
    exclude = set(tuple(e) for e in (args.exclude or []))
    if args.json:
        best = staged_from_json(args.json)
    else:
        best = staged(args.dir, exclude)
    exp = dict((k, [canon(v[m]) for m in MEASURES])
               for k, v in levels(best).items())
    exp_staged = dict(((kind, s, p, fmt_ts(ts)), [canon(v) for v in vals])
                      for (kind, s, p, ts), (_, vals) in best.items())
    act, act_staged = read_actual(args.actual)
    diffs = []
    for k in sorted(set(exp) | set(act)):
        e, a = exp.get(k), act.get(k)
        if e is None or a is None:
            diffs.append("%s: %s" % ("/".join(k), "missing" if a is None
                                     else "unexpected row"))
            continue
        for m, ev, av in zip(MEASURES, e, a):
            if ev != av:
                diffs.append("%s %s: stored %s expected %s"
                             % ("/".join(k), m, av, ev))
    for k in sorted(set(exp_staged) | set(act_staged)):
        if exp_staged.get(k) != act_staged.get(k):
            diffs.append("staged %s: stored %s expected %s"
                         % ("/".join(k), act_staged.get(k), exp_staged.get(k)))
    for d in diffs[:40]:
        print(d)
    counts = {}
    for k in exp:
        counts[k[0]] = counts.get(k[0], 0) + 1
    print("reference: %d staged records, %s; %d differences"
          % (len(exp_staged), ", ".join("%s=%d" % kv for kv in sorted(counts.items())),
             len(diffs)))
    return 1 if diffs else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--out", required=True)
    g.add_argument("--batches", type=int, default=24)
    g.add_argument("--size", type=int, default=150)
    c = sub.add_parser("compare")
    c.add_argument("--dir")
    c.add_argument("--json", nargs=2, action="append", metavar=("KIND", "FILE"))
    c.add_argument("--actual", required=True)
    c.add_argument("--exclude", nargs=3, action="append",
                   metavar=("SITE", "PATH", "DAY"))
    args = ap.parse_args()
    if args.cmd == "gen":
        gen(args)
        return 0
    return compare(args)


if __name__ == "__main__":
    sys.exit(main())
