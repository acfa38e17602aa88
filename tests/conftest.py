"""Test harness: offline environment, a guard that fails any non-loopback connection, shared fixtures."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ[_var] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("WANDB_MODE", "disabled")

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("KNOWRL_ASSETS", str(REPO / "resources" / "assets"))  # where `make assets` puts them
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


class NetworkAccessError(RuntimeError):
    """Raised by the guard: tests may only talk to loopback."""


def _is_loopback(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host is None or host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _check_address(sock_family, address) -> None:
    if sock_family not in (socket.AF_INET, socket.AF_INET6):
        return  # unix sockets and the like are local
    host = address[0] if isinstance(address, tuple) else address
    if not _is_loopback(host):
        raise NetworkAccessError(f"test tried to connect to {address!r}: only loopback is allowed")


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self, address):
    _check_address(self.family, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _check_address(self.family, address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if not _is_loopback(host):
        raise NetworkAccessError(f"test tried to resolve {host!r}: only loopback is allowed")
    return _real_getaddrinfo(host, *args, **kwargs)


def pytest_configure(config):
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    socket.getaddrinfo = _guarded_getaddrinfo


def _require(path: Path, what: str) -> Path:
    if path.exists():
        return path
    message = f"{what} not found at {path}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must have ../shared beside the checkout)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (or ``$KNOWRL_SHARED_DATA``): test-only data, never committed."""
    return _require(Path(os.environ.get("KNOWRL_SHARED_DATA", REPO.parent / "shared" / "data")),
                    "shared test data")


@pytest.fixture(scope="session")
def vital_jsonl(shared_data) -> Path:
    return _require(shared_data / "wiki_vital4_en" / "articles.jsonl", "vital articles")


@pytest.fixture(scope="session")
def rl_data(shared_data) -> Path:
    return _require(shared_data / "knowrl" / "knowrl_RLdata.json", "KnowRL RL data")


@pytest.fixture(scope="session")
def coldstart_data(shared_data) -> Path:
    return _require(shared_data / "knowrl" / "knowrl_coldstart.json", "KnowRL cold-start data")


@pytest.fixture(scope="session")
def asset_store():
    """The embedded-default assets, fetched by ``make test`` before pytest starts (tests never download)."""
    from knowrl.assets import CATALOG, AssetStore

    store = AssetStore()
    problems = [p for name in CATALOG for p in store.verify(name)]
    if problems:
        pytest.fail(f"assets not ready in {store.root}: {problems[0]}; run `make assets` first")
    return store


@pytest.fixture(scope="session")
def embedder_path(asset_store) -> Path:
    return asset_store.path("embedder")


@pytest.fixture(scope="session")
def tiny_gguf(asset_store) -> Path:
    return asset_store.path("tiny_lm")


@pytest.fixture(scope="session")
def demo_corpus(asset_store) -> Path:
    return asset_store.path("demo_corpus")
