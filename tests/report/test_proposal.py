"""What to run next: each rule of lib.report.proposal fires on the records made for it (written directly,
as a finished sweep leaves them), states its evidence, and the file it writes is an ordinary sweep file."""

import math
import random
from pathlib import Path

import pytest
import yaml

from benchmarks.synthetic import Outcome, write_sweep
from lib.core.paths import project_root
from lib.report.load import load_report
from lib.report.nextfile import next_file_text
from lib.report.proposal import propose
from lib.report.proposal.choose import NOTHING
from lib.config.sweepfile import load_sweep

ROOT = project_root(Path(__file__).parent)


def proposal_for(tmp_path, text, outcome, budget=None, name="s"):
    path = tmp_path / f"{name}.yaml"
    write_sweep(path, text, tmp_path / "reports" / name, outcome)
    report = load_report(tmp_path / "reports" / name)
    return propose(report, yaml.safe_load(text), name, budget=budget), path


def written(tmp_path, proposal, name="s_next"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(next_file_text(proposal, "python -m lib.sweep next"))
    return load_sweep(path), path.read_text()


def rules(proposal):
    return [c.rule for c in proposal.changes]


def steady(params) -> Outcome:
    """An early best epoch, no effect of anything: nothing to propose beyond what the test sets up."""
    return Outcome(0.9, best_epoch=4, epochs_run=10)


GRID = """
name: s
fixed: {dataset: digits, model: mlp, epochs: 10}
grid:
  lr: [0.001, 0.01, 0.1]
  optimizer: [sgd, adam]
seeds: [0, 1]
"""


def test_edge_extends_a_log_axis_one_step_beyond_its_best_end(tmp_path):
    def outcome(p):
        return Outcome(0.80 + 0.05 * math.log10(p["lr"] / 0.001) + 0.001 * p["seed"], best_epoch=4)

    proposal, _ = proposal_for(tmp_path, GRID, outcome)
    assert "edge" in rules(proposal)
    change = next(c for c in proposal.changes if c.rule == "edge")
    assert change.line.startswith("lr: ") and "largest value tried (0.1)" in change.line
    assert "log scale (x10) to 1" in change.line
    sweep, text = written(tmp_path, proposal)
    assert proposal.draft.grid["lr"] == [1.0]  # 0.01 and 0.1 ran already, with these seeds: only 1.0 is new
    assert "# lr: its best value" in text
    grid = [r for r in sweep.runs if not r.parent]  # too_close's follow-ups aside
    assert {r.params["lr"] for r in grid} == {1.0} and len(grid) == 2  # optimizer has no effect: fixed at sgd
    assert len(proposal.repeats) == 4 and any(line.startswith("left out: 4 run(s)") for line in proposal.lines())


def test_refine_tries_the_midpoints_around_a_best_inside_a_coarse_log_axis(tmp_path):
    def outcome(p):  # best at lr 0.01, the middle of three decades
        return Outcome({0.001: 0.80, 0.01: 0.90, 0.1: 0.85}[p["lr"]] + 0.001 * p["seed"], best_epoch=4)

    proposal, _ = proposal_for(tmp_path, GRID, outcome)
    change = next(c for c in proposal.changes if c.rule == "refine")
    assert "best value is 0.01 (the pooled model's estimate over the other parameters), between 0.001 and 0.1 tried; refined with 0.00316 and 0.0316" in change.line
    assert "edge" not in rules(proposal) and proposal.draft.grid["lr"] == [0.00316, 0.0316]  # 0.01 ran already


def test_edge_extends_a_linear_axis_downward_and_never_past_a_limit(tmp_path):
    text = GRID.replace("lr: [0.001, 0.01, 0.1]", "momentum: [0.5, 0.7, 0.9]")

    def low(p):
        return Outcome(0.9 - 0.1 * p["momentum"] + 0.001 * p["seed"], best_epoch=4)

    proposal, _ = proposal_for(tmp_path, text, low)
    assert proposal.draft.grid["momentum"] == [0.3]  # 0.5 and 0.7 ran already
    assert "linear scale (-0.2) to 0.3" in next(c.line for c in proposal.changes if c.rule == "edge")

    def high(p):  # the next step, 1.1, is no possible momentum: the edge is the limit
        return Outcome(0.8 + 0.1 * p["momentum"] + 0.001 * p["seed"], best_epoch=4)

    proposal, _ = proposal_for(tmp_path / "high", text, high)
    assert "edge" not in rules(proposal)


def test_not_converged_proposes_a_longer_run_of_the_best_recipe(tmp_path):
    text = GRID.replace("epochs: 10}", "epochs: 10, scheduler: cosine, t_max: 10, early_stopping: true, "
                                       "patience: 3}")

    def outcome(p):
        return Outcome(0.9 + 0.01 * (p["optimizer"] == "adam") + 0.01 * (p["lr"] == 0.01) + 0.001 * p["seed"],
                       best_epoch=10)

    proposal, _ = proposal_for(tmp_path, text, outcome)
    change = next(c for c in proposal.changes if c.rule == "not_converged")
    assert "best epoch at 10, 10 of 10 epochs" in change.line
    assert "epochs 10 -> 20 (t_max 10 -> 20, patience 3 -> 6)" in change.line
    sweep, _ = written(tmp_path, proposal)
    longer = [r for r in sweep.runs if r.params.get("epochs") == 20]
    assert longer and {r.params["optimizer"] for r in longer} == {"adam"} and longer[0].params["lr"] == 0.01
    assert all(r.params["t_max"] == 20 and r.params["patience"] == 6 for r in longer)


def test_stopped_before_annealed_switches_early_stopping_off(tmp_path):
    text = GRID.replace("epochs: 10}", "epochs: 10, scheduler: cosine, early_stopping: true, patience: 2}")

    def outcome(p):
        return Outcome(0.9 + 0.001 * p["seed"], best_epoch=3, epochs_run=5, status="early_stopped")

    proposal, _ = proposal_for(tmp_path, text, outcome)
    change = next(c for c in proposal.changes if c.rule == "stopped_before_annealed")
    assert "ended 12 of 12 cosine runs before their learning rate annealed" in change.line
    sweep, _ = written(tmp_path, proposal)
    assert sweep.fixed["early_stopping"] is False and "patience" not in sweep.fixed


def test_inert_settings_are_dropped_with_the_warning_as_evidence(tmp_path):
    text = GRID.replace("epochs: 10}", "epochs: 10, mix_alpha: 0.4, step_size: 3}")
    proposal, _ = proposal_for(tmp_path, text, steady)
    lines = [c.line for c in proposal.changes if c.rule == "inert"]
    assert any(line.startswith("mix_alpha: mix_alpha is set but mix is false") for line in lines)
    assert any(line.startswith("step_size: step_size is set but scheduler is not step") for line in lines)
    sweep, text = written(tmp_path, proposal)
    assert "mix_alpha" not in sweep.fixed and "step_size" not in sweep.fixed
    assert "# dropped: mix_alpha" in text


def test_a_parameter_confidently_without_effect_is_fixed_and_leaves_the_grid(tmp_path):
    text = GRID.replace("seeds: [0, 1]", "seeds: [0, 1, 2, 3]")

    def outcome(p):  # optimizer changes nothing: its CI is far inside ± 0.5 points
        return Outcome(0.8 + 0.05 * (p["lr"] == 0.01) + 0.0005 * p["seed"], best_epoch=4)

    proposal, _ = proposal_for(tmp_path, text, outcome)
    change = next(c for c in proposal.changes if c.rule == "no_effect")
    assert change.line.startswith("optimizer: every effect between its values lies within ±0.5 points")
    assert "fixed at sgd" in change.line  # RunConfig's default
    sweep, _ = written(tmp_path, proposal)
    assert sweep.fixed["optimizer"] == "sgd"
    grid = [r for r in sweep.runs if not r.parent]
    assert all(r.params["optimizer"] == "sgd" for r in grid)  # (its sgd runs finished: none is left to run)


def test_configurations_too_close_to_call_get_more_seeds(tmp_path):
    def outcome(p):  # adam and sgd within noise at lr 0.01; everything else far behind
        base = 0.9 if p["lr"] == 0.01 else 0.7
        return Outcome(base + (0.004 if p["seed"] else -0.004) * (1 if p["optimizer"] == "adam" else -1),
                       best_epoch=4)

    proposal, _ = proposal_for(tmp_path, GRID, outcome)
    change = next(c for c in proposal.changes if c.rule == "too_close")
    assert "not distinguishable from the best" in change.line and "both run again with seeds 2, 3" in change.line
    sweep, _ = written(tmp_path, proposal)
    confirming = [r for r in sweep.runs if r.parent]  # (refine's new lrs aside)
    assert {r.params["seed"] for r in confirming} == {2, 3} and len(confirming) == 4
    assert {r.params["lr"] for r in confirming} == {0.01}


OPTIMIZERS = GRID.replace("optimizer: [sgd, adam]", "optimizer: [sgd, adam, rmsprop]")


def wobble(p) -> float:
    """A fixed residual of about 0.2 points drawn per run, so the pooled model has noise to estimate."""
    return random.Random(repr(sorted(p.items()))).gauss(0.0, 0.002)


def test_a_categorical_value_that_loses_everywhere_is_dropped_from_its_grid(tmp_path):
    def outcome(p):  # rmsprop 5 points behind at every lr; sgd and adam level
        return Outcome(0.85 - 0.05 * (p["optimizer"] == "rmsprop") + 0.01 * (p["lr"] == 0.01) + wobble(p),
                       best_epoch=4)

    proposal, _ = proposal_for(tmp_path, OPTIMIZERS, outcome)
    change = next(c for c in proposal.changes if c.rule == "worse_values")
    assert change.line.startswith("optimizer: rmsprop lost to ") and "interacts with nothing" in change.line
    assert rules(proposal).count("worse_values") == 1  # sgd and adam never lose: they stay
    assert proposal.draft.grid is None or "rmsprop" not in proposal.draft.grid.get("optimizer", [])
    assert not any(r.get("optimizer") == "rmsprop" for r in proposal.draft.runs if not r.get("from"))


def test_a_value_that_loses_only_at_some_levels_of_another_parameter_stays(tmp_path):
    def outcome(p):  # rmsprop loses 5 points at lr 0.1 and is level at the other rates: an interaction
        return Outcome(0.85 - 0.05 * (p["optimizer"] == "rmsprop" and p["lr"] == 0.1) + wobble(p), best_epoch=4)

    proposal, _ = proposal_for(tmp_path, OPTIMIZERS, outcome)
    assert "worse_values" not in rules(proposal)


def test_numeric_values_are_never_dropped_as_worse(tmp_path):
    def outcome(p):  # lr 0.001 loses clearly, but the middle of a numeric axis is where the edge rule looks
        return Outcome(0.85 - 0.05 * (p["lr"] == 0.001) + wobble(p), best_epoch=4)

    proposal, _ = proposal_for(tmp_path, GRID, outcome)
    assert "worse_values" not in rules(proposal)


SEARCH_BASE = {"name": "srch", "fixed": {"dataset": "digits", "model": "mlp", "epochs": 4},
               "search": {"method": "tpe", "trials": 12, "seed": 0, "startup_trials": 4,
                          "space": {"lr": {"log_uniform": [0.0001, 0.1]}, "optimizer": ["sgd", "adam"]}},
               "metric": {"name": "val_acc", "goal": "maximize"}}


def search_proposal(tmp_path, lrs, optimizer, best_lr=3e-3):
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from studies import write_search

    def acc(lr, opt):  # best at best_lr with adam
        return 0.9 - 0.1 * abs(math.log10(lr / best_lr)) - 0.05 * (opt != "adam")

    trials = [({"lr": lr, "optimizer": optimizer(i)}, [acc(lr, optimizer(i)) - 0.1, acc(lr, optimizer(i))],
               "complete", None) for i, lr in enumerate(lrs)]
    root = write_search(tmp_path / "reports" / "srch", "srch", trials,
                        {"lr": FloatDistribution(1e-4, 1e-1, log=True),
                         "optimizer": CategoricalDistribution(["sgd", "adam"])},
                        early_terminate=None, search=SEARCH_BASE["search"])
    return propose(load_report(root), SEARCH_BASE, "srch")


def test_a_search_is_narrowed_to_the_region_of_its_best_trials(tmp_path):
    lrs = [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 1e-2, 3e-2, 1e-1, 2.5e-3, 3.5e-3]
    proposal = search_proposal(tmp_path, lrs, lambda i: "adam" if i % 3 else "sgd")
    change = next(c for c in proposal.changes if c.rule == "narrow_search")
    assert "lr: the best 3 of 12 complete trials used 0.0025 to 0.0035" in change.line
    assert "optimizer: the best 3 trials used adam" in change.line
    assert change.line.endswith("the search continues with 12 new trials")
    sweep, text = written(tmp_path, proposal)
    low, high = sweep.search.space["lr"].args
    assert 1e-4 < low < 2.5e-3 and 3.5e-3 < high < 1e-1  # inside the old range, around the best trials
    assert proposal.draft.search["space"]["optimizer"] == ["adam"]
    assert "startup_trials" not in proposal.draft.search and not sweep.runs  # a search: no grid runs of its own


def test_a_search_whose_best_trials_sit_at_a_bound_goes_past_it(tmp_path):
    lrs = [1e-1, 9e-2, 8e-2, 7e-2, 1e-3, 3e-4, 1e-4, 2e-4, 5e-4, 6e-4, 7e-4, 8e-4]
    proposal = search_proposal(tmp_path, lrs, lambda i: "adam", best_lr=0.1)  # best at the top of the range
    low, high = proposal.draft.search["space"]["lr"]["log_uniform"]
    assert 1e-4 < low < 8e-2 and high > 0.1  # the next search looks above the old range, not below it
    inside = search_proposal(tmp_path / "inside", lrs, lambda i: "adam", best_lr=3e-3)
    assert inside.draft.search["space"]["lr"]["log_uniform"][1] < 0.1  # best trials 1e-3, 8e-4, 7e-4: kept inside


def test_when_no_rule_fires_the_proposal_says_so_and_writes_no_file(tmp_path):
    text = "name: s\nfixed: {dataset: digits, model: mlp, epochs: 10}\ngrid: {lr: [0.005, 0.01, 0.02]}\n" \
           "seeds: [0, 1, 2]\n"

    def outcome(p):  # the middle learning rate wins clearly, early in its epochs, on a grid too fine to refine
        return Outcome({0.005: 0.7, 0.01: 0.9, 0.02: 0.6}[p["lr"]] + 0.001 * p["seed"], best_epoch=4)

    proposal, _ = proposal_for(tmp_path, text, outcome)
    assert proposal.draft is None and proposal.lines() == ["no rule fired: " + NOTHING]
    with pytest.raises(ValueError, match="no rule fired"):
        next_file_text(proposal, "next")


def test_a_budget_cuts_the_least_valuable_changes_first_and_says_so(tmp_path):
    text = GRID.replace("epochs: 10}", "epochs: 10, scheduler: cosine}")

    def outcome(p):  # best at the largest lr and still improving: an edge and a longer run
        return Outcome(0.80 + 0.05 * math.log10(p["lr"] / 0.001) + 0.001 * p["seed"], best_epoch=10)

    full, _ = proposal_for(tmp_path, text, outcome)
    assert {"edge", "not_converged"} <= set(rules(full))
    cut, _ = proposal_for(tmp_path / "cut", text, outcome, budget=4)
    assert "not_converged" in rules(cut) and "edge" in [c.rule for c in cut.cut]
    assert cut.draft.size() <= 4 and any(line.startswith("cut to fit the budget (edge)") for line in cut.lines())
    _, written_text = written(tmp_path, cut)
    assert "# Cut to fit the budget: edge" in written_text


CIFAR_RESULTS = {  # (model, mix, optimizer, lr, scheduler) -> val acc; the research report's shape
    "preact_resnet18": 0.685, "resnet18_imagenet": 0.504}


def research_outcome(p):
    """The research report's CIFAR-100 grid: PreAct ResNet-18 ahead by 18 points at its best (SGD, lr 0.01,
    cosine), its best runs converging at epochs 34 and 46 of 50; the pretrained ResNet-18 at 32 px behind."""
    best = CIFAR_RESULTS[p["model"]]
    good = p["optimizer"] == "sgd" and p["lr"] == 0.01 and p["scheduler"] == "cosine"
    acc = best - (0 if good else 0.05) - (0.01 if p["mix"] else 0)
    preact = p["model"] == "preact_resnet18"  # the pretrained network fits its small inputs early
    epoch = (46 if not p["mix"] else 34) if good and preact else 12 if not preact else 20
    return Outcome(acc, best_epoch=epoch, epochs_run=50)


def test_the_research_reports_follow_ups_come_out_of_its_records(tmp_path):
    text = (ROOT / "params" / "cifar100_grid.yaml").read_text()
    proposal, _ = proposal_for(tmp_path, text, research_outcome, name="cifar100_grid")
    lines = {c.rule: c.line for c in proposal.changes}
    assert "resnet18_imagenet with pretrained weights was trained at 32 px" in lines["pretrained_size"]
    assert "18.1 points behind the best run" in lines["pretrained_size"]
    assert "best epoch at 46 of 50 epochs" in lines["not_converged"]
    assert "epochs 50 -> 100 (t_max 50 -> 100, patience 3 -> 6)" in lines["not_converged"]
    # mix loses 1 point on average, but the mix run of the best recipe ties with the best: not clearly worse
    assert "preact_resnet18-mix-sgd-lr0.01-cosine is not distinguishable" in lines["too_close"]
    assert "worse_values" not in lines
    sweep, text = written(tmp_path, proposal)
    longer = [r for r in sweep.runs if r.params.get("epochs") == 100]
    assert len(longer) == 1 and longer[0].params["model"] == "preact_resnet18"
    assert longer[0].params["t_max"] == 100 and longer[0].params["patience"] == 6
    upsampled = [r for r in sweep.runs if r.params.get("input_size") == 224]
    assert len(upsampled) == 1 and upsampled[0].params["model"] == "resnet18_imagenet"
    assert upsampled[0].params["pretrained"] is True
    assert text.count("# ") >= len(proposal.changes)


@pytest.mark.slow
def test_next_on_a_real_digits_sweep_extends_lr_and_its_follow_ups_meet_their_parents(tmp_path, capsys):
    from lib.report.tables import compare_followups, followup_findings
    from lib.sweep.cli import main

    first = tmp_path / "lrs.yaml"
    first.write_text("name: lrs\nfixed: {dataset: digits, model: mlp, epochs: 2, optimizer: sgd}\n"
                     "grid: {lr: [0.001, 0.01, 0.1]}\nseeds: [0, 1]\n")
    reports = ["--reports-dir", str(tmp_path / "reports")]
    assert main(["run", str(first), "--workers", "2", "--no-report", *reports]) == 0
    capsys.readouterr()
    assert main(["next", str(first), "--budget", "8", *reports]) == 0
    printed = capsys.readouterr().out
    assert "edge: lr: " in printed and "largest value tried (0.1)" in printed
    proposed = tmp_path / "lrs_next.yaml"
    assert proposed.is_file() and f"wrote {proposed}" in printed
    assert main(["next", str(first), *reports]) == 2  # never overwritten without --force
    assert "exists; pass --force" in capsys.readouterr().err
    sweep = load_sweep(proposed)
    assert max(r.params["lr"] for r in sweep.runs) == 1.0 and len(sweep.runs) <= 8
    assert main(["run", str(proposed), "--workers", "2", "--no-report", *reports]) == 0
    report = load_report([tmp_path / "reports" / "lrs", tmp_path / "reports" / "lrs_next"])
    pairs = compare_followups(report)
    longer = pairs[pairs["changed"].str.contains("epochs 2 -> 4")]
    assert len(longer) and set(longer["matched"]) == {"from"}
    assert set(longer["earlier_run"]) <= {"lr0.1-seed0", "lr0.1-seed1"}
    assert any(s.startswith("follow-up lr0.1-ep4") and "2 seeds, each against the same seed" in s
               for s in followup_findings(report))


@pytest.mark.parametrize("out, force, message", [
    ("folder", True, "is a folder; give a file in it"),
    ("missing/next.yaml", False, "the folder {tmp}/missing does not exist"),
    ("dangling", False, "exists; pass --force"),  # a link to nothing is still something there
    ("/dev/null", True, "is not a regular file"),
])
def test_next_refuses_an_output_path_it_should_not_write_and_writes_nothing(tmp_path, capsys, out, force, message):
    from lib.sweep.cli import main

    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: s\nfixed: {dataset: digits}\ngrid: {lr: [0.1, 0.01]}\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    before = sorted(p.name for p in tmp_path.iterdir())
    target = out if out.startswith("/") else str(tmp_path / out)
    code = main(["next", str(sweep), "--out", target, "--reports-dir", str(tmp_path / "reports"),
                 *(["--force"] if force else [])])
    err = capsys.readouterr().err
    assert code == 2 and message.format(tmp=tmp_path) in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no folder made, no reports folder either
    assert list((tmp_path / "folder").iterdir()) == []


def test_combine_runs_the_models_best_values_together(tmp_path):
    # the best lr, 0.1, ran only at 2 epochs; 4 epochs only at the smaller lrs
    text = ("name: s\nfixed: {dataset: digits, model: mlp, optimizer: sgd}\nruns:\n"
            + "".join(f"  - {{lr: {lr}, epochs: {ep}}}\n" for lr, ep in
                      [(0.001, 2), (0.01, 2), (0.1, 2), (0.001, 4), (0.01, 4)]) + "seeds: [0, 1, 2]\n")

    def outcome(p):  # lr and epochs add up
        return Outcome(0.7 + 0.05 * math.log10(p["lr"] / 0.001) + 0.05 * (p["epochs"] == 4) + 0.001 * p["seed"],
                       best_epoch=1)

    proposal, _ = proposal_for(tmp_path, text, outcome)
    change = next(c for c in proposal.changes + proposal.done if c.rule == "combine")
    assert "lr 0.01 -> 0.1" in change.line and "runs again with" in change.line
    sweep, _ = written(tmp_path, proposal)  # edge's grid over lr and epochs covers it here, else combine's run
    assert any(r.params["lr"] == 0.1 and r.params["epochs"] == 4 for r in sweep.runs)
