"""``python -m bench NAME [options]`` / ``python -m bench --list``."""

from __future__ import annotations

import argparse
import importlib
import json
import sys

# name -> (module, one-line description); each module has add_arguments(parser) and run(args).
BENCHMARKS = {
    "http": ("bench.http", "login and GET /api/points throughput and latency on SQLite"),
    "signaling": ("bench.signaling", "N points in a live room: join time, fan-out latency, CPU"),
    "media": ("bench.media", "one publisher, N subscribers: server CPU per subscriber, fps"),
    "documents": (
        "bench.documents",
        "N points download their watermarked agenda pack (cold, cached, static); page images",
    ),
    "signing": (
        "bench.signing",
        "three approvals of a 10-page minutes PDF through the server vs pyHanko alone",
    ),
    "chaos": (
        "bench.chaos",
        "N points on two processes + Redis while clients drop, a server is killed, Redis "
        "restarts: nothing lost",
    ),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("--list", "-l"):
        for name, (_, description) in BENCHMARKS.items():
            print(f"{name}\t{description}")
        return 0 if argv else 2
    name = argv[0]
    if name not in BENCHMARKS:
        print(f"unknown benchmark {name!r}; `python -m bench --list` lists them", file=sys.stderr)
        return 2
    module = importlib.import_module(BENCHMARKS[name][0])
    parser = argparse.ArgumentParser(
        prog=f"python -m bench {name}", description=BENCHMARKS[name][1]
    )
    module.add_arguments(parser)
    figures = module.run(parser.parse_args(argv[1:]))
    print(json.dumps(figures, sort_keys=True))
    # A benchmark that checks what it did (chaos) says "ok": false when something was lost.
    return 1 if figures.get("ok") is False else 0


if __name__ == "__main__":
    sys.exit(main())
