"""The proposal rules' registry and their objects agree: every module under lib/report/proposal/rules/ is one
Rule, named after its file and listed once in RULES, and every change a proposal makes carries one of them."""

import importlib
import math
from pathlib import Path

import yaml

import lib.report.proposal.rules as rules_package
from benchmarks.synthetic import Outcome, write_sweep
from lib.report.load import load_report
from lib.report.proposal import RULES, propose
from lib.report.proposal.rule import Rule

RULE_FILES = sorted(p.stem for p in Path(rules_package.__file__).parent.glob("*.py") if p.stem != "__init__")


def test_every_rule_file_holds_one_rule_named_after_it_and_the_registry_lists_each_once():
    assert sorted(rule.name for rule in RULES) == RULE_FILES  # a rule left out of RULES, or listed twice, fails
    for stem in RULE_FILES:
        module = importlib.import_module(f"{rules_package.__name__}.{stem}")
        found = [v for v in vars(module).values() if isinstance(v, Rule)]
        assert found == [module.RULE] and module.RULE.name == stem
        assert any(rule is module.RULE for rule in RULES)


def test_every_rule_has_a_value_a_description_and_a_proposer_and_the_registry_is_most_valuable_first():
    for rule in RULES:
        assert isinstance(rule.value, int) and rule.value > 0, rule.name
        assert rule.doc and rule.doc.strip(), rule.name
        assert callable(rule.propose), rule.name
    assert [r.value for r in RULES] == sorted((r.value for r in RULES), reverse=True)  # the order a budget keeps


def test_the_settling_rules_are_exactly_those_that_say_they_settle():
    assert {r.name for r in RULES if r.settles} == {"inert", "no_effect", "worse_values", "stopped_before_annealed"}


def test_every_change_a_proposal_makes_carries_a_rule_of_the_registry(tmp_path):
    text = """
name: s
fixed: {dataset: digits, model: mlp, epochs: 10, scheduler: cosine, step_size: 3}
grid:
  lr: [0.001, 0.01, 0.1]
  optimizer: [sgd, adam]
seeds: [0, 1]
"""

    def outcome(p):  # best at the largest lr and still improving; step_size cannot act under cosine
        return Outcome(0.80 + 0.05 * math.log10(p["lr"] / 0.001) + 0.001 * p["seed"], best_epoch=10)

    write_sweep(tmp_path / "s.yaml", text, tmp_path / "reports" / "s", outcome)
    proposal = propose(load_report(tmp_path / "reports" / "s"), yaml.safe_load(text), "s", budget=30)
    changes = proposal.changes + proposal.cut + proposal.done + [c for pair in proposal.overruled for c in pair]
    assert {"edge", "not_converged", "inert"} <= {c.rule for c in changes}
    for change in changes:
        assert any(change.by is rule for rule in RULES) and change.rule == change.by.name
        assert change.value == change.by.value and change.settles == change.by.settles
