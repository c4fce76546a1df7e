"""The report of one or more sweeps, from their records alone: loading, statistics, tables, figures, the
notebook's sections, and what to run next. The names below are what other packages and the report notebook
may use; each lives in the module it is listed under, and none is imported until asked for
(lib.core.exports)."""

from lib.core.exports import public_face

__all__, __getattr__ = public_face(__name__, {
    "chain": ("show_chain",),
    "columns": ("METRIC_LABELS",),
    "contents": ("show_title",),
    "links": ("set_output",),
    "load": ("load_report", "plan_note"),
    "nextfile": ("next_file_text",),
    "proposal.choose": ("propose",),
    "search_section": ("show_search",),
    "sections": ("show_best", "show_best_runs", "show_combined_curves", "show_configs", "show_diagnostics",
                 "show_effects", "show_failures", "show_findings", "show_followups", "show_interactions",
                 "show_isolation", "show_leaderboard", "show_next", "show_overview", "show_parameter_effects",
                 "show_tables", "show_throughput"),
    "tables": ("sweep_folders", "write_tables"),
})
