"""Search spaces and stopping rules that no run could take: refused in one line before anything runs,
in our format and in W&B's (whole-number fields given real-number distributions; numbers too large
for a float)."""

import pytest

from lib.config.errors import SweepFileError
from lib.config.search import parse_dimension
from lib.config.sweepfile import load_sweep
from lib.sweep.cli import main

HUGE = "1" + "0" * 400  # a 401-digit integer: a valid YAML int that no float can hold


def write(tmp_path, text: str):
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


def one_line_error(tmp_path, capsys, text: str) -> str:
    path = write(tmp_path, text)
    reports = tmp_path / "reports"
    assert main(["run", str(path), "--dry-run", "--reports-dir", str(reports)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert not reports.exists()
    return err


@pytest.mark.parametrize("spec, fix", [
    ({"uniform": [16, 64]}, "use {int_uniform: [16, 64]}"),
    ({"uniform": [16.5, 64.0]}, "use {int_uniform: [17, 64]}"),
    ({"log_uniform": [16, 256]}, "use {q_log_uniform: [16, 256, 1]}"),
    ({"normal": [64, 8]}, "use {q_normal: [64, 8, 1]}"),
])
def test_a_real_number_distribution_over_a_whole_number_field_is_refused_with_the_fix(spec, fix):
    kind = next(iter(spec))
    with pytest.raises(SweepFileError, match=f"batch_size takes whole numbers and {kind} draws real ones") as error:
        parse_dimension("batch_size", spec, "space.batch_size")
    assert fix in str(error.value)
    with pytest.raises(SweepFileError, match="batch_size takes whole numbers, so q must be a whole number"):
        parse_dimension("batch_size", {"q_uniform": [16, 64, 0.5]}, "space.batch_size")
    assert parse_dimension("batch_size", {"int_uniform": [16, 64]}, "space.batch_size").value(37) == 37
    assert parse_dimension("lr", {"uniform": [0.1, 1]}, "space.lr").value(0.37) == 0.37  # real fields keep them


@pytest.mark.parametrize("parameter, message", [
    ("{distribution: uniform, min: 16, max: 64}", "use int_uniform, or give min and max as whole numbers"),
    ("{min: 16, max: 64.0}", "use int_uniform"),  # W&B infers uniform from a real bound
    ("{distribution: log_uniform_values, min: 16, max: 256}", "use q_log_uniform_values (q: 1"),
    ("{distribution: q_uniform, min: 16, max: 64, q: 0.5}", "q must be a whole number"),
])
def test_wandb_real_number_distributions_over_a_whole_number_field_are_refused(tmp_path, capsys, parameter, message):
    err = one_line_error(tmp_path, capsys, f"method: random\nrun_cap: 4\nparameters: {{batch_size: {parameter}}}\n")
    assert "parameters.batch_size" in err and message in err
    assert "takes whole numbers" in err


@pytest.mark.parametrize("text", [
    f"name: s\nsearch: {{trials: 2, space: {{lr: {{uniform: [0.1, {HUGE}]}}}}}}\n",
    f"name: s\nsearch: {{trials: 2, space: {{epochs: {{int_uniform: [1, {HUGE}]}}}}}}\n",
    f"name: s\nsearch: {{trials: 2, space: {{lr: {{normal: [{HUGE}, 1]}}}}}}\n",
    f"name: s\nsearch: {{trials: 2, space: {{lr: {{q_uniform: [0.1, 1, {HUGE}]}}}}}}\n",
    f"name: s\nsearch: {{trials: {HUGE}, space: {{lr: [0.1, 0.2]}}}}\n",
    f"name: s\nfixed: {{lr: {HUGE}}}\n",
    f"name: s\ngrid: {{epochs: [1, {HUGE}]}}\n",
    f"name: s\ngrid: {{lr: [0.1]}}\nmetric: {{name: val_acc}}\nearly_terminate: {{type: asha, reduction_factor: {HUGE}}}\n",
    f"method: random\nrun_cap: 2\nparameters: {{lr: {{min: 0.1, max: {HUGE}}}}}\n",
    f"method: random\nrun_cap: 2\nparameters: {{lr: {{distribution: normal, mu: {HUGE}, sigma: 1}}}}\n",
    f"method: grid\nparameters: {{epochs: {{distribution: int_uniform, min: 1, max: {HUGE}}}}}\n",
    f"method: random\nrun_cap: {HUGE}\nparameters: {{lr: {{values: [0.1, 0.2]}}}}\n",
    f"method: random\nrun_cap: 2\nmetric: {{name: val_acc, goal: maximize}}\n"
    f"early_terminate: {{type: hyperband, min_iter: 1, eta: {HUGE}}}\nparameters: {{lr: {{values: [0.1, 0.2]}}}}\n",
    f"method: random\nrun_cap: 2\nmetric: {{name: val_acc, goal: maximize}}\n"
    f"early_terminate: {{type: hyperband, max_iter: {HUGE}, s: 2}}\nparameters: {{lr: {{values: [0.1, 0.2]}}}}\n",
    f"method: random\nrun_cap: 2\nmetric: {{name: val_acc, goal: maximize}}\n"
    f"early_terminate: {{type: hyperband, min_iter: {HUGE}}}\nparameters: {{lr: {{values: [0.1, 0.2]}}}}\n",
    "name: s\nfixed: {lr: " + "1" * 5000 + "}\n",  # more digits than Python converts
], ids=["uniform", "int_uniform", "normal", "q", "trials", "fixed", "grid", "reduction_factor", "wandb-max",
        "wandb-mu", "wandb-grid", "wandb-run_cap", "wandb-eta", "wandb-max_iter", "wandb-min_iter", "5000-digits"])
def test_integers_too_large_for_a_float_are_one_line_everywhere(tmp_path, capsys, text):
    err = one_line_error(tmp_path, capsys, text)
    assert "OverflowError" not in err


def test_a_huge_bound_is_named_by_its_size(tmp_path):
    with pytest.raises(SweepFileError, match=r"as numbers that a float can hold, got \[0.1, an integer of 401 digits\]"):
        load_sweep(write(tmp_path, f"name: s\nsearch: {{trials: 2, space: {{lr: {{uniform: [0.1, {HUGE}]}}}}}}\n"))


@pytest.mark.parametrize("spec, draws, inside", [
    ({"q_uniform": [0.25, 0.95, 0.1]}, [0.25, 0.26, 0.6, 0.95], [0.3, 0.3, 0.6, 0.9]),  # round(2.5) would be 0.2
    ({"q_uniform": [0.04, 0.5, 0.1]}, [0.04, 0.5], [0.1, 0.5]),  # round(0.4) would be 0, an lr no run takes
    ({"q_log_uniform": [0.003, 0.1, 0.01]}, [0.003, 0.1], [0.01, 0.1]),
])
def test_quantized_uniform_draws_stay_inside_their_range(spec, draws, inside):
    dim = parse_dimension("lr", spec, "space.lr")
    assert [dim.value(x) for x in draws] == pytest.approx(inside)


def test_a_quantized_range_holding_no_multiple_of_q_is_refused():
    with pytest.raises(SweepFileError, match=r"q_uniform \[0.13, 0.17, 0.1\]: no multiple of q = 0.1 lies between"):
        parse_dimension("lr", {"q_uniform": [0.13, 0.17, 0.1]}, "space.lr")
