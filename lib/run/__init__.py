"""One training run: data, models, augmentation, the training loop, checkpoints; it knows no sweep and no
report. The names below are what other packages may use; each lives in the module it is listed under, and
none is imported until asked for (lib.core.exports), so `import lib.run` loads no torch."""

from lib.core.exports import public_face

__all__, __getattr__ = public_face(__name__, {
    "augment": ("AugmentSpec", "mix_batch"),
    "backend": ("configure_backend", "select_device"),
    "cli": ("main",),
    "datasets": ("Data", "DatasetError", "Split", "load_data"),
    "display": ("metrics_table",),
    "loaders": ("DeviceLoader",),
    "loop": ("run", "train_one_epoch"),
    "models": ("MODELS", "build_model"),
    "notebook": ("config_from_namespace",),
    "state": ("OPTIMIZER_BUILDERS", "Precision", "SCHEDULER_BUILDERS", "build_optimizer", "build_scheduler"),
})
