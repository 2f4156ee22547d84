"""Run the plugin walk-through of docs/plugins.md exactly as written.

The guide marks its steps with HTML comments (invisible on the site) before a code block:

- ``<!-- walkthrough: run -->``: a bash block, run as written;
- ``<!-- walkthrough: console -->``: a console block, its ``$ `` lines run;
- ``<!-- walkthrough: write PATH -->``: a file block, written to PATH (relative to the
  directory the walk-through starts in).

All steps run in one bash process, in order, so ``cd`` and an activated venv carry over.

    python scripts/docs_walkthrough.py WORKDIR [--skip N] [--prelude BASH] [--print]

``MTUS_KB`` (see the guide) must be set for the first step. ``--skip N`` leaves out the first
N steps and ``--prelude`` runs bash first: the test suite uses them to replace the networked
install with an offline one.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
MARKER = re.compile(r"<!-- walkthrough: (run|console|write (\S+)) -->\n```[^\n]*\n(.*?)^```", re.S | re.M)
EOF_TAG = "MTUS_WALKTHROUGH_EOF"


@dataclass(frozen=True)
class Step:
    kind: str  # run | console | write
    body: str
    path: str | None = None


def steps(guide: Path = GUIDE) -> list[Step]:
    """The marked steps of the guide, in order."""
    found = []
    for match in MARKER.finditer(guide.read_text(encoding="utf-8")):
        kind = match.group(1).split()[0]
        found.append(Step(kind, match.group(3), match.group(2)))
    return found


def script(chosen: list[Step], prelude: str = "") -> str:
    """One bash script running ``chosen`` in order from the current directory."""
    lines = ["set -euo pipefail", 'WALK_ROOT="$PWD"', prelude]
    for step in chosen:
        if step.kind == "run":
            lines.append(step.body)
        elif step.kind == "console":
            lines += [line[2:] for line in step.body.splitlines() if line.startswith("$ ")]
        else:
            assert step.path is not None and EOF_TAG not in step.body
            lines += [f'mkdir -p "$(dirname "$WALK_ROOT/{step.path}")"', f'cat > "$WALK_ROOT"/{shlex.quote(step.path)} <<\'{EOF_TAG}\'', step.body.rstrip("\n"), EOF_TAG]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--skip", type=int, default=0, help="leave out the first N steps")
    parser.add_argument("--prelude", default="", help="bash to run before the steps")
    parser.add_argument("--print", action="store_true", help="print the script instead of running it")
    args = parser.parse_args(argv)
    text = script(steps()[args.skip:], args.prelude)
    if args.print:
        print(text)
        return 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["bash", "-c", text], cwd=args.workdir).returncode


if __name__ == "__main__":
    sys.exit(main())
