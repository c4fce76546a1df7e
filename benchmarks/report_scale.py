"""How the report and the sweep commands scale: 16, 100 and 1,000 finished runs, records written directly.

    python -m benchmarks.report_scale [--sizes 16 100 1000] [--quick] [--out FILE.json] [--keep DIR]

Each size is a grid on digits whose records benchmarks.synthetic writes (no training): 16 runs are the
demo's 2 x 2 x 2 x 2 shape, 100 a 25-value learning rate x 2 x 2, and 1,000 the 25 x 2 x 2 x 2 grid
with 5 seeds. For each it times `python -m lib.sweep report` as a user runs it (wall and CPU seconds
of the command and its children), measures report.html and report.ipynb, and counts the lines that
`status` and `run --dry-run` print (and their longest line). Writes the JSON and prints a table. The
sweeps are written to a temporary folder, or to `--keep DIR` (an empty or new folder) to look at them.
`--quick` checks that it runs, in about 20 s: the 16-run size only, written to report_scale-quick.json;
tests/test_benchmarks.py runs it.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.synthetic import Outcome, write_sweep
from benchmarks import ROOT, results_path
from lib.core.layout import REPORT_HTML, REPORT_NOTEBOOK
from lib.core.formatting import timestamp
from lib.core.records import write_json

LRS = [round(10 ** (-4 + 3 * i / 24), 6) for i in range(25)]  # 25 log-spaced values from 1e-4 to 0.1
SWEEPS = {
    16: {"grid": {"model": ["lenet", "mlp"], "optimizer": ["sgd", "adam"], "mix": [False, True],
                  "lr": [0.01, 0.1]}},
    100: {"grid": {"lr": LRS, "model": ["lenet", "mlp"], "optimizer": ["sgd", "adam"]}},
    1000: {"grid": {"lr": LRS, "model": ["lenet", "mlp"], "optimizer": ["sgd", "adam"], "mix": [False, True]},
           "seeds": [0, 1, 2, 3, 4]},
}


def outcome(params) -> Outcome:
    """A plausible result: a best learning rate near 0.01, LeNet and Adam ahead, mixing a little behind,
    and seed-to-seed noise of half a point."""
    rng = random.Random(repr(sorted(params.items())))
    acc = 0.86 - 0.03 * (math.log10(params.get("lr", 0.01)) + 2) ** 2 + 0.03 * (params.get("model") == "lenet") \
        + 0.01 * (params.get("optimizer") == "adam") - 0.004 * bool(params.get("mix")) + rng.gauss(0, 0.005)
    return Outcome(val_acc=min(0.99, max(0.1, acc)), best_epoch=rng.randint(6, 10))


def sweep_file(size: int) -> str:
    import yaml

    spec = {"name": f"scale{size}", "fixed": {"dataset": "digits", "epochs": 10}, **SWEEPS[size]}
    return yaml.safe_dump(spec, sort_keys=False)


def timed(command: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds and CPU seconds (the command's children included) of a command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr.strip().splitlines()[-1:]}")
    return wall, cpu, result


def measure(size: int, tmp: Path) -> dict:
    reports = tmp / "reports"
    path = tmp / f"scale{size}.yaml"
    sweep = write_sweep(path, sweep_file(size), reports / f"scale{size}", outcome)
    sweep_cli = [sys.executable, "-m", "lib.sweep"]
    wall, cpu, _ = timed([*sweep_cli, "report", str(path), "--reports-dir", str(reports)])
    root = reports / sweep.name
    _, _, status = timed([*sweep_cli, "status", str(path), "--reports-dir", str(reports)])
    _, _, dry = timed([*sweep_cli, "run", str(path), "--dry-run", "--reports-dir", str(reports)])
    out = {"runs": len(sweep.runs), "report_s": round(wall, 2), "report_cpu_s": round(cpu, 2),
           "html_mb": round((root / REPORT_HTML).stat().st_size / 1e6, 2),
           "notebook_mb": round((root / REPORT_NOTEBOOK).stat().st_size / 1e6, 2)}
    for name, result in (("status", status), ("dry_run", dry)):
        lines = (result.stdout + result.stderr).splitlines()
        out[f"{name}_lines"] = len(lines)
        out[f"{name}_longest_line"] = max((len(line) for line in lines), default=0)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=sorted(SWEEPS), choices=sorted(SWEEPS))
    parser.add_argument("--quick", action="store_true",
                        help="the 16-run size only: checks that it runs (writes report_scale-quick.json)")
    parser.add_argument("--out", help="default reports/benchmarks/report_scale.json (--quick: report_scale-quick.json)")
    parser.add_argument("--keep", metavar="DIR", help="write the sweeps and their reports here (an empty or new "
                        "folder) instead of a temporary folder")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes = [min(SWEEPS)]
    args.out = args.out or str(results_path("report_scale", args.quick))
    keep = Path(args.keep) if args.keep else None
    if keep is not None and keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
        parser.error(f"--keep {keep}: give an empty or new folder (this one holds files, which it would mix with)")
    os.environ.setdefault("WANDB_MODE", "disabled")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        where = keep or Path(tmp)
        for size in args.sizes:
            print(f"{size} runs ...", flush=True)
            results.append(measure(size, where / str(size)))
    columns = list(results[0])
    print("  ".join(f"{c:>14}" for c in columns))
    for row in results:
        print("  ".join(f"{row[c]:>14}" for c in columns))
    write_json(args.out, {"quick": args.quick, "cpus": len(os.sched_getaffinity(0)), "load_average": os.getloadavg(),
                          "time": timestamp(), "results": results})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
