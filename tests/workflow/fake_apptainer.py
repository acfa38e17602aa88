"""Stand-in for the `apptainer` command (Apptainer cannot be installed on these machines).

It records every call (one JSON argv list per line in $FAKE_APPTAINER_LOG) and answers like Apptainer where
Snakemake needs it: ``--version``, and ``exec [options] IMAGE CMD...``, which fails as Apptainer does on a missing
image and otherwise runs CMD on the host (the job's software is this machine's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    with open(os.environ["FAKE_APPTAINER_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(argv) + "\n")
    if argv[:1] == ["--version"]:
        print("apptainer version 1.3.6")
        return 0
    if "exec" not in argv:
        print(f"fake apptainer: unsupported call {argv}", file=sys.stderr)
        return 2
    rest = argv[argv.index("exec") + 1:]
    image = next(i for i, arg in enumerate(rest) if arg.endswith(".sif"))
    if not Path(rest[image]).is_file():
        print(f"FATAL:   could not open image {rest[image]}: failed to retrieve path", file=sys.stderr)
        return 255
    return subprocess.run(rest[image + 1:]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
