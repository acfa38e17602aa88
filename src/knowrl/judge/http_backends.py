"""HTTP backends over one shared client: ``openai`` (any endpoint), ``llamacpp`` and ``vllm`` (managed servers).

They differ only in how the server is obtained (started or reused), how output is constrained
(``response_format`` flavour), the model identity and whether one request may ask for ``n`` samples.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
from pathlib import Path
from typing import Any

from knowrl.errors import ConfigError, KnowRLError
from knowrl.judge.base import Judge, Outcome, parsed_outcome
from knowrl.judge.client import ChatClient, CircuitBreaker, JudgeCallError
from knowrl.judge.config import JudgeConfig
from knowrl.judge.model_identity import folder_sha256, model_file_sha256
from knowrl.judge.servers import JudgeServerError, ManagedServer, llamacpp_command, vllm_command, wait_until_ready
from knowrl.judge.tasks import TASKS


class OpenAICompatibleJudge(Judge):
    name = "openai"
    ready_path = "/models"  # relative to the base URL (…/v1)
    supports_n = True

    def __init__(self, cfg: JudgeConfig):
        super().__init__(cfg)
        self.server: ManagedServer | None = None
        self.base_url = self._open()
        breaker = CircuitBreaker(cfg.breaker_threshold, cfg.breaker_cooldown_s)
        self.client = ChatClient(self.base_url, api_key=cfg.api_key(), concurrency=cfg.concurrency,
                                 timeout_s=cfg.timeout_s, retries=cfg.retries, backoff_s=cfg.backoff_s,
                                 breaker=breaker, stats=self._stats)

    # -- server --------------------------------------------------------------------------------------
    def _open(self) -> str:
        url = self.cfg.reuse_url()
        if not url:
            raise ConfigError("judge.backend 'openai' needs judge.base_url (an OpenAI-compatible …/v1 URL)")
        if not self.cfg.model:
            raise ConfigError("judge.backend 'openai' needs judge.model (the model name)")
        if not self.cfg.api_key():
            raise ConfigError(f"judge.backend 'openai' needs an API key in ${self.cfg.api_key_env}")
        return url.rstrip("/")

    def _reuse(self, url: str, ready_url: str) -> str:
        if not wait_until_ready(ready_url, min(30.0, self.cfg.startup_timeout_s)):
            raise JudgeServerError(f"no {self.name} server answers at {ready_url} (judge.base_url / "
                                   "$KNOWRL_JUDGE_URL); start one with `knowrl judge serve`")
        return url.rstrip("/")

    def served_model(self) -> str:
        return self.cfg.model or ""

    def model_identity(self) -> dict:
        return {"name": self.cfg.model}

    # -- requests ------------------------------------------------------------------------------------
    supports_choice = False  # can constrain decoding to a fixed set of replies (``choice`` output mode)

    def output_mode(self, task: str | None = None) -> str:
        """``auto``: ``choice`` for one-word tasks where the server can constrain decoding to the allowed replies
        (one or two tokens: as cheap as upstream's capped one-letter reply, and strict), else ``json``."""
        if self.cfg.output_mode != "auto":
            return self.cfg.output_mode
        return "choice" if self.supports_choice and task and TASKS[task].choices else "json"

    def response_format(self, task: str) -> dict:
        return {"type": "json_schema", "json_schema": {"name": task, "schema": TASKS[task].schema, "strict": True}}

    def choice_constraint(self, choices: tuple[str, ...]) -> dict:
        raise ConfigError(f"judge.output_mode 'choice' is not supported by the {self.name} backend; use json or text")

    def payload(self, task: str, inputs: dict) -> dict:
        spec, mode = TASKS[task], self.output_mode(task)
        body: dict[str, Any] = {"model": self.served_model(), "messages": spec.mode_messages(inputs, mode),
                                "max_tokens": self.cfg.max_tokens or spec.max_tokens,
                                "temperature": self.cfg.temperature, "seed": self.cfg.seed}
        if mode == "json":
            body["response_format"] = self.response_format(task)
        elif mode == "choice":
            if not spec.choices:
                raise ConfigError(f"judge.output_mode 'choice' needs a one-word task; {task} is not one")
            body.update(self.choice_constraint(spec.choices))
        return body

    def _compute(self, task: str, inputs: list[dict]) -> list[Outcome]:
        return self._run_async(self._gather(task, inputs))

    async def _gather(self, task: str, inputs: list[dict]) -> list[Outcome]:
        return list(await asyncio.gather(*(self._one(task, inp) for inp in inputs)))

    async def _one(self, task: str, inputs: dict) -> Outcome:
        try:
            reply = await self.client.chat(self.payload(task, inputs))
        except JudgeCallError as exc:
            self._stats.record_failure(exc.kind)
            return Outcome(None, f"failed: {exc}")
        return parsed_outcome(task, reply.text)

    # -- raw generation (the Generator contract, used by evaluation) --------------------------------------
    def generate(self, prompts: list[list[dict]] | list[str], max_tokens: int, temperature: float, n: int = 1,
                 seed: int | None = None) -> list[list[str]]:
        """``n`` completions per prompt (chat messages or plain text); a call that fails after retries raises."""
        seed = self.cfg.seed if seed is None else seed
        return self._run_async(self._generate(list(prompts), max_tokens, temperature, n, seed))

    async def _generate(self, prompts: list, max_tokens: int, temperature: float, n: int,
                        seed: int) -> list[list[str]]:
        def body(prompt: Any, count: int, offset: int) -> dict:
            key = "prompt" if isinstance(prompt, str) else "messages"
            return {"model": self.served_model(), key: prompt, "max_tokens": max_tokens,
                    "temperature": temperature, "seed": seed + offset, "n": count}

        if self.supports_n:
            calls = [self.client.chat(body(p, n, 0)) for p in prompts]
        else:
            calls = [self.client.chat(body(p, 1, i)) for p in prompts for i in range(n)]
        try:
            replies = await asyncio.gather(*calls)
        except JudgeCallError as exc:
            self._stats.record_failure(exc.kind)
            raise KnowRLError(f"generation with the {self.name} backend failed: {exc}") from None
        if self.supports_n:
            return [r.texts for r in replies]
        return [[r.text for r in replies[i * n:(i + 1) * n]] for i in range(len(prompts))]

    def close(self) -> None:
        if self._loop is not None:
            self._run_async(self.client.aclose())
        super().close()
        if self.server is not None:
            self.server.stop()
            self.server = None


class LlamaCppJudge(OpenAICompatibleJudge):
    """``python -m llama_cpp.server`` on a GGUF; one request at a time, JSON schema through ``json_object``."""

    name = "llamacpp"
    supports_n = False

    def _open(self) -> str:
        url = self.cfg.reuse_url()
        if url:
            return self._reuse(url, url.rstrip("/") + "/models")
        settings = self.cfg.llamacpp
        argv = functools.partial(llamacpp_command, self.gguf_path(), settings, seed=self.cfg.seed)
        self.server = ManagedServer(self.name, lambda port: argv(port=port), "/v1/models",
                                    log_path=self._log_path(), startup_timeout_s=self.cfg.startup_timeout_s,
                                    port=self.cfg.port)
        self.server.start()
        return self.server.url + "/v1"

    def _log_path(self) -> Path:
        return Path(self.cfg.log_dir) / f"{self.name}-{os.getpid()}.log"

    def gguf_path(self) -> str:
        return self.gguf_path_for(self.cfg.llamacpp)

    @staticmethod
    def gguf_path_for(settings: dict) -> str:
        """``llamacpp.model``, else the embedded tiny GGUF from the asset cache."""
        if settings.get("model"):
            return str(settings["model"])
        from knowrl.assets import AssetStore

        return str(AssetStore().path("tiny_lm"))

    def served_model(self) -> str:
        return self.cfg.llamacpp.get("served_name", "judge")

    def model_identity(self) -> dict:
        path = self.gguf_path()
        return {"path": Path(path).name, "sha256": model_file_sha256(path)}

    def response_format(self, task: str) -> dict:
        return {"type": "json_object", "schema": TASKS[task].schema}

    supports_choice = True

    def choice_constraint(self, choices: tuple[str, ...]) -> dict:
        """A GBNF grammar whose only sentences are the choices (llama.cpp's ``grammar`` request field)."""
        return {"grammar": "root ::= " + " | ".join(json.dumps(c) for c in choices)}


class VLLMJudge(OpenAICompatibleJudge):
    """``vllm serve`` on a staged model (GPU); readiness on ``/health``."""

    name = "vllm"

    def _open(self) -> str:
        url = self.cfg.reuse_url()
        if url:
            root = url.rstrip("/").removesuffix("/v1")
            return self._reuse(url, root + "/health")
        if not self.cfg.model:
            raise ConfigError("judge.backend 'vllm' needs judge.model (a staged model folder)")
        settings = self.cfg.vllm
        self.server = ManagedServer(self.name, lambda port: vllm_command(self.cfg.model, settings, port),
                                    "/health", log_path=Path(self.cfg.log_dir) / f"vllm-{os.getpid()}.log",
                                    startup_timeout_s=self.cfg.startup_timeout_s, port=self.cfg.port)
        self.server.start()
        return self.server.url + "/v1"

    def served_model(self) -> str:
        return self.cfg.vllm.get("served_name", "judge")

    supports_choice = True

    def choice_constraint(self, choices: tuple[str, ...]) -> dict:
        """vLLM's structured outputs (``structured_outputs.choice``, vLLM >= 0.12; written, not run here)."""
        return {"structured_outputs": {"choice": list(choices)}}

    def model_identity(self) -> dict:
        return {"name": self.cfg.model, "sha256": folder_sha256(self.cfg.model) if self.cfg.model else None}

