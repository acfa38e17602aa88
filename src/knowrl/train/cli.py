"""``knowrl train sft|grpo|plan`` (heavy imports inside the handlers)."""

from __future__ import annotations

import argparse

from knowrl.cli_common import add_config_arguments, resolve_config


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train", help="cold-start SFT and knowledgeable GRPO (LoRA, TRL)",
                                  description="Training stages of METHOD 4-5. Every checkpoint and output carries "
                                              "SHA256SUMS + provenance.json; --resume auto continues a run.")
    verbs = train.add_subparsers(dest="verb", metavar="VERB", required=True)

    sft = verbs.add_parser("sft", help="LoRA SFT on cold-start ShareGPT traces (loss on the assistant turn)")
    sft.add_argument("--data", help="cold-start ShareGPT JSON (default: sft.data)")
    _common(sft, "results/sft")
    sft.set_defaults(handler=_sft)

    grpo = verbs.add_parser("grpo", help="GRPO with the project's rewards, LoRA on top of the SFT model")
    grpo.add_argument("--data", help="RL data JSON {question, answers, title} (default: grpo.data)")
    grpo.add_argument("--init", help="`knowrl train sft` output to start from (default: grpo.init; none = base)")
    _common(grpo, "results/grpo")
    grpo.set_defaults(handler=_grpo)

    plan = verbs.add_parser("plan", help="print the GPU memory plan of a run (no GPU needed with --gpu-gb)")
    plan.add_argument("stage", choices=("sft", "grpo"))
    plan.add_argument("--model", help="HF model folder (its config.json); default: model.policy")
    plan.add_argument("--gpu-gb", type=float, help="GPU memory to plan for (default: grpo.memory.gpu_gb / detected)")
    add_config_arguments(plan)
    plan.set_defaults(handler=_plan)


def _common(parser: argparse.ArgumentParser, default_out: str) -> None:
    parser.add_argument("--out", default=default_out, help=f"output folder (default {default_out})")
    add_resume_argument(parser)
    add_config_arguments(parser)


def add_resume_argument(parser: argparse.ArgumentParser) -> None:
    """``--resume [auto|if-unchanged|CHECKPOINT]`` (checkpoints.resolve_resume)."""
    parser.add_argument("--resume", nargs="?", const="auto", metavar="CHECKPOINT",
                        help="continue a run: the latest checkpoint in --out (no value / 'auto') or a folder; "
                             "'if-unchanged' continues only a run with the same config and inputs and otherwise "
                             "moves it to OUT.superseded/ and starts afresh (what the workflow passes)")


def _sft(args: argparse.Namespace) -> int:
    from knowrl.train import launch

    config = resolve_config(args)
    if launch.needs_launch(config, "sft"):  # train.processes > 1: this same command under `accelerate launch`
        return launch.run(_launch_argv("sft", args), config, "sft")
    from knowrl.train import sft

    _quiet_other_ranks(launch)
    out = sft.main(config, data_path=args.data, out=args.out, resume=args.resume)
    if launch.is_main_process():
        print(out)
    return 0


def _grpo(args: argparse.Namespace) -> int:
    from knowrl.train import launch

    config = resolve_config(args)
    if launch.needs_launch(config, "grpo"):  # several processes, or a vLLM server to start first
        model = None
        if launch.starts_vllm_server(config, "grpo"):
            from pathlib import Path

            from knowrl.train.grpo import start_policy

            model = start_policy(config, args.init or config["grpo"]["init"], Path(args.out))
        return launch.run(_launch_argv("grpo", args), config, "grpo", server_model=model)
    from knowrl.train import grpo

    _quiet_other_ranks(launch)
    out = grpo.main(config, data_path=args.data, out=args.out, init=args.init, resume=args.resume)
    if launch.is_main_process():
        print(out)
    return 0


def _launch_argv(verb: str, args: argparse.Namespace) -> list[str]:
    """The arguments of this command, for every rank of the launch (which resolves the same config)."""
    argv = ["-v"] * args.verbose + (["-q"] if args.quiet else []) + ["train", verb]
    for name in ("data", "init", "out", "resume"):
        if getattr(args, name, None) is not None:
            argv += [f"--{name}", str(getattr(args, name))]
    argv += [a for path in args.config for a in ("--config", path)]
    argv += ["--profile", args.profile] if args.profile else []
    return argv + [a for item in args.overrides for a in ("--set", item)]


def _quiet_other_ranks(launch) -> None:
    """Ranks > 0 log warnings only: their info lines would repeat rank 0's."""
    if not launch.is_main_process():
        import logging

        logging.getLogger().setLevel(logging.WARNING)


def _plan(args: argparse.Namespace) -> int:
    from knowrl.train import memory, models

    config = resolve_config(args)
    if args.gpu_gb:
        config["grpo"]["memory"]["gpu_gb"] = args.gpu_gb
    import torch

    if not config["grpo"]["memory"]["gpu_gb"] and not torch.cuda.is_available():
        from knowrl.errors import ConfigError

        raise ConfigError("no CUDA GPU here: pass --gpu-gb (e.g. 80 for an A800/H100)")
    model = args.model or models.resolve_policy(config)
    plan = memory.plan_for_run(config, args.stage, model)
    print(plan.render())
    return 0 if plan.fits else 1
