"""The train command line (`python -m lib.train`, `sweeplab train`): every RunConfig field as a flag.

Flags take text (`--mix true`, `--t-max none`) that is converted with the field's type, and
`--config FILE.yaml` supplies defaults from a flat mapping of fields (a relative out_dir in it is
taken from the file's folder) or from a sweep file that describes a single run. Every problem becomes
a one-line error; parsing imports no torch, so a bad flag fails at once.
"""

from __future__ import annotations

import argparse
import re
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

from lib.config.runconfig import RUNNER_NOTE, FIELD_TYPES, RunConfig, base_type, field_comments, parse_text
from lib.config.errors import ConfigError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise ConfigError(message)


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description="Train one image classifier. Every RunConfig field is a flag.",
                     argument_default=argparse.SUPPRESS)
    parser.add_argument("--config", metavar="FILE.yaml", help="a flat mapping of fields, or a one-run sweep file")
    from lib.config.runs import RUNNER_KEYS

    helps, defaults = field_comments(), RunConfig().to_dict()
    runner = parser.add_argument_group(f"{RUNNER_NOTE}; a sweep file may not set them")
    for name in [*(k for k in FIELD_TYPES if k not in RUNNER_KEYS), *RUNNER_KEYS]:
        kind, _ = base_type(name)
        metavar = "true|false" if kind is bool else kind.__name__.upper()
        help_ = re.sub(r"^set by the sweep runner: ", "", helps.get(name, ""))  # said once, in the group's title
        (runner if name in RUNNER_KEYS else parser).add_argument(
            f"--{name.replace('_', '-')}", dest=name, metavar=metavar, help=f"{help_} (default: {defaults[name]})")
    return parser


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Field values from a YAML file: a flat mapping, a sweep run's params.yaml (`config: {...}`, what the notebook
    was given; without the runner's keys, so the run trains again on its own, outside the sweep's folder, study
    and W&B group), or a sweep file that expands to one run."""
    from lib.config.runs import CONFIG_PARAMETER, RUNNER_KEYS
    from lib.config.sweepfile import is_sweep, load_sweep
    from lib.config.yamlfile import read_yaml

    raw = read_yaml(path)
    if isinstance(raw, dict) and list(raw) == [CONFIG_PARAMETER] and isinstance(raw[CONFIG_PARAMETER], dict):
        raw = {k: v for k, v in raw[CONFIG_PARAMETER].items() if k not in RUNNER_KEYS}
    if is_sweep(raw) or (isinstance(raw, dict) and "extends" in raw):
        sweep = load_sweep(path)  # with the file it extends
        if len(sweep.runs) != 1:
            raise ConfigError(f"{path} is a sweep of {len(sweep.runs)} runs; run it with "
                              f"`python -m lib.sweep run {path}`, or give a file that describes one run")
        return dict(sweep.runs[0].params)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a mapping of config fields, got {type(raw).__name__}")
    out_dir = raw.get("out_dir")
    if isinstance(out_dir, str) and not Path(out_dir).expanduser().is_absolute():
        # A config file's records go beside it (a report's best.yaml writes best-rerun/ next to itself, wherever
        # the report's folder is moved), not under the project root as a relative path on the command line does.
        raw = {**raw, "out_dir": str(Path(path).resolve().parent / out_dir)}
    return raw


def config_from_argv(argv: list[str] | None, prog: str = "python -m lib.train") -> RunConfig:
    """The config the flags and `--config` file give; prints a `warning:` line per setting they make inert."""
    parser = build_parser(prog)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        flag = unknown[0]
        key = flag.lstrip("-").split("=", 1)[0].replace("-", "_")
        if not flag.startswith("--"):
            raise ConfigError(f"unexpected argument {flag!r}; every setting is a --flag VALUE pair")
        if key in FIELD_TYPES:
            raise ConfigError(f"unknown flag {flag!r}; write it as --{key.replace('_', '-')} VALUE")
        parse_text(key, "")  # raises the unknown-key message with a suggestion
    given = vars(args)
    values: dict[str, Any] = load_config_file(given.pop("config")) if "config" in given else {}
    for name, text in given.items():
        values[name] = parse_text(name, text)
    cfg = RunConfig.from_dict(values)
    for line in cfg.warnings(given=values):
        print(f"warning: {line}", file=sys.stderr)
    return cfg


def main(argv: list[str] | None = None, prog: str = "python -m lib.train") -> int:
    """Train one run from the command line; 2 for a bad flag, 1 when the run cannot start; quiet when the
    reader of its output goes away (lib.core.exits)."""
    from lib.core.exits import quiet_pipe

    return quiet_pipe(lambda: _main(argv, prog))


def _main(argv: list[str] | None, prog: str) -> int:
    try:
        cfg = config_from_argv(argv, prog=prog)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from lib.core.paths import resolve

    out = resolve(cfg.out_dir)
    if out.exists() and not out.is_dir():
        print(f"error: --out-dir {out} is a file, not a folder; give the folder this run's records go in",
              file=sys.stderr)
        return 2
    try:
        from lib.core.records import RunLockedError
        from lib.run.backend import DeviceError
        from lib.run.checkpoints import EarlierRunError
        from lib.run.datasets import DatasetError
        from lib.run.models import WeightsError
        from lib.run.state import RunError
        from lib.run.loop import run

        try:
            result = run(cfg)
        except EarlierRunError as exc:
            print(f"error: {exc.out} holds the records of an earlier run ({', '.join(exc.found)}); nothing was "
                  f"deleted: continue that run with --resume true, or pass a new --out-dir", file=sys.stderr)
            return 1
        except (RunError, DeviceError, DatasetError, WeightsError, RunLockedError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except BrokenPipeError:  # the reader went away: main ends quietly
            raise
        except OSError as exc:  # a full disk, a folder it may not write: what was saved stands
            from lib.core.exits import os_error_line

            print(f"error: {os_error_line(exc)}; fix that: {interrupted_line(cfg, argv, prog)}", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this line short
        print(f"\n{interrupted_line(cfg, argv, prog)}", file=sys.stderr)
        return 130
    print(f"records written to {result.out_dir}/ (config.json, history.csv, metrics.json, checkpoints/)")
    return 0


def interrupted_line(cfg: RunConfig, argv: list[str] | None, prog: str = "python -m lib.train") -> str:
    """What to say after Ctrl-C: the last epoch the run saved (its last.pt), and how to go on from it."""
    from lib.core.layout import LAST
    from lib.core.paths import resolve
    from lib.core.records import load_checkpoint

    out = resolve(cfg.out_dir)
    try:
        checkpoint = load_checkpoint(out / LAST)
        epoch = checkpoint["epoch"] if isinstance(checkpoint, dict) else None
    except Exception:  # no checkpoint yet (or one the resume will say it cannot read)
        epoch = None
    if not isinstance(epoch, int) or epoch < 1:
        return f"stopped before the first epoch was saved in {out}; run the same command to start again"
    args, given = [], list(sys.argv[1:] if argv is None else argv)
    while given:  # the same flags, with --resume true in place of any --resume given
        flag = given.pop(0)
        if flag == "--resume" and given:
            given.pop(0)
        elif not flag.startswith("--resume="):
            args.append(flag)
    command = " ".join([prog, *(shlex.quote(a) for a in args), "--resume", "true"])
    return f"stopped after epoch {epoch} of {cfg.epochs} (saved in {out / LAST}); resume with: {command}"
