"""`sweeplab` (and `python -m lib`): one command for everything.

    sweeplab run PARAMS.yaml [--workers N] ...     same as python -m lib.sweep run ...
    sweeplab train --model lenet --epochs 3 ...    same as python -m lib.train ...

and every other sweep command (`sweeplab --help` lists them, from the sweep parser). The entry
point sits above every layer: it hands `train` to the run layer's command line and the rest to the
sweep layer's, so `sweeplab train` loads nothing of the sweep layer's beyond its parser, and
`sweeplab status` no torch.
"""

from __future__ import annotations

import argparse
import sys

TRAIN_HELP = "train one run from the command line: every RunConfig field is a flag (sweeplab train --help)"


def build_parser() -> argparse.ArgumentParser:
    """The sweep command line's parser with `train` added: its usage line and its `invalid choice` error
    list every subcommand there is."""
    from lib.sweep.cli import build_parser as sweep_parser

    parser = sweep_parser("sweeplab")
    parser.description = "Notebook-first hyperparameter sweeps for image classifiers."
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    subcommands.add_parser("train", help=TRAIN_HELP, add_help=False)  # `sweeplab train --help` is lib.train's
    return parser


def main(argv: list[str] | None = None) -> int:
    from lib.core.exits import quiet_pipe

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "train":
        from lib.run.cli import main as train

        return train(argv[1:], prog="sweeplab train")
    parser = build_parser()
    if not argv:  # a bare `sweeplab` asks what there is
        return quiet_pipe(lambda: parser.print_help() or 0)
    from lib.sweep.cli import main as sweep

    return sweep(argv, parser=parser)


if __name__ == "__main__":
    sys.exit(main())
