"""Many runs: the `sweeplab` / `python -m lib.sweep` command line, planning, the driver, the study, the
status table, publishing the report, and the executors. The names below are what other packages may use;
each lives in the module it is listed under, and none is imported until asked for (lib.core.exports), so
this package stays free of torch and pandas."""

from lib.core.exports import public_face

__all__, __getattr__ = public_face(__name__, {
    "cli": ("build_parser", "main"),
    "executors": ("EXECUTORS", "make_executor"),
    "plan": ("write_sweep_record",),
})
