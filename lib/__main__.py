"""`sweeplab` (and `python -m lib`): one command for everything.

    sweeplab run PARAMS.yaml [--workers N] ...     same as python -m lib.sweep run ...
    sweeplab status PARAMS.yaml                    same as python -m lib.sweep status ...
    sweeplab report PARAMS.yaml [MORE.yaml ...]    same as python -m lib.sweep report ...
    sweeplab next PARAMS.yaml [--budget N]         same as python -m lib.sweep next ...
    sweeplab auto PARAMS.yaml --budget RUNS        same as python -m lib.sweep auto ...
    sweeplab train --model lenet --epochs 3 ...    same as python -m lib.train ...

The entry point sits above every layer: it hands `train` to the run layer's command line and the
rest to the sweep layer's, importing only the one it needs (so `sweeplab status` loads no torch).
"""

from __future__ import annotations

import sys

USAGE = ("usage: sweeplab {run,status,report,next,auto,train} ...\n"
         "  run, status, report, next, auto: the sweep commands (sweeplab run --help)\n"
         "  train: one run from the command line (sweeplab train --help)")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    if argv[0] == "train":
        from lib.run.cli import main as train

        return train(argv[1:], prog="sweeplab train")
    from lib.sweep.cli import main as sweep

    return sweep(argv, prog="sweeplab")


if __name__ == "__main__":
    sys.exit(main())
