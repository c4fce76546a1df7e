"""A sweep run's config, assembled in one place: RunConfig's defaults, then the sweep file's values,
then what the runner sets for every run (its folder, its name, its trial). Nothing else supplies a
default, and a sweep file that sets a runner key is refused (lib.config.sweepfile).

A run's config is validated once, where the run is planned (`RunSpec.config`); from there it travels as
data: `placed` sets where it runs, the executor's task carries its `to_dict()`, and the training notebook
gets that dict as its one parameter `config` (CONFIG_PARAMETER), which it turns into a RunConfig once.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from lib.core.storage import TrialRef
from lib.config.runconfig import RUNNER_FIELDS, RunConfig

CONFIG_PARAMETER = "config"  # the training notebook's parameter that carries a run's whole config, as a dict
MAX_RUNS = 10_000  # a sweep larger than this is refused unless --max-runs raises the cap
# Sweep runs log to W&B in `auto` mode (offline without credentials) unless the file sets wandb_mode.
SWEEP_DEFAULTS = {"wandb_mode": "auto"}


def runner_values(sweep: str, run: str, out_dir: str, trial: TrialRef | None = None) -> dict[str, Any]:
    """What the runner sets for every run of a sweep. `trial`: the study trial the run reports to, for
    sweeps that search or stop runs early."""
    return {"out_dir": out_dir, "resume": True, "run_name": run, "wandb_group": sweep, "progress": False,
            "study": trial and trial.storage, "study_name": trial and trial.study_name,
            "trial": trial and trial.number}


RUNNER_KEYS = RUNNER_FIELDS  # what runner_values sets (tests/test_command_line.py keeps the two together)


def run_config(sweep: str, run: str, params: Mapping[str, Any], out_dir: str = "unused",
               trial: TrialRef | None = None) -> RunConfig:
    """The validated config one run of a sweep executes with (ConfigError when its values are impossible)."""
    return RunConfig.from_dict({**SWEEP_DEFAULTS, **params, **runner_values(sweep, run, out_dir, trial)})


def placed(config: RunConfig, out_dir: str, trial: TrialRef | None = None) -> RunConfig:
    """A validated run config where it executes: the runner's folder and study trial set without a second
    `from_dict` (dataclasses.replace checks nothing). Those are the runner's own values (a resolved folder; a
    trial of the sweep's study), which none of RunConfig's checks can refuse, so the config stays the one the
    sweep validated."""
    place = runner_values(config.wandb_group, config.run_name, out_dir, trial)
    return dataclasses.replace(config, **{k: place[k] for k in ("out_dir", "study", "study_name", "trial")})


def config_key(params: Mapping[str, Any]) -> str:
    """A configuration's identity: its parameters without the seed (seeds are replicates of it)."""
    return repr(sorted((k, v) for k, v in params.items() if k != "seed"))
