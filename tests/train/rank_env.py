"""Rank program of the launch test: each rank records what the launcher gave it (rank, world size, GPUs, the vLLM
server URL) and whether that server answers from inside the rank; ``python -m tests.train.rank_env OUT_DIR``."""

from __future__ import annotations

import json
import os
import sys
import urllib.request


def main(out_dir: str) -> None:
    url = os.environ.get("KNOWRL_VLLM_SERVER_URL")
    with urllib.request.urlopen(f"{url}/health", timeout=10) as reply:  # loopback only
        status = reply.status
    record = {key: os.environ.get(key) for key in ("RANK", "WORLD_SIZE", "CUDA_VISIBLE_DEVICES", "ACCELERATE_USE_CPU",
                                                   "KNOWRL_VLLM_SERVER_URL")}
    with open(os.path.join(out_dir, f"rank{record['RANK']}.json"), "w") as fh:
        json.dump({**record, "health": status}, fh)


if __name__ == "__main__":
    main(sys.argv[1])
