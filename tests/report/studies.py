"""Search sweep folders in the real layout, for the report's tests: run records beside an Optuna study in journal
storage, built with ask/report/tell as the sweep runner does (its trials carry their run's name and values)."""

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from lib.core.records import write_history, write_json

EPOCHS = 4  # configured epochs of every run here
ASHA = {"type": "asha", "min_epochs": 1, "reduction_factor": 3}
TPE = {"method": "tpe", "trials": 8, "seed": 0}


def write_run(root, name, params, val_accs, status="completed", epoch_s=None):
    """A run folder; its metrics are taken at the epoch with the highest validation accuracy (lowest loss)."""
    run = root / "runs" / name
    epoch_s = epoch_s or [1.0] * len(val_accs)
    history = [{"epoch": i + 1, "train_loss": 1.0 - acc, "train_acc": acc, "val_loss": 1.0 - acc, "val_acc": acc,
                "lr": 0.1, "epoch_s": s, "images_per_s": 1000.0} for i, (acc, s) in enumerate(zip(val_accs, epoch_s))]
    write_history(run / "history.csv", history)
    write_json(run / "config.json", {"dataset": "digits", "model": "mlp", "seed": 0, "epochs": EPOCHS, **params})
    best = max(history, key=lambda h: h["val_acc"])
    write_json(run / "metrics.json", {
        "status": status, "best_epoch": best["epoch"], "epochs_run": len(history), "train_loss": best["train_loss"],
        "train_acc": best["train_acc"], "val_loss": best["val_loss"], "val_acc": best["val_acc"],
        "test_acc": None if status == "pruned" else 0.5, "test_loss": None if status == "pruned" else 1.0,
        "wall_time_s": sum(epoch_s), "images_per_s": 1000.0, "val_is_test": False})


def write_search(root, name, trials, distributions, metric="val_acc", goal="maximize", early_terminate=ASHA,
                 search=TPE):
    """A search sweep: sweep.json, study.journal and run folders.

    `trials`: [(params, per-epoch metric values, "complete" | "pruned", epoch seconds or None)], in trial order.
    """
    root.mkdir(parents=True)
    storage = JournalStorage(JournalFileBackend(str(root / "study.journal")))
    study = optuna.create_study(study_name=name, storage=storage, direction=goal)
    study.set_user_attr("metric", {"name": metric, "goal": goal})
    study.set_user_attr("early_terminate", early_terminate)
    study.set_user_attr("search", search)
    runs = []
    for i, (params, values, state, epoch_s) in enumerate(trials):
        run = f"trial-{i:03d}"
        if params:
            study.enqueue_trial(params)
        trial = study.ask({k: distributions[k] for k in params})
        trial.set_user_attr("run", run)
        trial.set_user_attr("values", params)
        for epoch, value in enumerate(values, 1):
            trial.report(value, epoch)
        if state == "pruned":
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, max(values) if goal == "maximize" else min(values))
        accs = values if metric == "val_acc" else [1.0 - v for v in values]
        write_run(root, run, params, accs, "pruned" if state == "pruned" else "completed", epoch_s)
        runs.append({"name": run, "source": "search", "params": params})
    write_json(root / "sweep.json", {"name": name, "description": "", "fixed": {"model": "mlp", "epochs": EPOCHS},
                                     "varying": sorted({k for p, *_ in trials for k in p}), "runs": runs,
                                     "metric": {"name": metric, "goal": goal}, "search": search,
                                     "early_terminate": early_terminate})
    return root
