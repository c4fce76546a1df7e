"""The torch-free config layer: RunConfig, sweep files, search sections, W&B sweep files, run naming. The
names below are what other packages may use; each lives in the module it is listed under (lib.core.exports
explains the lazy import)."""

from lib.core.exports import public_face

__all__, __getattr__ = public_face(__name__, {
    "runconfig": ("CHOICES", "COMPUTE_FIELDS", "DATASETS", "FIELD_TYPES", "OPTIMIZERS", "RUNTIME_FIELDS", "RunConfig",
                     "SCHEDULERS", "base_type", "config_diff", "defaults", "field_comments", "field_sections",
                  "group_warnings", "limit_problem", "parse_text", "RUNNER_NOTE"),
    "errors": ("ConfigError", "SweepFileError"),
    "naming": ("NAME_RE", "SEED_SUFFIX", "config_label", "part", "seeded", "unseeded"),
    "runs": ("CONFIG_PARAMETER", "MAX_RUNS", "RUNNER_KEYS", "config_key", "placed", "run_config"),
    "search": ("StudySettings", "default_startup_trials", "pruner_from_attrs"),
    "sweepfile": ("RunSpec", "Sweep", "is_sweep", "load_sweep", "parse_sweep"),
    "wandb": ("convert", "is_wandb_sweep"),
    "yamlfile": ("read_yaml",),
})
