"""The next sweep file as the rules build it (Draft): its sections, a comment per choice, and the edits
rules make to it (a grid axis set or fixed, a follow-up run of a parent run)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from lib.config.naming import seeded, unseeded
from lib.core import values
from lib.core.formatting import is_number, native
from lib.report.proposal.evidence import Evidence

GRID_LEFT = ""  # the comment key of a grid's points written as explicit runs (they have no name)
SEEDED = "_from_seed"  # a follow-up of a seeded run: its parent's run name without the seed, "sweep/config"


@dataclass
class Draft:
    """The next sweep file, as it is being built: sections of an ordinary sweep file, and a comment per choice."""

    name: str
    follows: list[str]  # the sweeps it follows up
    fixed: dict[str, Any]
    grid: dict[str, list] | None = None  # the latest sweep's grid, as the rules change it
    rerun_grid: bool = False  # a rule changed the grid (or what every run of it does): run it again
    runs: list[dict[str, Any]] = field(default_factory=list)  # explicit runs; "from" names the parent run
    seeds: list[int] | None = None
    search: dict[str, Any] | None = None
    early_terminate: dict[str, Any] | None = None
    confirm: dict[str, Any] | None = None
    metric: dict[str, Any] | None = None
    comments: dict[tuple[str, ...], str] = field(default_factory=dict)  # (section, key) -> why
    repeats: list[str] = field(default_factory=list)  # runs left out: finished already (their names)

    def size(self) -> int:
        """Runs the file describes (a search: its trials)."""
        if self.search:
            confirm = self.confirm["top"] * len(self.confirm["seeds"]) if self.confirm else 0
            return int(self.search.get("trials", 0)) + confirm
        grid = math.prod(len(v) for v in self.grid.values()) if self.grid and self.rerun_grid else 0
        return (grid + len(self.runs)) * max(len(self.seeds or []), 1)

    def set_grid(self, axis: str, choices: list | None, comment: str) -> None:
        """Change (None: remove) a grid axis, and run the grid again."""
        if self.grid is None:
            return
        if choices is None:
            self.grid.pop(axis, None)
        else:
            self.grid[axis] = choices
            self.comments[("grid", axis)] = comment
        self.rerun_grid = True

    def vary(self, axis: str, choices: list, comment: str) -> None:
        """Make `axis` a grid axis over `choices` (a grid made where the file had none, a fixed value given up)."""
        if self.grid is None:
            self.grid = {}
        self.fixed.pop(axis, None)
        self.set_grid(axis, choices, comment)

    def fix(self, key: str, value: Any, comment: str) -> None:
        """Fix a parameter for every run of the file (it leaves the grid)."""
        self.fixed[key] = value
        self.comments[("fixed", key)] = comment
        self.set_grid(key, None, comment)

    def follow_up(self, evidence: Evidence, parent: Mapping[str, Any], params: dict[str, Any], comment: str,
                  suffix: str) -> None:
        """Add an explicit run: the parent's recipe with `params` changed, named after it, `from` the parent. A
        search has no explicit runs: its fixed settings change instead."""
        if evidence.base.get("search"):
            self.fixed.update(params)
            for key in params:
                self.comments[("fixed", key)] = comment
            return
        # Exactly the parent's configuration and the stated change: where the draft fixes a setting at another
        # value (a settling rule's), the run keeps its parent's.
        recipe = {**evidence.recipe(parent), **params}
        full = evidence.report.configs.get(parent["run"], {})
        for key, value in self.fixed.items():
            if key not in recipe and key in full and not values.same(full[key], value):
                recipe[key] = native(full[key])
        recipe = {k: v for k, v in recipe.items()
                  if k in params or not (k in self.fixed and values.same(self.fixed[k], v))}
        if any(all(values.same(r.get(k), v) for k, v in recipe.items()) and set(r) - {"name", "from"} == set(recipe)
               for r in self.runs):
            return  # the same run is proposed already
        run = parent["run"].split("/")[-1]
        seed = parent.get("seed")
        config = unseeded(run) if is_number(seed) and run == seeded(unseeded(run), int(seed)) else run
        name = f"{config}-{suffix}"
        taken = {r["name"] for r in self.runs}
        while name in taken:
            name += "x"
        entry = {"name": name, "from": f"{parent['sweep']}/{run}", **recipe}
        if config != run and "seed" not in params:  # each seed of the follow-up follows the run of that seed
            entry[SEEDED] = f"{parent['sweep']}/{config}"
        self.runs.append(entry)
        self.comments[("runs", name)] = comment

    def spell_out_seeds(self) -> None:
        """`seeds` multiplies every run, so a file whose explicit runs choose their own seeds gives the others
        theirs: a `seed` grid axis, and each explicit run without a seed once per seed."""
        seeds, self.seeds = self.seeds, None
        if self.grid is not None:
            self.grid["seed"] = list(seeds)
        runs = []
        for run in self.runs:
            if "seed" in run:
                runs.append(run)
                continue
            for seed in seeds:
                copy = {**run, "name": seeded(run["name"], seed), "seed": seed}
                if SEEDED in run:
                    copy["from"] = seeded(run[SEEDED], seed)
                runs.append(copy)
                if ("runs", run["name"]) in self.comments:
                    self.comments[("runs", copy["name"])] = self.comments[("runs", run["name"])]
        self.runs = runs
