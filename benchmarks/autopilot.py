"""Does the autopilot find good settings? `auto`'s real loop (lib.sweep.auto.run_chain: propose on the records,
write the next round's file, run it) on simulated response surfaces, with each round's runs "executed" by
writing their records directly (benchmarks.synthetic) instead of training; side by side with Optuna's TPE
given the same number of runs.

    python -m benchmarks.autopilot            # 50 surfaces, a budget of 150 runs each
    python -m benchmarks.autopilot --quick    # 3 surfaces (a test runs this)

A surface: validation accuracy = TOP - LR_CURVE * log10(lr / lr_opt)^2 - EPOCH_GAP * exp(-epochs / TAU)
- the optimizer's penalty, plus noise over seeds (NOISE). lr_opt is drawn over 4 decades (1e-4 to 1), one
optimizer of three is the true winner, and weight_decay (0 or 5e-4) is inert. The first grid is
deliberately poor: three lrs a decade apart whose nearest is two decades from lr_opt, 2 epochs, the inert
axis, the three optimizers, 2 seeds (36 runs). The surface's optimum is TOP (lr_opt, epochs to saturation, the
winner); a chain "ends within 0.5 points" when the true (noise-free) accuracy of the configuration it
recommends (the report's best) is within 0.005 of TOP.

TPE gets, per surface, as many runs as the chain used, over the first grid's ranges (lr between its ends,
2 epochs, both weight decays, the three optimizers; it cannot leave them), and over ranges 100x wider (lr a
hundredfold beyond either end, epochs 1 to 200, weight decay 0 to 0.05); its answer is its best trial.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from benchmarks.synthetic import Outcome, write_records
from lib.core.layout import CONFIG, run_dir
from lib.core.records import read_json
from lib.report.proposal.finished import run_identity
from lib.config.sweepfile import load_sweep
from lib.sweep.auto import Chain, chain_paths, run_chain
from lib.sweep.plan import sweep_root

TOP = 0.95  # the surface's best accuracy
LR_CURVE = 0.03  # accuracy lost per squared decade away from lr_opt
EPOCH_GAP, TAU = 0.15, 3.0  # epochs saturate: EPOCH_GAP * exp(-epochs / TAU) short of the top
PENALTIES = (0.0, 0.015, 0.03)  # the optimizers' shortfalls; which one wins is drawn per surface
OPTIMIZERS = ("sgd", "adam", "rmsprop")
NOISE = 0.003  # sd of the accuracy over seeds
BEST_EPOCH = math.ceil(3 * TAU)  # the epoch a saturated run peaks at
WITHIN = 0.005  # "within 0.5 points of the optimum"
BUDGET = 150


@dataclass
class Surface:
    index: int
    lr_opt: float
    penalty: dict[str, float]
    first_lrs: list[float]

    @classmethod
    def draw(cls, index: int) -> "Surface":
        rng = random.Random(index)
        lr_opt = 10 ** rng.uniform(-4, 0)
        order = rng.sample(OPTIMIZERS, len(OPTIMIZERS))
        below = rng.random() < 0.5 or lr_opt > 1e-1  # the poor grid sits two decades below the optimum, or above
        if lr_opt < 1e-3 * 1.01:
            below = False
        near = lr_opt / 100 if below else lr_opt * 100
        lrs = [near / 100, near / 10, near] if below else [near, near * 10, near * 100]
        return cls(index, lr_opt, dict(zip(order, PENALTIES)), [float(f"{v:.1g}") for v in lrs])

    def truth(self, p: Mapping[str, Any]) -> float:
        lr, epochs = float(p.get("lr", 0.01)), int(p.get("epochs", 2))
        acc = TOP - LR_CURVE * math.log10(lr / self.lr_opt) ** 2 - EPOCH_GAP * math.exp(-epochs / TAU)
        return max(acc - self.penalty[p.get("optimizer", "sgd")], 0.05)

    def observe(self, p: Mapping[str, Any]) -> float:
        key = repr(sorted((k, v) for k, v in p.items() if k not in ("name",)))
        return min(max(self.truth(p) + random.Random(f"{self.index}:{key}").gauss(0, NOISE), 0.0), 1.0)

    def outcome(self, p: Mapping[str, Any]) -> Outcome:
        epochs = int(p.get("epochs", 2))
        return Outcome(self.observe(p), best_epoch=min(epochs, BEST_EPOCH), epochs_run=epochs, seconds_per_epoch=1.0)

    def first_grid(self) -> str:
        return (f"name: surface{self.index}\nfixed: {{dataset: digits, model: mlp, epochs: 2}}\n"
                f"grid:\n  lr: {self.first_lrs}\n  weight_decay: [0.0, 0.0005]\n  optimizer: [sgd, adam, rmsprop]\n"
                f"seeds: [0, 1]\n")


def synthetic_round(surface: Surface, reports: Path):
    """`run_round` for the chain: every run of the round's file that has no records yet gets them."""

    def run_round(path: Path) -> int:
        sweep = load_sweep(path)
        root = sweep_root(sweep, reports)
        write_records(sweep, root, lambda p: None if (run_dir(root, _name(sweep, p)) / CONFIG).is_file()
                      else surface.outcome(p))
        return 0

    return run_round


def _name(sweep, params) -> str:
    return next(s.name for s in sweep.runs if s.params == params)


def run_surface(surface: Surface, folder: Path, budget: int) -> dict[str, Any]:
    from lib.report.load import load_report
    from lib.report.tables import best_configuration

    first = folder / f"surface{surface.index}.yaml"
    first.write_text(surface.first_grid())
    reports = folder / "reports"
    chain = Chain(first, budget, reports, report=False, echo=lambda line: None)
    _, reason = run_chain(chain, synthetic_round(surface, reports))
    sweeps = [load_sweep(p) for p in chain_paths(first, chain.name)]
    roots = [sweep_root(s, reports) for s in sweeps]
    identities = Counter()
    for root in roots:
        for folder_ in (root / "runs").iterdir() if (root / "runs").is_dir() else []:
            if (folder_ / CONFIG).is_file():
                identities[run_identity(read_json(folder_ / CONFIG))] += 1
    best = best_configuration(load_report(roots))
    params = {**sweeps[0].fixed, **best["params"]}
    return {"runs": sum(identities.values()), "paid_twice": sum(n - 1 for n in identities.values()),
            "rounds": len(sweeps) - 1, "truth": surface.truth(params), "stopped": reason, "best": params}


def tpe(surface: Surface, trials: int, wide: bool, seed: int) -> float:
    """The true accuracy of TPE's best trial after `trials` runs."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    low, high = min(surface.first_lrs), max(surface.first_lrs)

    def objective(trial):
        if wide:
            p = {"lr": trial.suggest_float("lr", low / 100, min(high * 100, 10.0), log=True),
                 "epochs": trial.suggest_int("epochs", 1, 200),
                 "weight_decay": trial.suggest_float("weight_decay", 0.0, 0.05)}
        else:
            p = {"lr": trial.suggest_float("lr", low, high, log=True), "epochs": 2,
                 "weight_decay": trial.suggest_categorical("weight_decay", [0.0, 0.0005])}
        p["optimizer"] = trial.suggest_categorical("optimizer", list(OPTIMIZERS))
        trial.set_user_attr("params", p)
        return surface.observe({**p, "seed": trial.number})

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    return surface.truth(study.best_trial.user_attrs["params"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.autopilot", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 surfaces")
    parser.add_argument("--surfaces", type=int, default=None)
    parser.add_argument("--budget", type=int, default=BUDGET)
    parser.add_argument("--no-tpe", action="store_true")
    args = parser.parse_args(argv)
    count = args.surfaces or (3 if args.quick else 50)
    rows = []
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(count):
            surface = Surface.draw(i)
            folder = Path(tmp) / f"s{i}"
            folder.mkdir()
            t0 = time.time()
            result = run_surface(surface, folder, args.budget)
            if not args.no_tpe:
                result["tpe_narrow"] = tpe(surface, result["runs"], wide=False, seed=i)
                result["tpe_wide"] = tpe(surface, result["runs"], wide=True, seed=i)
            rows.append(result)
            print(f"surface {i}: lr_opt {surface.lr_opt:.3g}, first lrs {surface.first_lrs}; chain {result['rounds']} "
                  f"rounds, {result['runs']} runs, {100 * (TOP - result['truth']):.2f} points short "
                  f"(best {result['best'].get('lr'):.3g} lr, {result['best'].get('epochs')} epochs, "
                  f"{result['best'].get('optimizer')}); stopped: {result['stopped']}"
                  + (f"; TPE narrow {100 * (TOP - result['tpe_narrow']):.2f}, wide "
                     f"{100 * (TOP - result['tpe_wide']):.2f} points short" if not args.no_tpe else "")
                  + f" ({time.time() - t0:.0f}s)", flush=True)
    n = len(rows)

    def share(key: str) -> str:
        hits = sum(TOP - r[key] <= WITHIN for r in rows)
        return f"{hits}/{n} ({100 * hits / n:.0f}%)"

    def mean_short(key: str) -> str:
        return f"{sum(100 * (TOP - r[key]) for r in rows) / n:.2f}"

    print(f"\n{n} surfaces, budget {args.budget} runs each, {time.time() - start:.0f}s")
    print(f"{'method':<28} {'within 0.5 points':>18} {'mean points short':>18} {'runs used (mean)':>17} "
          f"{'paid twice':>11}")
    runs = sum(r["runs"] for r in rows) / n
    print(f"{'auto (chain of next)':<28} {share('truth'):>18} {mean_short('truth'):>18} {runs:>17.1f} "
          f"{sum(r['paid_twice'] for r in rows):>11}")
    if not args.no_tpe:
        print(f"{'TPE, first grid ranges':<28} {share('tpe_narrow'):>18} {mean_short('tpe_narrow'):>18} "
              f"{runs:>17.1f} {'-':>11}")
        print(f"{'TPE, ranges 100x wider':<28} {share('tpe_wide'):>18} {mean_short('tpe_wide'):>18} {runs:>17.1f} "
              f"{'-':>11}")
    paid_twice = sum(r["paid_twice"] for r in rows)
    return 1 if paid_twice else 0


if __name__ == "__main__":
    sys.exit(main())
