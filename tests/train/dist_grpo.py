"""Rank entry point of the two-process GRPO test, started by ``accelerate launch -m tests.train.dist_grpo CONFIG DATA
INIT OUT [CHECKPOINT]``: the code path of ``knowrl train grpo`` (``grpo.main``) plus the test-only brevity reward,
which gives every group reward spread (a 2-step SFT'd tiny model rarely meets the format, so the project's rewards
alone would give zero gradients and a comparison that cannot fail)."""

from __future__ import annotations

import sys

from knowrl.config import load_config
from knowrl.train import grpo
from tests.train.conftest import brevity_reward


def main(argv: list[str]) -> None:
    config_file, data, init, out, *resume = argv
    grpo.main(load_config(files=[config_file]), data, out, init=init, resume=resume[0] if resume else None,
              extra_reward_funcs=[brevity_reward])


if __name__ == "__main__":
    main(sys.argv[1:])
