"""A sweep run's config, assembled in one place: RunConfig's defaults, then the sweep file's values,
then what the runner sets for every run (its folder, its name, its trial). Nothing else supplies a
default, and a sweep file that sets a runner key is refused (lib.config.sweepfile).
"""

from __future__ import annotations

from typing import Any, Mapping

from lib.core.storage import TrialRef
from lib.config.runconfig import RUNNER_FIELDS, RunConfig

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


def config_key(params: Mapping[str, Any]) -> str:
    """A configuration's identity: its parameters without the seed (seeds are replicates of it)."""
    return repr(sorted((k, v) for k, v in params.items() if k != "seed"))
