"""The configuration every Jupyter kernel of this environment reads: `make setup` writes it to
<venv>/etc/ipython/ipython_kernel_config.py (`python -m lib.run.kernel_config PATH`), where IPython looks.

It does one thing. ipykernel warns on each start that the kernel 'is running over TCP without
encryption' unless its kernel manager gave it CurveZMQ keys. The sweep runner's kernels get keys
(lib.sweep.executors.kernels.kernel_manager); a plain `papermill` run's kernel manager is nbclient's, which
no file or flag configures, so the kernel's log drops that one message (traitlets' `logging_config`
adds a filter to its console handler). Every other message of the kernel's log stays. The file is
self-contained: a kernel started where `lib` is not importable reads it too.
"""

from __future__ import annotations

import sys
from pathlib import Path

TCP_WARNING = "Kernel is running over TCP without encryption"

CONFIG = f'''# Written by `make setup` (python -m lib.run.kernel_config); read by every IPython kernel of this environment.
# A plain papermill run's kernel gets no CurveZMQ keys from its manager; drop only the warning that says so.
def _without_tcp_warning():
    return lambda record: not record.getMessage().startswith({TCP_WARNING!r})


c.Application.logging_config = {{"filters": {{"no_tcp_warning": {{"()": _without_tcp_warning}}}},
                                "handlers": {{"console": {{"filters": ["no_tcp_warning"]}}}}}}
'''


def write(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONFIG)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else Path(sys.prefix) / "etc" / "ipython" / "ipython_kernel_config.py"
    write(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
