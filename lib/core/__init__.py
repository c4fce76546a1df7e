"""What every layer shares: paths, numbers as text, the run-folder layout, record I/O, locks, the study
storage. The names below are what other packages may use; each lives in the module it is listed under
(lib.core.exports explains the lazy import)."""

from lib.core.exports import public_face

__all__, __getattr__ = public_face(__name__, {
    "curves": ("PRUNED_LOOK", "accuracy_axis", "cut_marker", "cut_short", "epoch_axis", "plot_history"),
    "exits": ("os_error_line", "quiet_pipe"),
    "exports": ("public_face",),
    "formatting": ("MISSING", "TIMESTAMP", "as_float", "duration", "is_bool", "is_missing", "is_number", "is_whole",
                   "native", "number", "shown", "timestamp", "too_large"),
    "journal": ("repair_journal",),
    "layout": ("BEST", "CHECKPOINTS", "CONFIG", "FAILURE", "HISTORY", "LAST", "METRICS", "NOTEBOOK", "NOTEBOOK_HTML", "PARAMS",
               "PARTIAL_NOTEBOOK", "PREVIOUS", "RECORD_FILES", "REPORT_HTML", "REPORT_NOTEBOOK", "REPORT_PARTIAL",
               "RUN_LOG", "RUN_RESULTS", "SUBMITTED", "SWEEP_JSON", "SWEEP_LOCK", "WANDB_ID", "WORKER_PID", "run_dir",
               "runs_dir"),
    "locks": ("LockBusy", "hold"),
    "pagescripts": ("SCRIPT_HASHES", "script_hashes", "with_policy"),
    "paths": ("data_root", "project_root", "resolve"),
    "records": ("DAMAGED", "FINISHED_STATUSES", "RANKED_STATUSES", "RunLockedError", "RunState", "VAL_ACC_MEANING",
                "atomic_write_bytes", "atomic_write_text", "best_epoch", "load_checkpoint", "load_history", "load_run",
                "read_json", "remove_stale_temp_files", "run_lock", "run_state", "save_checkpoint", "write_history",
                "write_json"),
    "storage": ("NoSuchStudy", "PASSWORD_ENV", "StudyMissing", "StudyStorageError", "TrialRef", "is_url", "masked",
                "open_storage",
                "quiet_optuna", "read_study", "recorded_study", "storage_exists", "storage_problem", "storage_spec",
                "study_location"),
    "values": ("key", "number_text", "ordered", "reader_text", "same", "sort_key", "sweep_text"),
})
