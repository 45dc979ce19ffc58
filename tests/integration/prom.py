# SPDX-License-Identifier: MIT
"""A small, strict parser for the Prometheus text exposition format (0.0.4).

Strict on purpose: the daemon's output is what Prometheus will scrape, so a
line this parser cannot read is a bug to report, not something to skip.
"""

import math
import re

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


class ParseError(ValueError):
    pass


class Sample:
    __slots__ = ("name", "labels", "value", "timestamp")

    def __init__(self, name, labels, value, timestamp=None):
        self.name = name
        self.labels = labels
        self.value = value
        self.timestamp = timestamp

    def key(self):
        return (self.name, tuple(sorted(self.labels.items())))

    def __repr__(self):
        labels = ",".join('%s="%s"' % kv for kv in sorted(self.labels.items()))
        return "%s{%s} %r" % (self.name, labels, self.value)


def parse_value(text):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise ParseError("bad value %r" % text) from None


def _parse_labels(line, pos, lineno):
    """Parse `{a="b",...}` starting at line[pos] == '{'; return (labels, pos after '}')."""
    labels = {}
    pos += 1
    while True:
        while pos < len(line) and line[pos] == " ":
            pos += 1
        if pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        m = LABEL_NAME_RE.match(line, pos)
        if not m:
            raise ParseError("line %d: bad label name at column %d: %r" % (lineno, pos, line))
        name = m.group(0)
        pos = m.end()
        if line[pos:pos + 2] != '="':
            raise ParseError("line %d: expected =\" after label %s: %r" % (lineno, name, line))
        pos += 2
        value = []
        while True:
            if pos >= len(line):
                raise ParseError("line %d: unterminated label value: %r" % (lineno, line))
            c = line[pos]
            if c == "\\":
                if pos + 1 >= len(line) or line[pos + 1] not in ESCAPES:
                    raise ParseError("line %d: bad escape in label value: %r" % (lineno, line))
                value.append(ESCAPES[line[pos + 1]])
                pos += 2
            elif c == '"':
                pos += 1
                break
            else:
                value.append(c)
                pos += 1
        if name in labels:
            raise ParseError("line %d: duplicate label %s" % (lineno, name))
        labels[name] = "".join(value)
        if pos < len(line) and line[pos] == ",":
            pos += 1
        elif pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        else:
            raise ParseError("line %d: expected , or } after label value: %r" % (lineno, line))


class Exposition:
    """Everything one scrape returned."""

    def __init__(self, text=""):
        self.text = text
        self.samples = []
        self.types = {}  # family -> counter/gauge/histogram/summary/untyped
        self.helps = {}  # family -> help text
        self._index = {}

    # -- queries -------------------------------------------------------
    def get(self, name, default=None, **labels):
        """The value of the series with exactly these labels."""
        s = self._index.get((name, tuple(sorted(labels.items()))))
        return default if s is None else s.value

    def select(self, name, **labels):
        """Series of `name` whose labels include the given ones."""
        return [s for s in self.samples if s.name == name and
                all(s.labels.get(k) == v for k, v in labels.items())]

    def sum(self, name, **labels):
        return sum(s.value for s in self.select(name, **labels))

    def names(self):
        return {s.name for s in self.samples}

    def by_label(self, name, *label_names, **labels):
        """{(label values...): value} for the series of `name`."""
        return {tuple(s.labels.get(k, "") for k in label_names): s.value
                for s in self.select(name, **labels)}

    def histograms(self, family, **labels):
        """{labels without le (sorted tuple): {"buckets": [(le, v)...], "sum": x, "count": n}}"""
        out = {}
        for s in self.samples:
            if s.name not in (family + "_bucket", family + "_sum", family + "_count"):
                continue
            if not all(s.labels.get(k) == v for k, v in labels.items()):
                continue
            base = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            h = out.setdefault(base, {"buckets": [], "sum": None, "count": None})
            if s.name.endswith("_bucket"):
                if "le" not in s.labels:
                    raise ParseError("%s without le label" % s.name)
                h["buckets"].append((parse_value(s.labels["le"]), s.value))
            elif s.name.endswith("_sum"):
                h["sum"] = s.value
            else:
                h["count"] = s.value
        for h in out.values():
            h["buckets"].sort(key=lambda b: b[0])
        return out


def parse(text):
    expo = Exposition(text)
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                family = parts[2]
                if not NAME_RE.fullmatch(family):
                    raise ParseError("line %d: bad metric name in %s" % (lineno, parts[1]))
                rest = parts[3] if len(parts) > 3 else ""
                table = expo.helps if parts[1] == "HELP" else expo.types
                if family in table:
                    raise ParseError("line %d: second %s for %s" % (lineno, parts[1], family))
                if parts[1] == "TYPE" and rest not in (
                        "counter", "gauge", "histogram", "summary", "untyped"):
                    raise ParseError("line %d: bad TYPE %r" % (lineno, rest))
                table[family] = rest
            continue
        m = NAME_RE.match(line)
        if not m:
            raise ParseError("line %d: bad metric name: %r" % (lineno, line))
        name = m.group(0)
        pos = m.end()
        labels = {}
        if pos < len(line) and line[pos] == "{":
            labels, pos = _parse_labels(line, pos, lineno)
        rest = line[pos:].split()
        if not rest or len(rest) > 2 or (pos < len(line) and line[pos] != " "):
            raise ParseError("line %d: expected value after series: %r" % (lineno, line))
        value = parse_value(rest[0])
        timestamp = None
        if len(rest) == 2:
            try:
                timestamp = int(rest[1])
            except ValueError:
                raise ParseError("line %d: bad timestamp: %r" % (lineno, line)) from None
        sample = Sample(name, labels, value, timestamp)
        if sample.key() in expo._index:
            raise ParseError("line %d: duplicate series %r" % (lineno, sample))
        expo._index[sample.key()] = sample
        expo.samples.append(sample)
    return expo


def family_of(name, types):
    """The family a sample name belongs to, given the TYPE table."""
    if name in types:
        return name
    for suffix in ("_bucket", "_sum", "_count", "_total", "_created"):
        if name.endswith(suffix) and name[:-len(suffix)] in types:
            return name[:-len(suffix)]
    return name


def counter_deltas(before, after, name, *label_names, **labels):
    """{label values: after - before} for every series of `name` that changed."""
    b = before.by_label(name, *label_names, **labels)
    a = after.by_label(name, *label_names, **labels)
    out = {}
    for k in set(a) | set(b):
        d = a.get(k, 0.0) - b.get(k, 0.0)
        if d != 0:
            out[k] = int(d) if float(d).is_integer() else d
    return out
