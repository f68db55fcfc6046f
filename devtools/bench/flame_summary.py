"""``python -m devtools.bench.flame_summary docs/perf/X.svg [--top N] [--match TEXT]``:
a py-spy flame graph as text, busy time only.

py-spy also samples threads that wait (aiosqlite's connection threads in ``queue.get``,
the event loop in ``select``, thread pools on their condition): those samples are dropped
here, so a frame's share is of the process's *busy* samples. Prints, per frame (function
and file:line), the share of busy samples whose stack contains it (inclusive) and the
share spent in it (self), and per package (the first folder of the file), the share of
busy samples whose leaf is in it.
"""

from __future__ import annotations

import argparse
import html
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

_FRAME = re.compile(
    r'<g><title>(?P<title>[^<]*)</title><rect x="[^"]*" y="(?P<y>[\d.]+)"[^>]*'
    r'fg:x="(?P<x>\d+)" fg:w="(?P<w>\d+)"'
)
_NAME = re.compile(r"^(?P<name>.*) \([\d,]+ samples?, [\d.]+%\)$")
# Leaves that are a thread waiting, not working.
IDLE_LEAVES = (
    "select (selectors.py",
    "_connection_worker_thread (aiosqlite/core.py:59)",
    "wait (threading.py",
    "Queue.get (queue.py",
    "_worker (concurrent/futures/thread.py:81)",
    "run_forever",
)


@dataclass
class Frame:
    name: str
    x: int
    w: int
    depth: int
    children: list[Frame] = field(default_factory=list)

    @property
    def self_samples(self) -> int:
        return self.w - sum(c.w for c in self.children)


def load(path: Path) -> list[Frame]:
    raw = []
    for m in _FRAME.finditer(path.read_text()):
        title = html.unescape(m.group("title"))
        named = _NAME.match(title)
        raw.append(
            (named.group("name") if named else title, int(m["x"]), int(m["w"]), float(m["y"]))
        )
    # Depth from the y coordinate (py-spy draws the root at the top).
    ys = sorted({y for *_, y in raw})
    depth = {y: i for i, y in enumerate(ys)}
    frames = sorted((Frame(n, x, w, depth[y]) for n, x, w, y in raw), key=lambda f: (f.depth, f.x))
    by_depth: dict[int, list[Frame]] = {}
    for frame in frames:
        by_depth.setdefault(frame.depth, []).append(frame)
        for parent in by_depth.get(frame.depth - 1, []):
            if parent.x <= frame.x < parent.x + parent.w:
                parent.children.append(frame)
                break
    return by_depth.get(0, [])


def _is_idle(name: str) -> bool:
    return any(marker in name for marker in IDLE_LEAVES)


def summarize(roots: list[Frame]) -> tuple[int, Counter[str], Counter[str], Counter[str]]:
    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    busy = 0

    def walk(frame: Frame, stack: tuple[str, ...]) -> None:
        nonlocal busy
        stack = (*stack, frame.name)
        own = frame.self_samples
        if own > 0 and not _is_idle(frame.name):
            busy += own
            self_time[frame.name] += own
            for name in set(stack):
                inclusive[name] += own
            file = frame.name.rsplit("(", 1)[-1]
            packages[file.split("/", 1)[0].split(".py", 1)[0].split(":", 1)[0]] += own
        for child in frame.children:
            walk(child, stack)

    for root in roots:
        walk(root, ())
    return busy, inclusive, self_time, packages


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench.flame_summary")
    parser.add_argument("svg", type=Path, nargs="+")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--match", help="only frames whose name contains this")
    args = parser.parse_args()
    for path in args.svg:
        busy, inclusive, self_time, packages = summarize(load(path))
        print(f"== {path}: {busy} busy samples")
        print("-- packages (leaf frames):")
        for name, n in packages.most_common(15):
            print(f"{100 * n / busy:6.1f}%  {name}")
        print("-- frames: inclusive% self%")
        shown = 0
        for name, n in inclusive.most_common():
            if args.match and args.match not in name:
                continue
            print(f"{100 * n / busy:6.1f}% {100 * self_time[name] / busy:5.1f}%  {name[:140]}")
            shown += 1
            if shown >= args.top:
                break


if __name__ == "__main__":
    main()
