"""The diagnostics of a sweep: what went wrong in single runs (FLAG_RULES, `run_flags`), and the edges of
the search, the numeric parameters whose best value is the smallest or largest tried (`edges`), the one rule
behind the findings' "Edges of the search" and `next`'s edge rule.

Pure functions of the runs table, run histories and the pooled model's tables (lib.report.factorial); the
sentences that report them are lib.report.findings'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from lib.core.formatting import is_bool, is_number
from lib.core.records import RANKED_STATUSES
from lib.report.design import ALPHA, STATS_STATUSES

BOUNDARY_MIN_VALUES = 3  # with two values the best is always at an edge, which says nothing
OVERFIT_RISE = 0.10  # final validation loss this fraction above its minimum ...
OVERFIT_EPOCHS_AFTER_MIN = 2  # ... at least this many epochs after the minimum
UNSTABLE_RISE = 0.25  # an epoch-to-epoch rise in training loss of this fraction of the previous value

FLAG_RULES: dict[str, str] = {
    "overfitting": f"the last validation loss is more than {OVERFIT_RISE:.0%} above its minimum, at least "
                   f"{OVERFIT_EPOCHS_AFTER_MIN} epochs after that minimum, while the last training loss is below "
                   f"the training loss at the minimum's epoch",
    "not_converged": "the best epoch (lowest validation loss) is the last epoch run and the run did not diverge: "
                     "more epochs may help",
    "stopped_before_annealed": "cosine schedule, and the run ended (early stopped or completed) after fewer epochs "
                               "than t_max (epochs when t_max is None), so the learning rate never annealed",
    "unstable": f"the training loss rose by more than {UNSTABLE_RISE:.0%} of its previous value between two "
                f"consecutive epochs (every pair of epochs is checked, the first included)",
    "diverged": "status diverged, or a non-finite training or validation loss in the history",
    "plateau_never_lowered": "plateau schedule, and the learning rate in the history never went below its first "
                             "value: the patience was never used up",
}


# ---------------------------------------------------------------------------------------------
# Diagnostics of single runs


def _column(history: pd.DataFrame | None, name: str) -> np.ndarray:
    if history is None or name not in history:
        return np.array([], dtype=float)
    return pd.to_numeric(history[name], errors="coerce").to_numpy(dtype=float)


def _whole(value: Any) -> int | None:
    return int(value) if is_number(value) else None


def run_flags(history: pd.DataFrame | None, metrics: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """The diagnostics that apply to one finished run, in FLAG_RULES order (see FLAG_RULES for each rule).

    `history`: per-epoch rows (epoch, train_loss, val_loss, lr, ...), or None; `metrics`: status,
    best_epoch, epochs_run (best epoch and epochs run fall back to the history); `config`: the run's
    RunConfig fields (scheduler, epochs, t_max). Unfinished runs (failed, pending) and pruned runs get none.
    """
    status = metrics.get("status")
    if status not in RANKED_STATUSES:
        return []
    train, val, lr = _column(history, "train_loss"), _column(history, "val_loss"), _column(history, "lr")
    epochs = _column(history, "epoch")
    if len(epochs) != len(val):
        epochs = np.arange(1, len(val) + 1)
    flags = set()
    diverged = status == "diverged" or not (np.isfinite(train).all() and np.isfinite(val).all())
    if diverged:
        flags.add("diverged")
    clean = not diverged and len(val) > 0 and len(train) == len(val)
    if clean and len(val) >= 2:
        at_min = int(np.argmin(val))
        if (val[-1] > (1 + OVERFIT_RISE) * val[at_min] and epochs[-1] - epochs[at_min] >= OVERFIT_EPOCHS_AFTER_MIN
                and train[-1] < train[at_min]):
            flags.add("overfitting")
        if np.any(train[1:] > (1 + UNSTABLE_RISE) * train[:-1]):
            flags.add("unstable")
    best_epoch = _whole(metrics.get("best_epoch"))
    epochs_run = _whole(metrics.get("epochs_run"))
    if clean:
        best_epoch = best_epoch if best_epoch is not None else int(epochs[int(np.argmin(val))])
        epochs_run = epochs_run if epochs_run is not None else int(epochs[-1])
    if not diverged and best_epoch is not None and best_epoch == epochs_run:
        flags.add("not_converged")
    period = _whole(config.get("t_max")) or _whole(config.get("epochs"))
    if (config.get("scheduler") == "cosine" and status in STATS_STATUSES and epochs_run is not None
            and period is not None and epochs_run < period):
        flags.add("stopped_before_annealed")
    finite_lr = lr[np.isfinite(lr)]
    if config.get("scheduler") == "plateau" and finite_lr.size and finite_lr.min() >= finite_lr[0]:
        flags.add("plateau_never_lowered")
    return [f for f in FLAG_RULES if f in flags]


def flags_column(runs: pd.DataFrame, histories: Mapping[str, pd.DataFrame]) -> pd.Series:
    """Each run's flags joined with ',' ('' for none), aligned with `runs`; a run's row is its metrics and config."""
    flags = []
    for record in runs.to_dict("records"):
        flags.append(",".join(run_flags(histories.get(record.get("run")), record, record)))
    return pd.Series(flags, index=runs.index, name="flags", dtype=object)



# ---------------------------------------------------------------------------------------------
# Edges of the search


@dataclass(frozen=True)
class Edge:
    """A numeric parameter whose best value is the smallest or largest tried."""

    param: str
    value: float  # the best configuration's value
    upward: bool  # the largest tried (extend above), else the smallest (extend below)
    tried: tuple[float, ...]  # every distinct number tried, ascending
    by_model: bool = False  # the best value is the pooled model's (else the best configuration's)

    @property
    def neighbour(self) -> float:
        return self.tried[-2] if self.upward else self.tried[1]


def level_scores(effects: pd.DataFrame | None, param: str) -> dict[Any, float]:
    """The pooled model's estimate of each value of `param`, averaged over the other parameters (comparable with
    each other only): its means where the model keeps one per value (an ordered parameter), else each value's
    difference from the reference (0). Empty without a model."""
    if effects is None or effects.empty or "kind" not in effects:
        return {}
    mine = effects[effects["parameter"] == param]
    means = mine[mine["kind"] == "mean"]
    if len(means):
        return {v: float(e) for v, e in zip(means["value"], means["effect"]) if is_number(e)}
    diffs = mine[mine["kind"] == "difference"]
    if diffs.empty or diffs["reference"].nunique() != 1:
        return {}
    scores = {diffs["reference"].iloc[0]: 0.0}
    scores.update({v: float(e) for v, e in zip(diffs["value"], diffs["effect"]) if is_number(e)})
    return scores


def best_value(configs: pd.DataFrame, effects: pd.DataFrame | None, param: str) -> Any:
    """The best value of `param`: the pooled model's (level_scores), which compares each value over the others'
    values, so a value tried only at fewer epochs is not judged by them; without a model, the best configuration's."""
    scores = level_scores(effects, param)
    if scores:
        return max(scores, key=lambda v: scores[v])
    return configs.iloc[0][param] if len(configs) and param in configs else None


def edges(runs: pd.DataFrame, configs: pd.DataFrame, params: Sequence[str],
          effects: pd.DataFrame | None = None) -> list[Edge]:
    """The edges of the search: the one rule behind the findings' "Edges of the search" and `next`'s edge rule.

    A parameter counts when it is numeric (int or float, not bool) and its best value (`best_value`: the pooled
    model's, else the first row of `configs`) is the smallest or largest of the distinct numbers tried for it,
    counted over every run in `runs` (finished or not, so a larger value that diverged or is still pending counts
    as tried).
    With BOUNDARY_MIN_VALUES or more values that is enough; with two, the best is always at an edge, so it
    counts only when `effects` (the pooled model's) calls the difference (Holm p < ALPHA) in the best's favour.
    """
    if configs.empty:
        return []
    best = configs.iloc[0]
    found = []
    for p in params:
        if p not in runs or p not in best.index:
            continue
        tried = tuple(sorted({float(v) for v in runs[p] if is_number(v)}))
        chosen = best_value(configs, effects if len(tried) >= BOUNDARY_MIN_VALUES else None, p)
        if len(tried) < 2 or not is_number(chosen) or any(is_bool(v) for v in runs[p]):
            continue
        value = float(chosen)
        if value not in (tried[0], tried[-1]):
            continue
        if len(tried) < BOUNDARY_MIN_VALUES and not _called_for(effects, p, value):
            continue
        found.append(Edge(p, value, value == tried[-1], tried,
                          bool(level_scores(effects, p)) and len(tried) >= BOUNDARY_MIN_VALUES))
    return found


def _called_for(effects: pd.DataFrame | None, param: str, best: float) -> bool:
    """Whether the pooled model calls a difference of `param` (Holm p < ALPHA) with `best` the better value."""
    if effects is None or effects.empty or "p_holm" not in effects:
        return False
    rows = effects[(effects["parameter"] == param) & (effects["kind"] == "difference")]
    for _, r in rows.iterrows():
        if is_number(r["p_holm"]) and r["p_holm"] < ALPHA and is_number(r["effect"]):
            better = r["value"] if r["effect"] > 0 else r["reference"]
            return is_number(better) and float(better) == best
    return False
