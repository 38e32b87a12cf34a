#!/usr/bin/env python3
"""Checks a stream of Metriflow input records against records.md.

Written from the contract alone, for the tests: it shares no code and no
tables with metriflow-gen. It reads one stream (NDJSON or a top-level array,
optionally gzip-compressed), applies every rule of records.md including the
normalisation of site, page and ts, and prints one JSON object with counts:

  records      records in the stream (array elements, or non-blank lines)
  valid        records that follow every rule
  invalid      records that break at least one rule; reasons counts them by
               the first rule broken, multi_reason those breaking several
  new          valid records with an identity not seen before
  late         new records whose ts is before the latest ts already seen
  duplicates   valid records repeating the stored values of their identity
  corrections  valid records changing the stored values of their identity
  stream_error the error that ended an array stream early, or null
  spellings    how often each spelling of ts, page and site occurred

Usage: validate_records.py [--source ga|psi] [--keys FILE] FILE|-
  --keys FILE  writes "site<TAB>path<TAB>hour" of every valid identity,
               sorted, hour as Unix seconds of the hour start
"""
import argparse
import calendar
import collections
import fractions
import gzip
import json
import math
import re
import sys

TS_MIN = 0
TS_END = calendar.timegm((2200, 1, 1, 0, 0, 0))
GA_MAX = 10**12
MS_MAX = 600000

RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
    r"([Zz]|[+-]\d{2}:\d{2})\Z")
LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z")


class Bad(Exception):
    """A broken rule; the message is the reason."""


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v):
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return True
    return isinstance(v, float) and math.isfinite(v)


def host_ok(h):
    h = h.lower()
    if not 1 <= len(h.encode("utf-8")) <= 253:
        return False
    return all(LABEL.match(label) for label in h.split("."))


def month_days(y, m):
    if m == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        return 29 if leap else 28
    return 30 if m in (4, 6, 9, 11) else 31


def parse_ts(v, spell):
    """Returns the UTC instant as a Fraction of seconds, or raises Bad."""
    if isinstance(v, bool) or v is None:
        raise Bad("ts: wrong type")
    if isinstance(v, int):
        spell["ts_unix"] += 1
        if not TS_MIN <= v < TS_END:
            raise Bad("ts: outside the years 1970-2199")
        return fractions.Fraction(v)
    if isinstance(v, float):
        raise Bad("ts: Unix seconds must be an integer")
    if not isinstance(v, str):
        raise Bad("ts: wrong type")
    m = RFC3339.match(v)
    if not m:
        raise Bad("ts: not an RFC 3339 date-time")
    y, mo, d, hh, mi, ss = (int(m.group(i)) for i in range(1, 7))
    if not (1 <= mo <= 12 and 1 <= d <= month_days(y, mo) and hh <= 23
            and mi <= 59 and ss <= 59):
        raise Bad("ts: not an RFC 3339 date-time")
    off = 0
    zone = m.group(8)
    if zone in ("Z", "z"):
        spell["ts_utc"] += 1
    else:
        oh, om = int(zone[1:3]), int(zone[4:6])
        if oh > 23 or om > 59:
            raise Bad("ts: not an RFC 3339 date-time")
        off = (oh * 60 + om) * 60 * (1 if zone[0] == "+" else -1)
        spell["ts_offset"] += 1
    inst = fractions.Fraction(
        calendar.timegm((y, mo, d, hh, mi, ss)) - off)
    if m.group(7):
        spell["ts_fraction"] += 1
        inst += fractions.Fraction(m.group(7)[1:]) / 10 ** (
            len(m.group(7)) - 1)
    if not TS_MIN <= inst < TS_END:
        raise Bad("ts: outside the years 1970-2199")
    return inst


def parse_page(v, spell):
    """Returns (host or None, normalised path), or raises Bad."""
    if "page" not in v:
        raise Bad("page: missing")
    page = v["page"]
    if not isinstance(page, str):
        raise Bad("page: wrong type")
    if not 1 <= len(page.encode("utf-8")) <= 2048:
        raise Bad("page: not 1 to 2048 bytes")
    host = None
    low = page[:8].lower()
    if page.startswith("/"):
        rest = page
        spell["page_path"] += 1
    elif low.startswith("http://") or low.startswith("https://"):
        after = page[page.index("://") + 3:]
        end = len(after)
        for c in "/?#":
            i = after.find(c)
            if i >= 0:
                end = min(end, i)
        authority, rest = after[:end], after[end:]
        host = authority
        if ":" in host and host.rsplit(":", 1)[1].isdigit():
            host = host.rsplit(":", 1)[0]
        if not host_ok(host):
            raise Bad("page: URL without a valid host")
        spell["page_url"] += 1
        if host != host.lower():
            spell["page_url_mixed_case_host"] += 1
        host = host.lower()
    else:
        raise Bad("page: neither a path nor an http(s) URL")
    for c in "?#":
        i = rest.find(c)
        if i >= 0:
            spell["page_query" if c == "?" else "page_fragment"] += 1
            rest = rest[:i]
    if rest == "":
        rest = "/"
    if len(rest) > 1 and rest.endswith("/"):
        spell["page_trailing_slash"] += 1
        rest = rest[:-1]
    return host, rest


def parse_site(v, spell):
    if "site" not in v:
        spell["site_absent"] += 1
        return None
    s = v["site"]
    if not isinstance(s, str):
        raise Bad("site: wrong type")
    if not 1 <= len(s.encode("utf-8")) <= 253:
        raise Bad("site: not 1 to 253 bytes")
    if not host_ok(s):
        raise Bad("site: not a host name")
    if s != s.lower():
        spell["site_mixed_case"] += 1
    return s.lower()


def check_number(v, name, lo, hi, integer, required, errs, spell):
    if name not in v:
        if required:
            errs.append(name + ": missing")
        return None
    x = v[name]
    if integer and not is_int(x):
        errs.append(name + ": not an integer")
        return None
    if not is_number(x):
        errs.append(name + ": not a number")
        return None
    if isinstance(x, float):
        spell["number_with_fraction"] += 1
    if not lo <= x <= hi:
        errs.append(name + ": outside %s to %s" % (lo, hi))
        return None
    return x


def ga_values(v, errs, spell):
    got = {}
    for name in ("users", "sessions", "views", "bounces"):
        got[name] = check_number(v, name, 0, GA_MAX, True, False, errs,
                                 spell)
    got["duration_s"] = check_number(v, "duration_s", 0, GA_MAX, False,
                                     False, errs, spell)
    if not any(k in v for k in ("users", "sessions", "views")):
        errs.append("ga: none of users, sessions, views")
    for name in ("users", "sessions", "views", "bounces", "duration_s"):
        if name not in v:
            spell["optional_absent"] += 1
    sessions_ok = "sessions" not in v or got["sessions"] is not None
    if got["bounces"] is not None and sessions_ok:
        if got["bounces"] > (got["sessions"] or 0):
            errs.append("bounces: more than sessions")
    return tuple(got[k] or 0 for k in
                 ("users", "sessions", "views", "bounces", "duration_s"))


def psi_values(v, errs, spell):
    out = [check_number(v, "performance_score", 0, 100, False, True, errs,
                        spell),
           check_number(v, "lcp_ms", 0, MS_MAX, False, True, errs, spell),
           check_number(v, "cls", 0, 100, False, False, errs, spell)]
    for name in ("inp_ms", "fcp_ms", "ttfb_ms"):
        out.append(check_number(v, name, 0, MS_MAX, False, False, errs,
                                spell))
    for name in ("cls", "inp_ms", "fcp_ms", "ttfb_ms"):
        if name not in v:
            spell["optional_absent"] += 1
    return tuple(out)


KNOWN = {"source", "site", "page", "ts", "users", "sessions", "views",
         "bounces", "duration_s", "performance_score", "lcp_ms", "cls",
         "inp_ms", "fcp_ms", "ttfb_ms"}


def check_record(v, flag, spell):
    """Returns (identity, values, []) or (None, None, reasons)."""
    if not isinstance(v, dict):
        return None, None, ["record: not a JSON object"]
    errs = []
    kind = flag
    if "source" in v:
        spell["source_member"] += 1
        s = v["source"]
        if s not in ("ga", "psi") or not isinstance(s, str):
            errs.append("source: not ga or psi")
        elif flag is not None and s != flag:
            errs.append("source: disagrees with --source")
        elif flag is None:
            kind = s
    if kind is None and not errs:
        errs.append("source: kind cannot be told")
    if any(k not in KNOWN for k in v):
        spell["unknown_member"] += 1
    host = path = site = inst = values = None
    for step in ("page", "site", "ts"):
        try:
            if step == "page":
                host, path = parse_page(v, spell)
            elif step == "site":
                site = parse_site(v, spell)
            elif "ts" not in v:
                errs.append("ts: missing")
            else:
                inst = parse_ts(v["ts"], spell)
        except Bad as e:
            errs.append(str(e))
    if kind == "ga":
        values = ga_values(v, errs, spell)
    elif kind == "psi":
        values = psi_values(v, errs, spell)
    if errs:
        return None, None, errs
    if site is not None and host is not None and site != host:
        spell["site_url_conflict"] += 1
    site = site or host or "default"
    return (kind, site, path, inst), values, []


class Tally:
    def __init__(self, flag):
        self.flag = flag
        self.c = collections.Counter()
        self.reasons = collections.Counter()
        self.spell = collections.Counter()
        self.seen = {}
        self.max_ts = None

    def record(self, parsed=None, syntax=None):
        self.c["records"] += 1
        if syntax is not None:
            self.c["invalid"] += 1
            self.reasons[syntax] += 1
            return
        ident, values, errs = check_record(parsed, self.flag, self.spell)
        if errs:
            self.c["invalid"] += 1
            self.reasons[errs[0]] += 1
            if len(errs) > 1:
                self.c["multi_reason"] += 1
            return
        self.c["valid"] += 1
        if ident not in self.seen:
            self.c["new"] += 1
            if self.max_ts is not None and ident[3] < self.max_ts:
                self.c["late"] += 1
        elif self.seen[ident] == values:
            self.c["duplicates"] += 1
        else:
            self.c["corrections"] += 1
        self.seen[ident] = values
        if self.max_ts is None or ident[3] > self.max_ts:
            self.max_ts = ident[3]


def no_constants(name):
    raise ValueError("not JSON: " + name)


def read_ndjson(data, tally):
    dec = json.JSONDecoder(parse_constant=no_constants)
    for line in data.split(b"\n"):
        if line.strip(b" \t\r") == b"":
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            tally.record(syntax="json: not UTF-8")
            continue
        try:
            obj = dec.decode(text)
        except ValueError:
            tally.record(syntax="json: syntax error")
            continue
        tally.record(parsed=obj)
    return None


def read_array(data, tally):
    dec = json.JSONDecoder(parse_constant=no_constants)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return "not UTF-8 at byte %d" % e.start
    ws = " \t\r\n"
    pos = 0
    while pos < len(text) and text[pos] in ws:
        pos += 1
    pos += 1  # the '['
    first = True
    while True:
        while pos < len(text) and text[pos] in ws:
            pos += 1
        if pos < len(text) and text[pos] == "]" and first:
            pos += 1
            break
        try:
            obj, pos = dec.raw_decode(text, pos)
        except ValueError:
            return "syntax error at offset %d" % pos
        tally.record(parsed=obj)
        first = False
        while pos < len(text) and text[pos] in ws:
            pos += 1
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] == "]":
            pos += 1
            break
        else:
            return "expected ',' or ']' at offset %d" % pos
    if text[pos:].strip(ws):
        return "data after the array at offset %d" % pos
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", choices=("ga", "psi"))
    ap.add_argument("--keys")
    ap.add_argument("file")
    a = ap.parse_args()

    if a.file == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(a.file, "rb") as f:
            data = f.read()
    compressed = data[:2] == b"\x1f\x8b"
    if compressed:
        data = gzip.decompress(data)
    stripped = data.lstrip(b" \t\r\n")
    framing = "array" if stripped[:1] == b"[" else "ndjson"
    tally = Tally(a.source)
    if framing == "array":
        err = read_array(data, tally)
    else:
        err = read_ndjson(data, tally)

    out = {"framing": framing, "gzip": compressed, "stream_error": err}
    for k in ("records", "valid", "invalid", "multi_reason", "new", "late",
              "duplicates", "corrections"):
        out[k] = tally.c[k]
    out["identities"] = len(tally.seen)
    out["reasons"] = dict(sorted(tally.reasons.items()))
    out["spellings"] = dict(sorted(tally.spell.items()))
    if a.keys:
        keys = sorted({"%s\t%s\t%d" % (i[1], i[2], math.floor(i[3] / 3600)
                                       * 3600) for i in tally.seen})
        with open(a.keys, "w", encoding="utf-8") as f:
            for k in keys:
                f.write(k + "\n")
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
