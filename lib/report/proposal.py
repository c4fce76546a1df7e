"""What to run next: a follow-up sweep file written from a report's evidence, one small rule at a time.

Each rule reads the report (its runs, their flags, the pooled effects, the configurations tied with
the best) and proposes changes to the latest sweep, each with a one-line reason stating its numbers.
The rules, in the order a budget keeps them:

- pretrained_size: an ImageNet-pretrained model trained on inputs much smaller than 224 px gets a run
  of its best configuration at `input_size: 224`.
- combine: the pooled model's best value of each numeric parameter has not run together (an lr explored at
  few epochs, epochs at another lr): a run of the best configuration with those values.
- not_converged: a model's best configuration had its best epoch in the last third of its epochs
  while still improving: a run of it with `epochs` doubled (`t_max` kept equal to `epochs` for
  cosine, early-stopping `patience` doubled too, so it cannot end the longer run early).
- edge: the best configuration sits at the smallest or largest value of a numeric grid axis (of two
  values, only when the pooled model calls the difference): the axis is extended one step beyond it on
  its own spacing (log or linear), keeping the best value and its neighbour.
- refine: the best configuration sits inside a log-spaced numeric axis between values at least REFINE_RATIO
  apart: the geometric midpoints on either side of it are tried.
- narrow_search: a search's space is narrowed around its best trials, and it continues with more trials.
- too_close: configurations not distinguishable from the best are run again with more seeds.
- stopped_before_annealed: early stopping ended cosine runs before their rate annealed: early stopping off.
- inert: settings that the warnings show cannot act are dropped.
- no_effect: a parameter whose every effect CI lies within ± NO_EFFECT_BAND is fixed at its cheaper
  or default value and leaves the grid.
- worse_values: a value of a categorical parameter that loses to another value of it, significantly after
  Holm's correction and interacting with nothing significantly, leaves the grid (when another axis remains
  to compare), unless the best configuration or one tied with it uses it. Numbers are the edge rule's.

A proposal is a sweep file of the ordinary kind: `python -m lib.sweep run` and `--dry-run` take it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from lib.core.formatting import as_float, is_bool, is_missing, is_number
from lib.core.records import FINISHED_STATUSES, RANKED_STATUSES
from lib.report.analysis import analysis_of, statistics_runs
from lib.report.load import SweepReport, value_label
from lib.report.design import ALPHA
from lib.report.diagnostics import best_value, edges, level_scores
from lib.config.runconfig import COMPUTE_FIELDS, RunConfig, limit_problem
from lib.config.errors import ConfigError
from lib.config.runs import RUNNER_KEYS, run_config

NO_EFFECT_BAND = 0.005  # 0.5 points of validation accuracy: an effect confidently inside this is none
LATE_BEST = 2 / 3  # a best epoch after this share of the epochs run: the run was still improving
EPOCH_FACTOR = 2  # not_converged: epochs (and t_max, patience) times this
PRETRAINED_SIZE = 224  # the input side ImageNet weights were trained at
SMALL_INPUT = 112  # inputs at most this side are "much smaller" than PRETRAINED_SIZE
NATIVE_SIZE = {"digits": 8, "mnist": 28, "fashion_mnist": 28, "cifar10": 32, "cifar100": 32}
MAX_LOG_STEP = 10.0  # a log axis is extended by its own ratio, at most one decade
CONFIRM_SEEDS = 2  # too_close: extra seeds per configuration
CONFIRM_MAX = 5  # too_close: at most this many configurations besides the best
TIE_SEEDS = 6  # too_close: configurations still tied with this many seeds each are tied for practical purposes
# Rules that settle a setting for every run: applied before the rules that add runs, which then use them.
SETTLING = ("inert", "no_effect", "worse_values", "stopped_before_annealed")
# Precedence: a settling rule that fixes a parameter overrules any other rule's change of that parameter (an
# edge extended, epochs doubled): what is settled is not explored in the same proposal. The rest are cut to a
# budget by RULE_VALUE, and a run already finished in the sweeps read is never proposed again.
# A rule's weight when a budget must cut: the lowest go first.
RULE_VALUE = {"pretrained_size": 90, "combine": 85, "not_converged": 80, "edge": 70, "refine": 68, "narrow_search": 65, "too_close": 60,
              "stopped_before_annealed": 50, "inert": 40, "no_effect": 40, "worse_values": 40}


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

    def set_grid(self, axis: str, values: list | None, comment: str) -> None:
        """Change (None: remove) a grid axis, and run the grid again."""
        if self.grid is None:
            return
        if values is None:
            self.grid.pop(axis, None)
        else:
            self.grid[axis] = values
            self.comments[("grid", axis)] = comment
        self.rerun_grid = True

    def fix(self, key: str, value: Any, comment: str) -> None:
        """Fix a parameter for every run of the file (it leaves the grid)."""
        self.fixed[key] = value
        self.comments[("fixed", key)] = comment
        self.set_grid(key, None, comment)


@dataclass
class Change:
    """One proposed change: the rule, what it does and why in one line, and how it edits the draft."""

    rule: str
    line: str  # printed, and written as the comment beside the choice
    apply: Callable[[Draft], None]
    params: tuple[str, ...] = ()  # the parameters it fixes (a settling rule) or changes (any other)

    @property
    def value(self) -> int:
        return RULE_VALUE[self.rule]


@dataclass
class Proposal:
    changes: list[Change]  # kept, most valuable first
    cut: list[Change]  # left out to fit the budget
    draft: Draft | None  # None: no rule fired, or every run it called for finished already
    overruled: list[tuple[Change, Change]] = field(default_factory=list)  # (change, the settling one that won)
    done: list[Change] = field(default_factory=list)  # every run it called for finished already
    repeats: list[str] = field(default_factory=list)  # runs left out: their configuration finished already

    def lines(self) -> list[str]:
        out = [f"{c.rule}: {c.line}" for c in self.changes]
        out += [f"not proposed ({c.rule} on {', '.join(c.params)}): overruled by {winner.rule}, which settles "
                f"{', '.join(p for p in c.params if p in winner.params)} (a settled parameter is not explored)"
                for c, winner in self.overruled]
        out += [f"nothing new ({c.rule}): every run it calls for finished already or another change proposes it: "
                f"{c.line}" for c in self.done]
        if self.repeats:
            shown = ", ".join(self.repeats[:5]) + (f" and {len(self.repeats) - 5} more" if len(self.repeats) > 5
                                                   else "")
            out.append(f"left out: {len(self.repeats)} run(s) whose configuration (seed included) finished "
                       f"already: {shown}")
        out += [f"cut to fit the budget ({c.rule}): {c.line}" for c in self.cut]
        if self.draft is None:
            out.append("no rule fired: " + NOTHING if not (self.done or self.overruled or self.cut) else
                       "nothing new to run: every run the rules call for finished already")
        return out


GRID_LEFT = ""  # the comment key of a grid's points written as explicit runs (they have no name)
SEEDED = "_from_seed"  # a follow-up of a seeded run: its parent by seed, "sweep/config-seed{seed}"
NOTHING = ("no axis's best sits at its edge, the best runs converged, no setting is inert or without effect, "
           "and the best configuration is distinguishable from the rest")


# ---------------------------------------------------------------------------------------------
# What the rules read


@dataclass
class Evidence:
    """The report and what the latest sweep file said: the base every change edits."""

    report: SweepReport
    base: Mapping[str, Any]  # the latest sweep's effective mapping: fixed, grid, runs, seeds, search, ...
    sweep: str  # its name

    @property
    def ranked(self) -> pd.DataFrame:
        """The ranked runs, with a column for each linked grid axis (the statistics' factors)."""
        runs, _ = statistics_runs(self.report)
        ranked = self.report.ranked
        return runs.loc[ranked.index]

    @property
    def factors(self) -> list[str]:
        return analysis_of(self.report).params

    @property
    def configs(self) -> pd.DataFrame:
        return analysis_of(self.report).configs

    @property
    def effects(self) -> pd.DataFrame:
        return analysis_of(self.report).effects

    def fixed(self) -> dict[str, Any]:
        fixed = dict(self.base.get("fixed") or {})
        if not self.base.get("grid"):  # values every grid run of the file shares are fixed for it
            runs = self._grid_runs()
            fixed.update({k: v for k, v in (runs[0] if runs else {}).items()
                          if k != "seed" and all(k in r and _same(r[k], v) for r in runs)})
        return fixed

    def grid(self) -> dict[str, list]:
        """The latest sweep's grid; for a file without one, whose runs (those without `from`) were a grid of
        which some points had finished before (`next` writes such a file), the grid they span."""
        if self.base.get("grid"):
            return {k: list(v) for k, v in self.base["grid"].items()}
        runs = self._grid_runs()
        keys = list(dict.fromkeys(k for r in runs for k in r if k != "seed"))
        grid = {}
        for key in keys:
            values = [r.get(key) for r in runs]
            if any(isinstance(v, (dict, list)) for v in values) or key not in runs[0]:
                continue
            distinct = []
            for v in values:
                if not any(_same(v, d) for d in distinct):
                    distinct.append(v)
            if len(distinct) > 1 and all(key in r for r in runs):
                grid[key] = sorted(distinct) if all(is_number(v) for v in distinct) else distinct
        return grid

    def seeds(self) -> list[int] | None:
        if self.base.get("seeds"):
            return list(self.base["seeds"])
        if self.base.get("grid"):
            return list(self.base["grid"]["seed"]) if "seed" in self.base["grid"] else None
        seeds = sorted({int(r["seed"]) for r in self._grid_runs() if is_number(r.get("seed"))})
        return seeds or None

    def _grid_runs(self) -> list[dict[str, Any]]:
        if self.base.get("search"):
            return []
        return [{k: v for k, v in r.items() if k != "name"} for r in (self.base.get("runs") or [])
                if isinstance(r, dict) and not r.get("from")]


def _points(fraction: float) -> str:
    return f"{100 * fraction:.1f}"


def _value_text(value: Any) -> str:
    if is_missing(value):
        return "None"
    if is_bool(value):
        return "true" if value else "false"
    if is_number(value):
        return f"{value:g}"
    return str(value)


def _best_config_of(evidence: Evidence, model: str | None = None) -> pd.Series | None:
    """The configurations table's best row (of those whose runs are of `model`, when given)."""
    configs = evidence.configs
    for _, row in configs.iterrows():
        if model is None or set(_runs_of(evidence, row).get("model", [])) == {model}:
            return row
    return None


def _runs_of(evidence: Evidence, row: pd.Series) -> pd.DataFrame:
    """The ranked runs of one configuration (its factors' values, any seed)."""
    runs = evidence.ranked
    factors = [p for p in evidence.factors if p in row.index and p in runs]
    if evidence.report.derived.proposal_keys is None:  # each ranked run's factor values, as one key, once
        evidence.report.derived.proposal_keys = pd.Series(
            ["\x1f".join(value_label(v) for v in values) for values in runs[factors].itertuples(index=False)],
            index=runs.index)
    key = "\x1f".join(value_label(row[p]) for p in factors)
    return runs[evidence.report.derived.proposal_keys == key]


def _same(a: Any, b: Any) -> bool:
    if is_missing(a) and is_missing(b):
        return True
    if is_bool(a) or is_bool(b):
        return is_bool(a) and is_bool(b) and bool(a) == bool(b)
    if is_number(a) and is_number(b):
        return float(a) == float(b)
    return a == b


def _recipe(evidence: Evidence, run: Mapping[str, Any]) -> dict[str, Any]:
    """A run's parameters as a sweep file gives them: what its sweep varied and fixed, seed aside."""
    config = evidence.report.configs.get(run["run"], {})
    keys = [k for k in evidence.report.given.get(run["run"], []) if k != "seed"]
    keys += [k for k in evidence.report.params if k not in keys]
    return {k: _plain(config.get(k, run.get(k))) for k in keys if k in config or k in run}


def _plain(value: Any) -> Any:
    if is_missing(value):
        return None
    if is_bool(value):
        return bool(value)
    if is_number(value):
        return int(value) if float(value).is_integer() and not isinstance(value, float) else float(value)
    return value


def _follow_up(draft: Draft, parent: Mapping[str, Any], params: dict[str, Any], evidence: Evidence,
               comment: str, suffix: str) -> None:
    """Add an explicit run: the parent's recipe with `params` changed, named after it, `from` the parent. A
    search has no explicit runs: its fixed settings change instead."""
    if evidence.base.get("search"):
        draft.fixed.update(params)
        for key in params:
            draft.comments[("fixed", key)] = comment
        return
    # Exactly the parent's configuration and the stated change: where the draft fixes a setting at another
    # value (a settling rule's), the run keeps its parent's.
    recipe = {**_recipe(evidence, parent), **params}
    full = evidence.report.configs.get(parent["run"], {})
    for key, value in draft.fixed.items():
        if key not in recipe and key in full and not _same(full[key], value):
            recipe[key] = _plain(full[key])
    recipe = {k: v for k, v in recipe.items() if k in params or not (k in draft.fixed and _same(draft.fixed[k], v))}
    if any(all(_same(r.get(k), v) for k, v in recipe.items()) and set(r) - {"name", "from"} == set(recipe)
           for r in draft.runs):
        return  # the same run is proposed already
    run = parent["run"].split("/")[-1]
    seed_part = f"-seed{int(parent['seed'])}" if is_number(parent.get("seed")) else None
    config = run.removesuffix(seed_part) if seed_part and run.endswith(seed_part) else run
    name = f"{config}-{suffix}"
    taken = {r["name"] for r in draft.runs}
    while name in taken:
        name += "x"
    entry = {"name": name, "from": f"{parent['sweep']}/{run}", **recipe}
    if config != run and "seed" not in params:  # each seed of the follow-up follows the run of that seed
        entry[SEEDED] = f"{parent['sweep']}/{config}-seed{{seed}}"
    draft.runs.append(entry)
    draft.comments[("runs", name)] = comment


# ---------------------------------------------------------------------------------------------
# The rules


def pretrained_size(evidence: Evidence) -> list[Change]:
    """An ImageNet-pretrained model trained far below 224 px: its best configuration at input_size 224."""
    runs = evidence.ranked
    if "model" not in runs or runs.empty:
        return []
    changes = []
    overall = runs["val_acc"].max()
    for model in dict.fromkeys(runs["model"]):
        mine = runs[(runs["model"] == model) & runs["pretrained"].fillna(False).astype(bool)]
        if mine.empty:
            continue
        best = mine.sort_values("val_acc", ascending=False).iloc[0]
        side = as_float(best.get("input_size"), as_float(NATIVE_SIZE.get(best.get("dataset")), math.nan))
        if not side <= SMALL_INPUT:
            continue
        behind = overall - best["val_acc"]
        leader = runs.sort_values("val_acc", ascending=False).iloc[0]
        gap = (f", {_points(behind)} points behind the best run ({leader['run']})" if behind > 0 else "")
        line = (f"{model} with pretrained weights was trained at {side:g} px, far below the {PRETRAINED_SIZE} px "
                f"its ImageNet weights expect: its best run {best['run']} reached val acc "
                f"{best['val_acc']:.3f}{gap}; it runs again at input_size {PRETRAINED_SIZE}")

        def apply(draft: Draft, best=best, line=line) -> None:
            _follow_up(draft, best, {"input_size": PRETRAINED_SIZE}, evidence, line, f"in{PRETRAINED_SIZE}")

        changes.append(Change("pretrained_size", line, apply, ("input_size",)))
    return changes


def not_converged(evidence: Evidence) -> list[Change]:
    """A model's best configuration still improving at the end: a run of it with twice the epochs."""
    changes = []
    models = list(dict.fromkeys(evidence.ranked["model"])) if "model" in evidence.ranked else [None]
    for model in models:
        row = _best_config_of(evidence, model)
        if row is None:
            continue
        runs = _runs_of(evidence, row)
        runs = runs[runs["status"] == "completed"]
        if runs.empty:
            continue
        best_epochs = [int(b) for b in runs["best_epoch"] if is_number(b)]
        ran = [int(e) for e in runs["epochs_run"] if is_number(e)]
        if not best_epochs or len(best_epochs) != len(ran) or any(b <= LATE_BEST * e for b, e in zip(best_epochs, ran)):
            continue
        parent = runs.sort_values("val_acc", ascending=False).iloc[0]
        epochs = int(parent["epochs"])
        params: dict[str, Any] = {"epochs": epochs * EPOCH_FACTOR}
        extra = []
        if parent.get("scheduler") == "cosine" and is_number(parent.get("t_max")):
            params["t_max"] = int(parent["t_max"]) * EPOCH_FACTOR
            extra.append(f"t_max {int(parent['t_max'])} -> {params['t_max']}")
        elif parent.get("scheduler") == "cosine":
            extra.append("t_max follows epochs")
        if bool(parent.get("early_stopping")):
            params["patience"] = int(parent["patience"]) * EPOCH_FACTOR
            extra.append(f"patience {int(parent['patience'])} -> {params['patience']}")
        what = f"{model}'s best configuration" if model else "the best configuration"
        line = (f"{what} ({row['config']}) had its best epoch at {', '.join(map(str, sorted(best_epochs)))} of "
                f"{', '.join(map(str, sorted(set(ran))))} epochs: still improving near the end; it runs again with "
                f"epochs {epochs} -> {params['epochs']}" + (f" ({', '.join(extra)})" if extra else ""))

        def apply(draft: Draft, parent=parent, params=params, line=line) -> None:
            _follow_up(draft, parent, params, evidence, line, f"ep{params['epochs']}")

        changes.append(Change("not_converged", line, apply, tuple(params)))
    return changes


def _spacing(values: Sequence[float]) -> str:
    """'log' for positive values spanning a decade or more, else 'linear'."""
    return "log" if min(values) > 0 and max(values) / min(values) >= 10 else "linear"


def _step_beyond(values: list[float], upward: bool, whole: bool) -> tuple[float, str]:
    ordered = sorted(values)
    edge, neighbour = (ordered[-1], ordered[-2]) if upward else (ordered[0], ordered[1])
    if _spacing(ordered) == "log":
        ratio = min(max(edge, neighbour) / min(edge, neighbour), MAX_LOG_STEP)
        new = edge * ratio if upward else edge / ratio
        how = f"one step on the same log scale (x{ratio:g})"
    else:
        step = abs(edge - neighbour)
        new = edge + step if upward else edge - step
        how = f"one step on the same linear scale ({'+' if upward else '-'}{step:g})"
    if whole:
        new = float(round(new)) if round(new) != edge else edge + (1 if upward else -1)
    else:
        new = float(f"{new:.4g}")
    return new, how


def edge(evidence: Evidence) -> list[Change]:
    """The search's edges (lib.report.stats.edges, the findings' "Edges of the search"): each such axis extended
    one step beyond its best end, keeping the best value and its neighbour. Never onto a value its limits
    (lib.config.runconfig.LIMITS) forbid or call unsafe: there the edge is the limit."""
    if evidence.base.get("search"):
        return []
    result = analysis_of(evidence.report)
    runs, _ = statistics_runs(evidence.report)
    row = _best_config_of(evidence)
    if row is None:
        return []
    changes = []
    for found in edges(runs, result.configs, result.params, result.effects):
        axis, best = found.param, found.value
        if found.param in evidence.fixed() and found.param not in evidence.grid():
            continue  # varied in an earlier sweep, settled in the latest: not reopened here
        whole = all(float(v).is_integer() for v in found.tried) and all(
            not isinstance(v, float) for v in runs[axis] if is_number(v))
        new, how = _step_beyond(list(found.tried), found.upward, whole)
        if limit_problem(axis, new):
            continue
        try:
            RunConfig.from_dict({**evidence.fixed(), axis: int(new) if whole else new})
        except ConfigError:
            continue  # the next value would be impossible with the other settings: the edge is the limit
        kept = sorted({found.neighbour, best, new})
        kept = [int(v) if whole else v for v in kept]
        neighbour = found.neighbour
        whose = ("its best value (the pooled model's, over the other parameters' values) is" if found.by_model else
                 f"the best configuration ({row['config']}, val acc {row['val_acc_mean']:.3f}) uses")
        line = (f"{axis}: {whose} the {'largest' if found.upward else 'smallest'} value tried ({best:g}); extended "
                f"{how} to {new:g}, keeping {best:g} and its neighbour {neighbour:g}")

        def apply(draft: Draft, axis=axis, kept=kept, line=line) -> None:
            if draft.grid is None:
                draft.grid = {}
            draft.fixed.pop(axis, None)
            draft.set_grid(axis, kept, line)

        changes.append(Change("edge", line, apply, (axis,)))
    return changes


def combine(evidence: Evidence) -> list[Change]:
    """The pooled model's best value of each numeric parameter (lib.report.stats.best_value), together, where
    no configuration has run them together and the model puts them more than NO_EFFECT_BAND above the best
    configuration's values: a run of the best configuration with those values. (An lr explored at few epochs
    and epochs explored at another lr meet here.)"""
    if evidence.base.get("search"):
        return []
    result = analysis_of(evidence.report)
    configs = result.configs
    if configs.empty:
        return []
    row = configs.iloc[0]
    moves, notes = {}, []
    for axis in result.params:
        if axis == "seed" or axis not in row.index or not is_number(row[axis]) or axis in evidence.report.linked:
            continue
        scores = level_scores(result.effects, axis)
        mine = next((score for value, score in scores.items() if _same(value, row[axis])), None)
        if mine is None:
            continue
        top = max(scores, key=lambda v: scores[v])
        if not is_number(top) or _same(top, row[axis]) or scores[top] - mine <= NO_EFFECT_BAND:
            continue
        if not _called(result.effects, axis, top, row[axis]):
            continue  # the model's preference is within its noise
        if limit_problem(axis, top):
            continue
        moves[axis] = _plain(top) if not float(top).is_integer() or isinstance(row[axis], float) else int(top)
        notes.append(f"{axis} {_value_text(row[axis])} -> {_value_text(top)} (+{_points(scores[top] - mine)} "
                     f"points in the model)")
    if not moves:
        return []
    target = {p: moves.get(p, row[p]) for p in result.params if p in row.index}
    if any(all(_same(r[p], v) for p, v in target.items()) for _, r in configs.iterrows()):
        return []
    parent = _runs_of(evidence, row).sort_values("val_acc", ascending=False).iloc[0]
    line = (f"the pooled model's best values have not run together: the best configuration ({row['config']}, val "
            f"acc {row['val_acc_mean']:.3f}) runs again with {', '.join(notes)}")
    suffix = "-".join(f"{k}{_value_text(v)}" for k, v in moves.items())

    def apply(draft: Draft) -> None:
        _follow_up(draft, parent, dict(moves), evidence, line, suffix)

    return [Change("combine", line, apply, tuple(moves))]


def _called(effects: pd.DataFrame, axis: str, a: Any, b: Any) -> bool:
    """Whether the pooled model calls a difference between values a and b of `axis` (Holm p < ALPHA): their own
    row, or for an ordered parameter, its trend."""
    mine = effects[(effects["parameter"] == axis) & effects["p_holm"].notna()] if "p_holm" in effects else effects[:0]
    for _, r in mine.iterrows():
        if r["kind"] == "difference" and {value_label(r["value"]), value_label(r["reference"])} == \
                {value_label(a), value_label(b)}:
            return bool(r["p_holm"] < ALPHA)
    trend = mine[mine["kind"] == "trend"]
    return bool(len(trend) and (trend["p_holm"] < ALPHA).any())


REFINE_RATIO = 3.0  # refine: neighbours at least this ratio from the best get a midpoint (a decade twice, then stop)


def refine(evidence: Evidence) -> list[Change]:
    """The best inside a coarse log axis (not at an edge: that is the edge rule's): the geometric midpoints
    between it and each neighbour at least REFINE_RATIO away, so the chain closes in on an optimum it bracketed."""
    if evidence.base.get("search"):
        return []
    result = analysis_of(evidence.report)
    runs, _ = statistics_runs(evidence.report)
    if result.configs.empty:
        return []
    row = result.configs.iloc[0]
    at_edge = {found.param for found in edges(runs, result.configs, result.params, result.effects)}
    changes = []
    for axis in result.params:
        if axis in at_edge or axis not in runs or axis not in row.index or not is_number(row[axis]):
            continue
        if axis in evidence.fixed() and axis not in evidence.grid():
            continue
        values = [v for v in runs[axis] if not is_missing(v)]
        if any(is_bool(v) or not is_number(v) for v in values):
            continue
        tried = sorted({float(v) for v in values})
        if len(tried) < 3 or _spacing(tried) != "log" or all(float(v).is_integer() for v in tried):
            continue
        chosen = best_value(result.configs, result.effects, axis)
        if not is_number(chosen):
            continue
        best = float(chosen)
        if best not in tried or best in (tried[0], tried[-1]):
            continue
        i = tried.index(best)
        mids = [float(f"{math.sqrt(best * other):.3g}") for other in (tried[i - 1], tried[i + 1])
                if max(best, other) / min(best, other) >= REFINE_RATIO]
        mids = [m for m in mids if not limit_problem(axis, m) and m not in tried]
        if not mids:
            continue
        kept = sorted({*mids, best})
        line = (f"{axis}: its best value is {best:g} (the pooled model's estimate over the other parameters), "
                f"between {tried[i - 1]:g} and {tried[i + 1]:g} tried; refined with "
                f"{' and '.join(f'{m:g}' for m in mids)} (geometric midpoints)")

        def apply(draft: Draft, axis=axis, kept=kept, line=line) -> None:
            if draft.grid is None:
                draft.grid = {}
            draft.fixed.pop(axis, None)
            draft.set_grid(axis, kept, line)

        changes.append(Change("refine", line, apply, (axis,)))
    return changes


def too_close(evidence: Evidence) -> list[Change]:
    """Configurations not distinguishable from the best: each run again with CONFIRM_SEEDS more seeds."""
    configs = evidence.configs
    if len(configs) < 2 or "tied_with_best" not in configs:
        return []
    ties = [t for t in configs["tied_with_best"].iloc[1:]]
    tied = configs.iloc[1:][[not is_missing(t) and bool(t) for t in ties]]
    if int(configs["n"].iloc[0]) >= TIE_SEEDS:  # more seeds would not tell them apart soon: leave them tied
        tied = tied[tied["n"] < TIE_SEEDS]
    untested = configs.iloc[1:][[is_missing(t) for t in ties]]
    best = configs["config"].iloc[0]
    if len(tied):
        chosen = tied.head(CONFIRM_MAX)
        names = ", ".join(chosen["config"]) + (f" and {len(tied) - len(chosen)} more" if len(tied) > len(chosen)
                                               else "")
        why = f"{names} {'is' if len(tied) == 1 else 'are'} not distinguishable from the best, {best}"
    elif len(untested) and int(configs["n"].iloc[0]) < 2:
        chosen = untested.head(min(2, CONFIRM_MAX))
        why = (f"with one seed per configuration nothing can be told apart from the best, {best}; the next "
               f"{len(chosen)} are {', '.join(chosen['config'])}")
    else:
        return []
    rows = pd.concat([configs.iloc[:1], chosen])
    used = sorted({int(s) for s in evidence.ranked["seed"] if is_number(s)}) or [0]
    seeds = [max(used) + 1 + i for i in range(CONFIRM_SEEDS)]
    others = len(chosen)
    who = "both" if others == 1 else (f"the best and the first {others} of them" if len(tied) > others
                                      else f"the best and these {others}")
    line = f"{why}; {who} run again with seeds {', '.join(map(str, seeds))}"

    def apply(draft: Draft) -> None:
        if evidence.base.get("search"):  # a search confirms its best configurations itself
            draft.confirm = {"top": len(rows), "seeds": seeds}
            draft.comments[("confirm",)] = line
            return
        for _, row in rows.iterrows():
            parent = _runs_of(evidence, row).sort_values("val_acc", ascending=False).iloc[0]
            for seed in seeds:
                _follow_up(draft, parent, {"seed": seed}, evidence, line, f"seed{seed}")

    return [Change("too_close", line, apply, ("seed",))]


def stopped_before_annealed(evidence: Evidence) -> list[Change]:
    """Early stopping cut cosine runs short of their schedule: switch it off."""
    flags = analysis_of(evidence.report).flags
    runs = evidence.report.runs
    cosine = runs[(runs["scheduler"] == "cosine") & runs["status"].isin(RANKED_STATUSES)] \
        if "scheduler" in runs else runs.iloc[0:0]
    cut = [r for r, f in zip(runs["run"], flags) if "stopped_before_annealed" in str(f).split(",")
           and r in set(cosine["run"]) and runs.loc[runs["run"] == r, "status"].iloc[0] == "early_stopped"]
    if not cut or not evidence.fixed().get("early_stopping", True):
        return []
    line = (f"early stopping ended {len(cut)} of {len(cosine)} cosine runs before their learning rate annealed "
            f"(e.g. {cut[0]}); early_stopping: false, so every run follows its schedule to the end (the best "
            f"checkpoint is still the one kept)")

    def apply(draft: Draft) -> None:
        draft.fix("early_stopping", False, line)
        for key in ("patience", "min_delta"):
            draft.fixed.pop(key, None)
            draft.set_grid(key, None, line)

    return [Change("stopped_before_annealed", line, apply, ("early_stopping", "patience", "min_delta"))]


def inert(evidence: Evidence) -> list[Change]:
    """Settings the sweep file set that cannot act in any of its runs: dropped."""
    settings = [k for k in evidence.fixed() if k in RunConfig.__dataclass_fields__]
    runs = evidence.report.runs
    mine = set(runs.loc[runs["sweep"] == evidence.sweep, "run"]) if len(runs) else set()
    said: dict[str, set[str]] = {k: set() for k in settings}  # key -> its "set but" warnings
    acted: set[str] = set()
    seen: set[str] = set()
    for key, config in evidence.report.configs.items():
        if key not in mine:
            continue
        values = {k: v for k, v in config.items() if k in RunConfig.__dataclass_fields__}
        identity = repr(sorted((k, repr(v)) for k, v in values.items() if k in COMPUTE_FIELDS and k != "seed"))
        if identity in seen:
            continue  # another seed of a configuration checked already
        seen.add(identity)
        try:
            lines = RunConfig.from_dict(values).warnings(given=settings)
        except ConfigError:
            continue
        for setting in settings:
            found = [w for w in lines if w.startswith(f"{setting} is set but")]
            if found:
                said[setting].add(found[0])
            else:
                acted.add(setting)
    changes = []
    for key in settings:
        if said[key] and key not in acted:
            line = f"{key}: {sorted(said[key])[0].split('; ')[0]} in every run; dropped"

            def apply(draft: Draft, key=key, line=line) -> None:
                draft.fixed.pop(key, None)
                draft.comments[("dropped", key)] = line
                draft.rerun_grid = draft.grid is not None

            changes.append(Change("inert", line, apply, (key,)))
    return changes


def _cheaper(parameter: str, values: list[Any]) -> Any:
    """The value to fix a parameter at: the smaller of epochs and input sizes, else RunConfig's default when tried,
    else the first value."""
    if parameter in ("epochs", "input_size", "batch_size") and all(is_number(v) for v in values):
        return min(values)
    default = getattr(RunConfig(), parameter, None)
    return default if any(_same(default, v) for v in values) else values[0]


def no_effect(evidence: Evidence) -> list[Change]:
    """A grid parameter whose every effect CI lies within ± NO_EFFECT_BAND: fixed, out of the grid."""
    effects = evidence.effects
    grid = evidence.grid()
    changes = []
    for axis, values in grid.items():
        if any(isinstance(v, dict) for v in values) or "parameter" not in effects:
            continue
        rows = effects[(effects["parameter"] == axis) & (effects.get("kind", "difference") == "difference")] \
            if "kind" in effects else effects[effects["parameter"] == axis]
        if rows.empty or rows[["ci_low", "ci_high"]].isna().any().any():
            continue
        if not ((rows["ci_low"] >= -NO_EFFECT_BAND) & (rows["ci_high"] <= NO_EFFECT_BAND)).all():
            continue
        keep = _cheaper(axis, values)
        widest = max(abs(rows["ci_low"]).max(), abs(rows["ci_high"]).max())
        line = (f"{axis}: every effect between its values lies within ±{_points(NO_EFFECT_BAND)} points "
                f"(the widest CI reaches {_points(widest)}); fixed at {_value_text(keep)} and removed from the grid")

        def apply(draft: Draft, axis=axis, keep=keep, line=line) -> None:
            draft.fix(axis, keep, line)

        changes.append(Change("no_effect", line, apply, (axis,)))
    return changes


def worse_values(evidence: Evidence) -> list[Change]:
    """A value that loses to another of its parameter after Holm, at every level of what it interacts with."""
    effects = evidence.effects
    if "p_holm" not in effects or effects.empty:
        return []
    grid = evidence.grid()
    interactions = analysis_of(evidence.report).interactions
    configs = evidence.configs
    ties = configs.iloc[:1] if "tied_with_best" not in configs else \
        configs[[i == 0 or (not is_missing(t) and bool(t)) for i, t in enumerate(configs["tied_with_best"])]]
    changes = []
    for axis, values in grid.items():
        if any(isinstance(v, dict) for v in values) or len(values) < 2 or len(grid) < 2:
            continue  # the only axis: dropping its values leaves nothing to compare
        tied = list(ties[axis]) if axis in ties else []  # a value the best or its ties use is not clearly worse
        mine = effects[effects["parameter"] == axis]
        if all(is_number(v) for v in values):
            continue  # a number: its ends are the edge rule's, and its middle is where the best is
        rows = mine[mine["kind"] == "difference"]
        losers = []
        for _, r in rows.iterrows():
            if not (is_number(r["p_holm"]) and r["p_holm"] < ALPHA and is_number(r["effect"])):
                continue
            worse = r["value"] if r["effect"] < 0 else r["reference"]
            if _interacts(interactions, axis):
                continue  # its effect depends on another parameter: not a loser everywhere
            losers.append((worse, r))
        losers = [(w, r) for w, r in losers
                  if any(_same(w, v) for v in values) and not any(_same(w, t) for t in tied)]
        if not losers or len({_value_text(w) for w, _ in losers}) >= len(values):
            continue
        for worse, r in losers:
            better = r["reference"] if _same(worse, r["value"]) else r["value"]
            line = (f"{axis}: {_value_text(worse)} lost to {_value_text(better)} by {_points(abs(r['effect']))} "
                    f"points (Holm-adjusted p {r['p_holm']:.2g}) and interacts with nothing significantly; dropped")

            def apply(draft: Draft, axis=axis, worse=worse, line=line) -> None:
                remaining = [v for v in (draft.grid or {}).get(axis, []) if not _same(v, worse)]
                if len(remaining) == 1:
                    draft.fix(axis, remaining[0], line)
                elif remaining:
                    draft.set_grid(axis, remaining, line)

            changes.append(Change("worse_values", line, apply, (axis,)))
    return changes


def _interacts(interactions: pd.DataFrame, axis: str) -> bool:
    if interactions is None or interactions.empty or "p_holm" not in interactions:
        return False
    mine = interactions[(interactions["parameter_a"] == axis) | (interactions["parameter_b"] == axis)]
    return bool(((mine["p_holm"] < ALPHA) & mine["p_holm"].notna()).any())


TOP_SHARE = 0.25  # narrow_search: the best quarter of the complete trials (at least TOP_MIN) mark the region
TOP_MIN = 3
MARGIN = 0.25  # narrow_search: the region widened by this share of its own width on each side
LOG_KINDS = ("log_uniform", "q_log_uniform")
LINEAR_KINDS = ("uniform", "int_uniform", "q_uniform")


def narrow_search(evidence: Evidence) -> list[Change]:
    """A search: its ranges narrowed to the region of its best complete trials (widened a little, and past the
    old bound where the region touches it), lists kept to the values those trials used; the same budget again."""
    space = (evidence.base.get("search") or {}).get("space")
    if not space:
        return []
    from lib.report.studies import searches

    found = [s for s in searches(evidence.report) if s.sweep == evidence.sweep and s.study is not None]
    if not found:
        return []
    search = found[0]
    complete = [t for t in search.study.get_trials(deepcopy=False) if t.state.name == "COMPLETE" and t.value is not None]
    if len(complete) < TOP_MIN + 1:
        return []
    complete.sort(key=lambda t: t.value, reverse=search.goal == "maximize")
    top = complete[:max(TOP_MIN, math.ceil(TOP_SHARE * len(complete)))]
    values = {name: [t.user_attrs.get("values", {}).get(name) for t in top] for name in space}
    new_space, notes = {}, []
    for name, spec in space.items():
        used = [v for v in values[name] if v is not None]
        if isinstance(spec, list):
            kept = [v for v in spec if any(_same(v, u) for u in used)]
            new_space[name] = kept or spec
            if len(kept) < len(spec):
                notes.append(f"{name}: the best {len(top)} trials used {', '.join(map(_value_text, kept))}")
            continue
        (kind, args), = spec.items()
        if kind not in LOG_KINDS + LINEAR_KINDS or not used or not all(is_number(u) for u in used):
            new_space[name] = spec
            continue
        low, high = _region([float(u) for u in used], float(args[0]), float(args[1]), kind in LOG_KINDS)
        if limit_problem(name, low):  # past the old bound onto an impossible or unsafe value: the bound holds
            low = float(args[0])
        if limit_problem(name, high):
            high = float(args[1])
        if kind == "int_uniform":
            low, high = int(math.floor(low)), int(math.ceil(high))
            if low == high:
                high = low + 1
        new_space[name] = {kind: [low, high, *args[2:]]}
        notes.append(f"{name}: the best {len(top)} of {len(complete)} complete trials used {min(used):.3g} to "
                     f"{max(used):.3g}; now {low:.3g} to {high:.3g} (was {args[0]:g} to {args[1]:g})")
    if not notes:
        return []
    trials = int(evidence.base["search"].get("trials", len(complete)))
    line = "; ".join(notes) + f"; the search continues with {trials} new trials"

    def apply(draft: Draft) -> None:
        draft.search = {**evidence.base["search"], "space": new_space, "trials": trials}
        draft.search.pop("startup_trials", None)
        draft.early_terminate = dict(evidence.base["early_terminate"]) if evidence.base.get("early_terminate") \
            else None
        draft.grid, draft.seeds, draft.rerun_grid = None, None, False
        draft.comments[("search", "space")] = line

    return [Change("narrow_search", line, apply)]


def _region(used: list[float], low: float, high: float, log: bool) -> tuple[float, float]:
    """The span of `used`, widened by MARGIN of itself (of the old range when `used` is one point), kept inside
    [low, high] except where `used` reaches that bound (the search's best sat at its edge: go past it)."""
    f, inverse = (math.log, math.exp) if log else ((lambda x: x), (lambda x: x))
    lo, hi, a, b = f(min(used)), f(max(used)), f(low), f(high)
    margin = MARGIN * ((hi - lo) or (b - a))
    touch = 0.05 * (b - a)
    new_lo = lo - margin if lo - a <= touch else max(a, lo - margin)
    new_hi = hi + margin if b - hi <= touch else min(b, hi + margin)
    if log or new_lo > 0 or low <= 0:
        return float(f"{inverse(new_lo):.4g}"), float(f"{inverse(new_hi):.4g}")
    return float(f"{max(inverse(new_lo), 0.0):.4g}"), float(f"{inverse(new_hi):.4g}")


RULES: dict[str, Callable[[Evidence], list[Change]]] = {
    "pretrained_size": pretrained_size, "combine": combine, "not_converged": not_converged, "edge": edge,
    "refine": refine,
    "narrow_search": narrow_search, "too_close": too_close,
    "stopped_before_annealed": stopped_before_annealed, "inert": inert, "no_effect": no_effect,
    "worse_values": worse_values,
}


# ---------------------------------------------------------------------------------------------
# The proposal


def propose(report: SweepReport, base: Mapping[str, Any], sweep: str, name: str | None = None,
            budget: int | None = None) -> Proposal:
    """Every rule over the report; the changes most valuable first, cut (lowest value first) to `budget` runs."""
    evidence = Evidence(report, base, sweep)
    changes = [c for rule in RULES.values() for c in rule(evidence)]
    if not changes:
        return Proposal([], [], None)
    changes.sort(key=lambda c: -c.value)
    settled = [c for c in changes if c.rule in SETTLING]
    overruled = []
    for change in [c for c in changes if c.rule not in SETTLING]:
        winner = next((w for w in settled if set(w.params) & set(change.params)), None)
        if winner:
            overruled.append((change, winner))
    changes = [c for c in changes if all(c is not o for o, _ in overruled)]
    finished = finished_configs(report)
    kept, cut = [], []
    for change in changes:
        trial = _draft(evidence, name, kept + [change], finished)
        (cut if budget is not None and trial.size() > budget else kept).append(change)
    done = []
    if finished and not base.get("search"):  # a change whose every run finished already adds nothing: say so
        for change in [c for c in kept if c.rule not in SETTLING]:
            others = [c for c in kept if c is not change and c not in done]
            if _work(_draft(evidence, name, others, finished)) == _work(_draft(evidence, name, others + [change],
                                                                              finished)):
                done.append(change)
        kept = [c for c in kept if c not in done]
    draft = _draft(evidence, name, kept, finished) if kept else None
    if draft is not None and draft.size() == 0:
        draft = None  # nothing new: a file without runs would run its fixed settings once
    return Proposal(kept, cut, draft, overruled, done, draft.repeats if draft else [])


def _draft(evidence: Evidence, name: str | None, changes: Sequence[Change],
           finished: Mapping[tuple, str] | None = None) -> Draft:
    base = evidence.base
    draft = Draft(name or f"{evidence.sweep}_next", list(evidence.report.sweeps), evidence.fixed(),
                  grid=evidence.grid() or None, seeds=evidence.seeds(),
                  metric=dict(base["metric"]) if base.get("metric") else None)
    for change in sorted(changes, key=lambda c: c.rule not in SETTLING):  # what every run settles first
        change.apply(draft)
    if not draft.rerun_grid or not draft.grid:
        draft.grid = None
    if draft.seeds and any("seed" in run for run in draft.runs):
        _spell_out_seeds(draft)
    if finished:
        _drop_finished(draft, finished)
    return draft


# ---------------------------------------------------------------------------------------------
# Never paying twice


def run_identity(config: Mapping[str, Any]) -> tuple:
    """What makes two runs the same run: every config value but the runner's own keys (lib.config.runs.RUNNER_KEYS),
    seed included."""
    return tuple(sorted((k, _identity_value(v)) for k, v in config.items() if k not in RUNNER_KEYS))


def _identity_value(value: Any) -> Any:
    if is_missing(value):
        return None
    if is_bool(value):
        return bool(value)
    if is_number(value):
        return float(value)
    if isinstance(value, (list, tuple)):
        return tuple(_identity_value(v) for v in value)
    return value


def finished_configs(report: SweepReport) -> dict[tuple, str]:
    """The identity of every run of the report that finished (completed, early stopped, diverged or pruned: paid
    for), and its name."""
    out: dict[tuple, str] = {}
    runs = report.runs
    for key, status in zip(runs["run"], runs["status"]):
        if status in FINISHED_STATUSES and key in report.configs:
            out.setdefault(run_identity(report.configs[key]), key)
    return out


def planned_identity(sweep: str, params: Mapping[str, Any]) -> tuple | None:
    """The identity of a run a sweep file gives `params` (None: an impossible configuration)."""
    try:
        return run_identity(run_config(sweep, "probe", params).to_dict())
    except ConfigError:
        return None


def _explicit_params(draft: Draft, run: Mapping[str, Any]) -> dict[str, Any]:
    return {**draft.fixed, **{k: v for k, v in run.items() if k not in ("name", "from") and not k.startswith("_")}}


def _grid_points(draft: Draft) -> tuple[list[str], list[list], list[tuple[int, ...]]]:
    axes, lists = list(draft.grid), [list(v) for v in draft.grid.values()]
    if draft.seeds:
        axes, lists = axes + ["seed"], lists + [list(draft.seeds)]
    return axes, lists, list(itertools.product(*[range(len(v)) for v in lists]))


def _point_params(draft: Draft, axes: list[str], lists: list[list], point: tuple[int, ...]) -> dict[str, Any]:
    values = dict(draft.fixed)
    for axis, options, i in zip(axes, lists, point):
        value = options[i]
        values.update(value if isinstance(value, dict) else {axis: value})
    return values


def _work(draft: Draft) -> set:
    """The identities of the runs a draft would execute."""
    out = set()
    if draft.grid and draft.rerun_grid:
        axes, lists, points = _grid_points(draft)
        out |= {planned_identity(draft.name, _point_params(draft, axes, lists, p)) for p in points}
    for run in draft.runs:
        for seed in (draft.seeds if draft.seeds and "seed" not in run else [None]):
            params = _explicit_params(draft, run)
            out.add(planned_identity(draft.name, params if seed is None else {**params, "seed": seed}))
    return out


def _drop_finished(draft: Draft, finished: Mapping[tuple, str]) -> None:
    """Leave out of the draft every run whose configuration finished already (named in draft.repeats). A grid
    left with part of its points stays a grid when they still form one, else lists them as explicit runs."""
    if draft.search or not (_work(draft) & set(finished)):
        return
    if draft.seeds:
        _spell_out_seeds(draft)
    if draft.grid and draft.rerun_grid:
        axes, lists, points = _grid_points(draft)
        ids = {p: planned_identity(draft.name, _point_params(draft, axes, lists, p)) for p in points}
        new = [p for p in points if ids[p] not in finished]
        draft.repeats += [finished[ids[p]] for p in points if ids[p] in finished]
        used = [sorted({p[i] for p in new}) for i in range(len(axes))]
        if not new:
            draft.grid, draft.rerun_grid = None, False
        elif math.prod(len(u) for u in used) == len(new):  # still a grid: each axis keeps the values it needs
            draft.grid = {axis: [lists[i][j] for j in used[i]] for i, axis in enumerate(axes)}
        else:
            entries = []
            for p in new:
                params = _point_params(draft, axes, lists, p)
                entries.append({k: v for k, v in params.items()
                                if not (k in draft.fixed and _same(draft.fixed[k], v))})
            draft.comments[("runs", GRID_LEFT)] = (f"the grid's {len(new)} point(s) not run yet; its other "
                                                 f"{len(points) - len(new)} finished in the sweeps read")
            draft.grid, draft.rerun_grid = None, False
            draft.runs = entries + draft.runs
    kept = []
    for run in draft.runs:
        found = finished.get(planned_identity(draft.name, _explicit_params(draft, run)))
        if found:
            draft.repeats.append(found)
        else:
            kept.append(run)
    draft.runs = kept


def _spell_out_seeds(draft: Draft) -> None:
    """`seeds` multiplies every run, so a file whose explicit runs choose their own seeds gives the others
    theirs: a `seed` grid axis, and each explicit run without a seed once per seed."""
    seeds, draft.seeds = draft.seeds, None
    if draft.grid is not None:
        draft.grid["seed"] = list(seeds)
    runs = []
    for run in draft.runs:
        if "seed" in run:
            runs.append(run)
            continue
        for seed in seeds:
            copy = {**run, "name": f"{run['name']}-seed{seed}", "seed": seed}
            if SEEDED in run:
                copy["from"] = run[SEEDED].format(seed=seed)
            runs.append(copy)
            if ("runs", run["name"]) in draft.comments:
                draft.comments[("runs", copy["name"])] = draft.comments[("runs", run["name"])]
    draft.runs = runs
