#!/usr/bin/env python3
"""Plots load generator results: delivered rate and p99 latency against the offered rate.

    scripts/plot-loadgen.py target/loadgen/b3-kolokol.json target/loadgen/b3-floor.json \
        --out docs/img/b3.svg

Each input is a JSON file written by `kolokol-loadgen run … --out FILE`; each becomes one
series, named after its target, or `LABEL=FILE` to name it. Offered load is in deliveries per
second (messages offered per second times the deliveries each message should make). When the
series span more than two orders of magnitude (Synapse beside Kolokol), the rate axes are
logarithmic. The output is a self-contained SVG with two panels, drawn without any plotting
library so the script runs on a bare machine.
"""

import argparse
import json
import math
from html import escape

WIDTH, HEIGHT = 940, 400
PANEL_W, PANEL_H = 360, 260
MARGIN_LEFT, MARGIN_TOP = 70, 50
COLOURS = ["#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bc4c00"]


def load(arg):
    label, _, path = arg.rpartition("=")
    with open(path, encoding="utf-8") as f:
        run = json.load(f)
    points = [
        (step["offered_deliveries_per_s"], step["delivered_per_s"], step["p99_ms"], step["lost"])
        for step in run["steps"]
        if step["offered_deliveries_per_s"] > 0
    ]
    return label or run["target"], run["scenario"], points


def nice_max(value):
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * exponent:
            return factor * exponent
    return 10 * exponent


def scale(values, log):
    """Maps values to 0..1 on a linear or logarithmic axis; returns the map and the ticks."""
    if log:
        lo = 10 ** math.floor(math.log10(min(values, default=1)))
        hi = 10 ** math.ceil(math.log10(max(values, default=10)))
        if hi <= lo:
            hi = lo * 10
        to = lambda v: (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        return to, [lo * 10 ** i for i in range(int(round(math.log10(hi / lo))) + 1)]
    hi = nice_max(max(values, default=1))
    return (lambda v: v / hi), [hi * i / 4 for i in range(5)]


def wide(values):
    """Whether values span more than two orders of magnitude."""
    positive = [v for v in values if v > 0]
    return bool(positive) and max(positive) / min(positive) > 100


def rate(value):
    return f"{value / 1000:,.0f}k" if value >= 1000 else f"{value:,.0f}"


def panel(x0, title, series, y_of, y_label, log_y=False, y_format=rate):
    """One panel: x is offered deliveries/s, y from `y_of(point)`."""
    parts = []
    xs = [p[0] for _, pts in series for p in pts]
    log_x = wide(xs)
    ys = [y_of(p) for _, pts in series for p in pts if y_of(p) > 0]
    log_y = log_y or wide(ys)
    x_frac, x_ticks = scale(xs, log_x)
    y_frac, ticks = scale(ys, log_y)
    to_x = lambda v: PANEL_W * x_frac(v)
    to_y = lambda v: PANEL_H * (1 - y_frac(v))
    y0 = MARGIN_TOP
    parts.append(f'<g transform="translate({x0},{y0})">')
    parts.append(f'<text x="{PANEL_W / 2}" y="-18" text-anchor="middle" font-weight="bold">'
                 f'{escape(title)}</text>')
    parts.append(f'<rect width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#999"/>')
    for tick in ticks:
        y = to_y(tick)
        parts.append(f'<line x1="0" x2="{PANEL_W}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="-6" y="{y + 4:.1f}" text-anchor="end">{y_format(tick)}</text>')
    for value in x_ticks:
        x = to_x(value)
        parts.append(f'<text x="{x:.1f}" y="{PANEL_H + 16}" text-anchor="middle">'
                     f'{rate(value)}</text>')
    parts.append(f'<text x="{PANEL_W / 2}" y="{PANEL_H + 34}" text-anchor="middle">'
                 f'offered deliveries per second{" (log)" if log_x else ""}</text>')
    parts.append(f'<text transform="translate(-52,{PANEL_H / 2}) rotate(-90)" '
                 f'text-anchor="middle">{escape(y_label)}</text>')
    # The first series is drawn last, on top: it is the one the plot is about.
    for index, (name, points) in reversed(list(enumerate(series))):
        colour = COLOURS[index % len(COLOURS)]
        coords = [(to_x(p[0]), to_y(y_of(p))) for p in points if y_of(p) > 0 or not log_y]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for (x, y), point in zip(coords, points):
            # A hollow marker where messages were lost.
            fill = "white" if point[3] else colour
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{fill}" '
                         f'stroke="{colour}"/>')
    parts.append("</g>")
    return "\n".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+",
                        help="JSON files from kolokol-loadgen --out, each as FILE or LABEL=FILE")
    parser.add_argument("--out", required=True, help="the SVG to write")
    args = parser.parse_args()
    series = []
    scenario = None
    for path in args.results:
        target, scenario, points = load(path)
        series.append((target, points))
    body = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        'font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        panel(MARGIN_LEFT, f"{scenario}: delivered per second", series,
              lambda p: p[1], "delivered per second"),
        panel(MARGIN_LEFT + PANEL_W + 110, f"{scenario}: p99 send → receive (ms, log)", series,
              lambda p: p[2], "p99 latency, ms", log_y=True, y_format=lambda v: f"{v:,.0f}"),
    ]
    legend_y = HEIGHT - 26
    x = MARGIN_LEFT
    for index, (name, _) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        body.append(f'<rect x="{x}" y="{legend_y - 10}" width="14" height="4" fill="{colour}"/>')
        body.append(f'<text x="{x + 20}" y="{legend_y - 5}">{escape(name)}</text>')
        x += 40 + 7 * len(name)
    body.append(f'<text x="{MARGIN_LEFT}" y="{legend_y + 14}" fill="#555">'
                'hollow marker: messages lost in that step</text>')
    body.append("</svg>")
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(body) + "\n")


if __name__ == "__main__":
    main()
