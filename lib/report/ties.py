"""Which configurations the sweep cannot tell from the best: each configuration against the best, against the
pooled configuration x seed error, Holm over the comparisons; the configurations table's `tied_with_best`,
decided once (lib.report.design.tied_with_best reads it).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from lib.core.values import sort_key
from lib.report.design import ALPHA, EXACT, Design, config_name, config_rows, two_sided_p
from lib.report.linear import LinearFit, holm, statsmodels_regression

CONFIG_EXTRA = ["vs_best", "p_vs_best", "p_holm_vs_best"]  # before tied_with_best in the configurations table


def configs_against_best(design: Design, fit: LinearFit | None) -> tuple[pd.DataFrame, str]:
    """The configurations table (lib.report.design.config_rows), its ties with the best decided against the
    pooled error.

    With configurations that share seeds and leave residual df: y ~ configuration + seed over the cells
    (treatment-coded with the best as reference, so each coefficient is that configuration minus the best).
    Otherwise, with the pooled model's residual variance when it has df (one seed: interactions of three or
    more parameters), each configuration's mean against the best's. Holm over the comparisons; no error
    estimate: untested (None).
    """
    table = config_rows(design)
    for column in CONFIG_EXTRA:
        table.insert(len(table.columns) - 1, column, math.nan)
    if len(table) < 2:
        return table, ""
    cells = design.cells
    keys = [tuple(r) for r in cells[design.params].itertuples(index=False)] if design.params else [()] * len(cells)
    labels = [config_name(design, k) for k in keys]
    order = list(table["config"])
    index = {c: i for i, c in enumerate(order)}  # 0: the best
    config = np.array([index[label] for label in labels])
    y = cells["val_acc"].to_numpy(dtype=float)
    diffs, ses, df, method = _against_best(config, cells["seed"].to_numpy(), y, len(order), fit)
    tests = np.array([(two_sided_p(d / s, df) if s > EXACT else (0.0 if abs(d) > EXACT else 1.0))
                      if math.isfinite(s) and df > 0 else math.nan for d, s in zip(diffs, ses)])
    adjusted = holm(tests)
    table.loc[1:, "vs_best"] = diffs
    table.loc[1:, "p_vs_best"] = tests
    table.loc[1:, "p_holm_vs_best"] = adjusted
    ties: list[bool | None] = [True]
    for d, q in zip(diffs, adjusted):
        ties.append(True if abs(d) <= EXACT else None if not math.isfinite(q) else bool(q >= ALPHA))
    table["tied_with_best"] = pd.Series(ties, index=table.index, dtype=object)
    return table, method


def _against_best(config: np.ndarray, seeds: np.ndarray, y: np.ndarray, k: int,
                        fit: LinearFit | None) -> tuple[np.ndarray, np.ndarray, float, str]:
    """Each configuration minus the best (index 0), its standard error, the df and how the error was pooled."""
    sm = statsmodels_regression()
    seed_levels = sorted(set(seeds.tolist()), key=sort_key)
    if len(seed_levels) > 1:
        seed_index = np.array([seed_levels.index(s) for s in seeds.tolist()])
        X = np.hstack([np.ones((len(y), 1)), (config[:, None] == np.arange(1, k)[None, :]).astype(float),
                       (seed_index[:, None] == np.arange(1, len(seed_levels))[None, :]).astype(float)])
        if np.linalg.matrix_rank(X) == X.shape[1] and len(y) > X.shape[1]:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                result = sm.OLS(y, X).fit()
            se = np.sqrt(np.clip(np.diag(result.cov_params())[1:k], 0, None))
            return (np.asarray(result.params[1:k]), se, float(result.df_resid),
                    f"configuration x seed scatter pooled over all configurations (y ~ configuration + seed, "
                    f"{result.df_resid:g} df)")
    means = np.array([y[config == c].mean() for c in range(k)])
    counts = np.array([(config == c).sum() for c in range(k)])
    diffs = means[1:] - means[0]
    if fit is None or fit.df <= 0:
        return diffs, np.full(k - 1, math.nan), 0.0, "no pooled error (no residual degrees of freedom): untested"
    scale = float(fit.result.scale)
    se = np.sqrt(scale * (1 / counts[1:] + 1 / counts[0]))
    return diffs, se, fit.df, f"the pooled model's residual scatter ({fit.df:g} df)"
