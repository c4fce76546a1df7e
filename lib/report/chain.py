"""How we got here: the report section of a chain of sweeps run by `auto` (lib.sweep.auto).

Per round: the proposal lines that made it (the rules that fired, each with its evidence; kept in the chain
folder's chain.json when the round was written), the runs, epochs and run time it spent (from the records),
and the best configuration so far with its gain over round 0's best (per seed where both ran the same seeds,
else the difference of their means). It ends with a recommendation: the best configuration of the whole chain
with its interval, and the command that reruns it. Every string from a file or a record is escaped here, by
lib.report.render.escape.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from lib.core import values
from lib.core.formatting import duration, is_number
from lib.core.records import FINISHED_STATUSES, read_json
from lib.report.analysis import analysis_of
from lib.report.load import SweepReport
from lib.report.render import escape
from lib.report.tables import BEST_FILE, best_configuration, command_path

CHAIN_JSON = "chain.json"  # lib.sweep.auto writes it; the report layer sits below the sweep layer, so named twice
PAID = FINISHED_STATUSES + ("failed",)


def chain_log(out: Path) -> dict | None:
    path = Path(out) / CHAIN_JSON
    try:
        found = read_json(path) if path.is_file() else None
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and isinstance(found.get("sweeps"), list) else None


def _configs(report: SweepReport, sweeps: list[str]) -> pd.DataFrame:
    """Mean validation accuracy per configuration (every varying parameter but the seed) over the ranked runs of
    `sweeps`, best first, with each configuration's val acc by seed."""
    ranked = report.ranked[report.ranked["sweep"].isin(sweeps)]
    keys = [p for p in report.params if p != "seed" and p in ranked]
    rows = []
    for label, runs in ranked.groupby([ranked[k].map(values.key) for k in keys] if keys else
                                      [ranked["sweep"].map(lambda _: "all")], sort=False):
        first = runs.iloc[0]
        label = ", ".join(f"{k} {values.reader_text(first[k])}" for k in keys)
        rows.append({"config": label or "the one configuration",
                     "values": {k: first[k] for k in keys},
                     "val_acc_mean": float(runs["val_acc"].mean()), "n": len(runs),
                     "by_seed": {int(s): float(v) for s, v in zip(runs["seed"], runs["val_acc"]) if is_number(s)}})
    table = pd.DataFrame(rows, columns=["config", "values", "val_acc_mean", "n", "by_seed"])
    return table.sort_values("val_acc_mean", ascending=False, kind="stable").reset_index(drop=True)


def gain(best: dict[str, Any], start: dict[str, Any]) -> tuple[float, str]:
    """best's val acc minus start's: per seed over the seeds both ran, else the difference of their means."""
    shared = sorted(set(best["by_seed"]) & set(start["by_seed"]))
    if shared:
        diff = sum(best["by_seed"][s] - start["by_seed"][s] for s in shared) / len(shared)
        return diff, f"matched on seed{'s' if len(shared) > 1 else ''} {', '.join(map(str, shared))}"
    return best["val_acc_mean"] - start["val_acc_mean"], "difference of means: no seed in common"


def rounds_table(report: SweepReport, log: dict) -> pd.DataFrame:
    sweeps = [s for s in log["sweeps"] if s in set(report.runs["sweep"])]
    final = best_configuration(report)  # the last round's best is the recommendation's, whatever ties do
    rows, start = [], None
    for k, sweep in enumerate(sweeps):
        mine = report.runs[report.runs["sweep"] == sweep]
        paid = mine[mine["status"].isin(PAID)]
        configs = _configs(report, sweeps[:k + 1])
        best = configs.iloc[0].to_dict() if len(configs) else None
        if final is not None and k == len(sweeps) - 1:
            same = [r for r in configs.to_dict("records") if all(
                values.same(final["params"].get(key), v) for key, v in r["values"].items() if key in final["params"])]
            best = same[0] if same else best
        if k == 0:
            start = best
        change, how = gain(best, start) if best and start else (math.nan, "")
        rows.append({"round": k, "sweep": sweep, "runs": len(paid),
                     "epochs": int(pd.to_numeric(paid["epochs_run"], errors="coerce").fillna(0).sum()),
                     "time": float(pd.to_numeric(paid["wall_time_s"], errors="coerce").fillna(0).sum()),
                     "best_so_far": best["config"] if best else "-",
                     "val_acc": best["val_acc_mean"] if best else math.nan, "n": best["n"] if best else 0,
                     "gain_points": 100 * change, "gain_how": how})
    return pd.DataFrame(rows)


def chain_html(report: SweepReport, out: Path) -> str | None:
    """The section's HTML (None: the report is not of a chain)."""
    log = chain_log(out)
    if log is None:
        return None
    table = rounds_table(report, log)
    e = escape
    parts = ["<h2 id='chain'>How we got here</h2>",
             f"<p>A chain of {len(table)} round(s) run by <code>auto</code> within a budget of "
             f"{e(str(log.get('budget')))} runs; {int(table['runs'].sum()) if len(table) else 0} paid. "
             + (f"It stopped because {e(str(log['stopped']))}." if log.get("stopped") else "It is still running.")
             + "</p>"]
    rounds = log.get("rounds") or {}
    for row in table.itertuples(index=False):
        stem = Path(log["files"][row.round]).stem if row.round < len(log.get("files", [])) else row.sweep
        why = rounds.get(stem, {}).get("lines") if row.round else None
        head = (f"<h3>Round {row.round}: {e(row.sweep)}</h3><p>{row.runs} run(s), {row.epochs} epochs, "
                f"{e(duration(row.time))} of run time. Best so far: <b>{e(row.best_so_far)}</b>, val acc "
                f"{row.val_acc:.4f} (n={row.n})")
        if row.round:
            head += f", {row.gain_points:+.2f} points over round 0's best ({e(row.gain_how)})"
        parts.append(head + ".</p>")
        if why:
            parts.append("<ul>" + "".join(f"<li>{e(line)}</li>" for line in why) + "</ul>")
        elif row.round == 0:
            parts.append("<p>The starting sweep, as given.</p>")
    best = best_configuration(report)
    if best is not None:
        configs = analysis_of(report).configs
        first = configs.iloc[0] if len(configs) else {}
        low, high = (first.get("val_acc_ci_low"), first.get("val_acc_ci_high")) if len(configs) else (None, None)
        mean, _, n = best["val_acc"]
        interval = (f"95% interval {low:.4f} to {high:.4f} over {n} seeds" if is_number(low) and is_number(high)
                    and math.isfinite(low) else f"one run: no interval (n={n})")
        command = f"python -m lib.train --config {command_path(Path(out).resolve() / BEST_FILE)}"
        params = ", ".join(f"{k}: {values.reader_text(v)}" for k, v in best["params"].items())
        parts.append(f"<h3>Recommendation</h3><p><b>{e(best['config'])}</b>: val acc {mean:.4f} ({e(interval)}); "
                     f"its best run is {e(best['run'])} ({e(params)}). Rerun it with:</p>"
                     f"<pre>{e(command)}</pre>")
    return "".join(parts)


def show_chain(report: SweepReport, out: Path) -> None:
    """Show "How we got here" when `out` is a chain's report folder; nothing otherwise."""
    from IPython.display import HTML, display

    text = chain_html(report, out)
    if text:
        display(HTML(text))
