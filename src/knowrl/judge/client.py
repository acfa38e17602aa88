"""Async client for OpenAI-compatible servers (vLLM, llama.cpp, hosted APIs), shared by every HTTP backend.

Bounded concurrency (a semaphore), a timeout per call, retries with exponential back-off and full jitter on
transient errors only (connection, timeout, 429, 5xx), and a circuit breaker that fails calls fast once a server
has failed ``threshold`` times in a row, so a dead server costs seconds, not ``items x timeout``.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

from knowrl.judge.stats import JudgeStats

TRANSIENT_KINDS = frozenset({"connection", "timeout", "http_429", "http_5xx"})


class JudgeCallError(Exception):
    """A failed model call; ``kind`` is the failure category counted in the statistics."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind

    @property
    def transient(self) -> bool:
        return self.kind in TRANSIENT_KINDS


@dataclass
class ChatReply:
    texts: list[str]
    prompt_tokens: int
    completion_tokens: int
    latency_s: float

    @property
    def text(self) -> str:
        return self.texts[0]


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; after ``cooldown_s`` lets calls probe again (half-open)."""

    def __init__(self, threshold: int = 5, cooldown_s: float = 30.0):
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.consecutive = 0
        self.opened_at: float | None = None

    def allow(self) -> bool:
        return self.opened_at is None or time.monotonic() - self.opened_at >= self.cooldown_s

    def success(self) -> None:
        self.consecutive, self.opened_at = 0, None

    def failure(self) -> None:
        self.consecutive += 1
        if self.consecutive >= self.threshold:
            self.opened_at = time.monotonic()


class ChatClient:
    """One per judge; must be used from a single event loop (the judge's loop thread)."""

    def __init__(self, base_url: str, *, api_key: str | None = None, concurrency: int = 4,
                 timeout_s: float = 60.0, retries: int = 3, backoff_s: float = 0.5, max_backoff_s: float = 8.0,
                 breaker: CircuitBreaker | None = None, stats: JudgeStats | None = None):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.concurrency, self.timeout_s = concurrency, timeout_s
        self.retries, self.backoff_s, self.max_backoff_s = retries, backoff_s, max_backoff_s
        self.breaker = breaker or CircuitBreaker()
        self.stats = stats or JudgeStats()
        self._http: Any = None
        self._semaphore: asyncio.Semaphore | None = None

    def _ensure(self) -> None:
        if self._http is None:
            import httpx

            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
            self._http = httpx.AsyncClient(base_url=self.base_url, headers=headers, limits=limits,
                                           timeout=httpx.Timeout(self.timeout_s, connect=min(10.0, self.timeout_s)))
            self._semaphore = asyncio.Semaphore(self.concurrency)

    async def chat(self, payload: dict) -> ChatReply:
        """POST ``/chat/completions`` (``payload`` has ``messages``) or ``/completions`` (it has ``prompt``)."""
        path = "/chat/completions" if "messages" in payload else "/completions"
        self._ensure()
        assert self._semaphore is not None
        async with self._semaphore:
            return await self._with_retries(path, payload)

    async def _with_retries(self, path: str, payload: dict) -> ChatReply:
        attempt = 0
        while True:
            if not self.breaker.allow():
                raise JudgeCallError("circuit_open", f"{self.base_url} failed {self.breaker.consecutive} times "
                                                     "in a row; not calling it until the cool-down ends")
            try:
                reply = await self._post_once(path, payload)
            except JudgeCallError as exc:
                self.breaker.failure()
                if not exc.transient or attempt >= self.retries:
                    raise
                attempt += 1
                self.stats.record_retry()
                delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
                await asyncio.sleep(random.uniform(0, delay))  # full jitter: callers do not retry in lockstep
                continue
            self.breaker.success()
            self.stats.record_call(reply.latency_s, reply.prompt_tokens, reply.completion_tokens)
            return reply

    async def _post_once(self, path: str, payload: dict) -> ChatReply:
        import httpx

        start = time.perf_counter()
        try:
            response = await self._http.post(path, json=payload)
        except httpx.TimeoutException as exc:
            raise JudgeCallError("timeout", f"no reply within {self.timeout_s} s ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise JudgeCallError("connection", f"{type(exc).__name__}: {exc}") from None
        latency = time.perf_counter() - start
        if response.status_code != 200:
            code = response.status_code
            kind = "http_429" if code == 429 else "http_5xx" if code >= 500 else "http_4xx"
            raise JudgeCallError(kind, f"HTTP {code}: {response.text[:200]}")
        return _parse_reply(response, latency)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def get(self, path: str) -> Any:
        self._ensure()
        response = await self._http.get(path)
        response.raise_for_status()
        return response.json()


def _parse_reply(response: Any, latency: float) -> ChatReply:
    try:
        body = response.json()
        choices = body["choices"]
        texts = [c["message"]["content"] if "message" in c else c["text"] for c in choices]
    except (ValueError, KeyError, TypeError) as exc:
        raise JudgeCallError("bad_response", f"not an OpenAI-style completion ({exc})") from None
    usage = body.get("usage") or {}
    return ChatReply([t or "" for t in texts], int(usage.get("prompt_tokens") or 0),
                     int(usage.get("completion_tokens") or 0), latency)
