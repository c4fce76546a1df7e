"""`next` is safe to loop on: one test per defect issue 25 found (each failed before its fix). A proposal never
pays twice for a finished configuration, never proposes a value its limits call unsafe, gives each follow-up
exactly its parent's configuration, never says two contradicting things, refuses a `from:` that names no
existing run, and says why nothing was proposed when every run failed."""

import pytest
import yaml

from benchmarks.synthetic import Outcome, write_sweep
from lib.core.layout import CONFIG, run_dir
from lib.core.records import read_json
from lib.report.load import load_report
from lib.report.nextfile import next_file_text
from lib.report.proposal import propose
from lib.report.proposal.finished import finished_configs, planned_identity, run_identity
from lib.config.runs import RUNNER_KEYS, run_config
from lib.config.sweepfile import load_sweep
from lib.sweep.cli import main


def proposal_for(tmp_path, text, outcome, name="g"):
    write_sweep(tmp_path / f"{name}.yaml", text, tmp_path / "reports" / name, outcome)
    report = load_report(tmp_path / "reports" / name)
    return report, propose(report, yaml.safe_load(text), name)


def file_of(proposal, tmp_path):
    path = tmp_path / "next.yaml"
    path.write_text(next_file_text(proposal, "python -m lib.sweep next"))
    return load_sweep(path)


SMALL = """
name: g
fixed: {dataset: digits, model: mlp, epochs: 10}
grid:
  lr: [0.01, 0.1]
  weight_decay: [0.0, 0.0005]
seeds: [0, 1]
"""


def lr_wins_wd_inert(p):  # lr 0.1 wins clearly and is still improving; weight decay changes nothing
    return Outcome(0.85 + 0.03 * (p["lr"] == 0.1) + 0.0004 * p["seed"], best_epoch=10 if p["lr"] == 0.1 else 4)


def test_no_finished_configuration_is_proposed_again_and_a_dry_run_executes_only_new_work(tmp_path, capsys):
    report, proposal = proposal_for(tmp_path, SMALL, lr_wins_wd_inert)
    finished = finished_configs(report)
    assert len(finished) == 8
    sweep = file_of(proposal, tmp_path)
    assert sweep.runs and all(planned_identity(sweep.name, r.params) not in finished for r in sweep.runs)
    assert proposal.draft.size() == len(sweep.runs)  # what it says it costs is what runs
    # the dry run of the proposal counts only these runs as work
    assert main(["run", str(tmp_path / "next.yaml"), "--dry-run", "--reports-dir", str(tmp_path / "reports")]) == 0
    assert f"would execute {len(sweep.runs)}:" in capsys.readouterr().out
    # a finished run's identity is its config.json's, runner keys aside
    name = next(iter(finished.values()))
    config = read_json(run_dir(tmp_path / "reports" / "g", name) / CONFIG)
    assert run_identity(config) in finished and not set(RUNNER_KEYS) & {k for k, _ in run_identity(config)}


def test_an_edge_step_never_reaches_an_unsafe_value(tmp_path):
    text = SMALL.replace("lr: [0.01, 0.1]", "val_fraction: [0.05, 0.1, 0.15]").replace("seeds: [0, 1]",
                                                                                        "seeds: [0, 1, 2]")

    def outcome(p):  # the smallest validation share looks best: the next step down would be 0
        return Outcome(0.9 - 0.2 * p["val_fraction"] + 0.0004 * p["seed"], best_epoch=4)

    _, proposal = proposal_for(tmp_path, text, outcome)
    values = [r.get("val_fraction") for r in proposal.draft.runs] if proposal.draft else []
    values += (proposal.draft.grid or {}).get("val_fraction", []) if proposal.draft else []
    assert 0 not in values and 0.0 not in values
    assert not any(c.rule == "edge" and "val_fraction" in c.params for c in proposal.changes)


def test_follow_ups_carry_their_parents_configuration_and_the_stated_change_only(tmp_path):
    report, proposal = proposal_for(tmp_path, SMALL, lr_wins_wd_inert)
    rules = [c.rule for c in proposal.changes]
    assert "no_effect" in rules and "not_converged" in rules  # weight_decay fixed at 0.0005 for the grid
    sweep = file_of(proposal, tmp_path)
    followups = [r for r in sweep.runs if r.parent]
    assert followups
    for spec in followups:
        parent = read_json(run_dir(tmp_path / "reports" / "g", spec.parent.split("/")[1]) / CONFIG)
        mine = run_config(sweep.name, spec.name, spec.params).to_dict()
        changed = {k for k in mine if k not in RUNNER_KEYS and mine[k] != parent.get(k)}
        assert changed in ({"epochs"}, {"seed"}), (spec.name, changed)
    # "both run again with seeds 2, 3": both configurations are in the file, with both seeds
    line = next((c.line for c in proposal.changes if c.rule == "too_close"), None)
    if line and "both run again with seeds 2, 3" in line:
        confirming = {(r.params["weight_decay"], r.params["seed"]) for r in sweep.runs if r.params["seed"] in (2, 3)}
        assert len({wd for wd, _ in confirming}) == 2 and len(confirming) == 4


def test_a_parameter_settled_as_without_effect_is_not_also_extended(tmp_path):
    text = SMALL.replace("lr: [0.01, 0.1]", "lr: [0.001, 0.01, 0.1]")

    def tied(p):  # every run at 0.900
        return Outcome(0.9, best_epoch=4)

    _, proposal = proposal_for(tmp_path, text, tied)
    lines = proposal.lines()
    settled = {p for c in proposal.changes if c.rule == "no_effect" for p in c.params}
    explored = {p for c in proposal.changes if c.rule == "edge" for p in c.params}
    assert "lr" in settled and not settled & explored
    assert any("overruled by no_effect" in line for line in lines)
    assert not any(line.startswith("edge: lr") for line in lines)


def write_parent_sweep(tmp_path):
    write_sweep(tmp_path / "a.yaml", "name: a\nfixed: {dataset: digits, model: mlp, epochs: 2}\n"
                "grid: {lr: [0.01, 0.1]}\n", tmp_path / "reports" / "a", lambda p: Outcome(0.9, best_epoch=2))


@pytest.mark.parametrize("parent, message", [
    ("a/doesnotexist", "does not hold it"),
    ("b/lr0.1", "does not hold it"),  # a sweep that has no folder under --reports-dir
    ("f/long", "names itself"),
])
@pytest.mark.parametrize("dry", [True, False])
def test_from_must_name_an_existing_run_at_dry_run_and_run(tmp_path, capsys, parent, message, dry):
    write_parent_sweep(tmp_path)
    path = tmp_path / "f.yaml"
    path.write_text(f"name: f\nfixed: {{dataset: digits, model: mlp, epochs: 2}}\n"
                    f"runs:\n  - {{name: long, from: {parent}, epochs: 4}}\n")
    argv = ["run", str(path), "--reports-dir", str(tmp_path / "reports"), "--no-report"] + (["--dry-run"] if dry
                                                                                           else [])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and parent in err
    assert not (tmp_path / "reports" / "f").exists()


def test_from_an_existing_run_passes_the_check(tmp_path, capsys):
    write_parent_sweep(tmp_path)
    path = tmp_path / "f.yaml"
    path.write_text("name: f\nfixed: {dataset: digits, model: mlp, epochs: 2}\n"
                    "runs:\n  - {name: long, from: a/lr0.1, epochs: 4}\n")
    assert main(["run", str(path), "--dry-run", "--reports-dir", str(tmp_path / "reports")]) == 0


def test_next_says_why_when_every_run_failed(tmp_path, capsys):
    text = "name: g\nfixed: {dataset: digits, model: mlp, epochs: 2}\ngrid: {lr: [0.01, 0.1]}\n"
    path = tmp_path / "g.yaml"
    write_sweep(path, text, tmp_path / "reports" / "g", lambda p: None)
    for name in ("lr0.01", "lr0.1"):  # each started and failed, as a failed run leaves its folder
        folder = run_dir(tmp_path / "reports" / "g", name)
        folder.mkdir(parents=True)
        (folder / "failure.json").write_text('{"error": "boom"}')
    assert main(["next", str(path), "--reports-dir", str(tmp_path / "reports")]) == 2
    err = capsys.readouterr().err
    assert "every run of g failed (2 run(s))" in err and "--retry-failed" in err and "run the sweep first" not in err
