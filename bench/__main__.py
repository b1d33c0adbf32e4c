"""`make bench`: run every benchmark in turn, each printing its own figures."""
from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ["bench.meet_calls", "bench.fetcher_capacity", "bench.billing_month", "bench.ingest", "bench.freshness",
              "bench.memory", "bench.console_pages"]


def main(names: list[str]) -> int:
    failed = 0
    for module in names or BENCHMARKS:
        print(f"\n=== {module} ===", flush=True)
        failed += subprocess.call([sys.executable, "-m", module]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
