"""`apptainer` for Snakemake, backed by Podman: runs each job in the real image, with only what Apptainer would give it.

Apptainer cannot be installed on these machines, but the image it would convert (docker-archive://) can run under
Podman. A stand-in .sif holds the Podman image tag. ``exec --home H [--bind SRC[:DST]]... [--pwd P] IMAGE CMD...``
becomes ``podman run --network none`` with H (the working directory) and each bind mounted at its own path, the
knowrl/HF/OMP variables passed on (Apptainer passes the host environment; PATH stays the image's) and
$APPTAINER_CONTAINER set to the .sif, as Apptainer sets it. Every call is logged to $PODMAN_APPTAINER_LOG.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PODMAN = Path(__file__).resolve().parents[2] / ".ci" / "podman-images"
PASSED = ("KNOWRL_", "HF_", "OMP_", "TRANSFORMERS_", "TOKENIZERS_")
FLAGS = {"--home", "--bind", "-B", "--pwd"}  # options with a value; --nv, --quiet, --silent take none


def podman_command(argv: list[str]) -> list[str]:
    rest = argv[argv.index("exec") + 1:]
    opts: dict[str, list[str]] = {}
    while rest and rest[0].startswith("-"):
        flag = rest.pop(0)
        if flag in FLAGS:
            opts.setdefault(flag, []).append(rest.pop(0))
    image, command = rest[0], rest[1:]
    home = opts["--home"][0]
    mounts = [home, *opts.get("--bind", []), *opts.get("-B", [])]
    cmd = ["run", "--rm", "--network", "none", "-w", opts.get("--pwd", [home])[0],
           "-e", f"APPTAINER_CONTAINER={image}"]
    for mount in mounts:
        source, _, dest = mount.partition(":")
        cmd += ["-v", f"{source}:{dest or source}"]
    for name, value in os.environ.items():
        if name.startswith(PASSED):
            cmd += ["-e", f"{name}={value}"]
    return [str(PODMAN), *cmd, Path(image).read_text().strip(), *command]


def main(argv: list[str]) -> int:
    with open(os.environ["PODMAN_APPTAINER_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(argv) + "\n")
    if argv[:1] == ["--version"]:
        print("apptainer version 1.3.6")
        return 0
    if "exec" not in argv:
        print(f"podman apptainer: unsupported call {argv}", file=sys.stderr)
        return 2
    return subprocess.run(podman_command(argv)).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
