"""Wheel folders (the offline build context of containers/Containerfile) and the bundle's wheels and images.

Sealing is tested on stand-in wheel files (names and bytes): pip itself installs real ones in test_podman.py.
"""

import hashlib

import pytest

from knowrl.artifact.checksums import verify_sums
from knowrl.artifact.wheels import seal
from knowrl.cli import main
from knowrl.errors import KnowRLError

CPU_TORCH = "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"


def _folder(tmp_path, names):
    folder = tmp_path / "wheels"
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes(name.encode())  # distinct bytes per wheel: distinct hashes
    return folder


@pytest.mark.parametrize("names, error", [
    # the CPU lock: CPU torch and pure-Python wheels -> sealed
    ([CPU_TORCH, "pyyaml-6.0.3-cp311-cp311-manylinux_2_17_x86_64.whl"], None),
    # PyPI's default torch pulls CUDA wheels: refused, naming one
    ([CPU_TORCH, "nvidia_cublas_cu12-12.8.4.1-py3-none-manylinux_2_27_x86_64.whl"], "holds CUDA wheels"),
    # triton comes with CUDA torch as well
    ([CPU_TORCH, "triton-3.5.0-cp311-cp311-manylinux_2_27_x86_64.whl"], "holds CUDA wheels"),
    # the CUDA torch itself (no +cpu label): no CPU torch
    (["torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl"], "no CPU torch wheel"),
    # a CPU torch of another version than the lock's
    (["torch-2.12.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"], "no CPU torch wheel"),
])
def test_seal_writes_hashed_requirements_and_refuses_cuda(tmp_path, names, error):
    folder = _folder(tmp_path, names)
    if error:
        with pytest.raises(KnowRLError, match=error):
            seal(folder)
        assert not (folder / "requirements.txt").exists()
        return
    seal(folder)
    lines = (folder / "requirements.txt").read_text().splitlines()
    assert lines[1] == f"torch==2.13.0+cpu --hash=sha256:{hashlib.sha256(CPU_TORCH.encode()).hexdigest()}"
    assert lines[0].startswith("pyyaml==6.0.3 --hash=sha256:") and verify_sums(folder).ok


def test_bundle_carries_a_staged_wheel_folder_and_image_archives(tmp_path, asset_store, capsys):
    """--python-wheels DIR copies a sealed folder (checked first), --images copies the archives; both are summed."""
    wheels = seal(_folder(tmp_path, [CPU_TORCH]))
    archive = tmp_path / "knowrl-cpu.tar"
    archive.write_bytes(b"an image archive")
    bundle = tmp_path / "bundle"
    assert main(["stage", str(bundle), "--cache", str(asset_store.root), "--python-wheels", str(wheels),
                 "--images", str(archive)]) == 0
    assert (bundle / "python" / "requirements.txt").read_text() == (wheels / "requirements.txt").read_text()
    assert (bundle / "images" / "knowrl-cpu.tar").read_bytes() == b"an image archive"
    sums = (bundle / "SHA256SUMS").read_text()
    assert "images/knowrl-cpu.tar" in sums and f"python/{CPU_TORCH}" in sums
    # a damaged wheel folder is refused before anything is copied; a missing archive is named
    (wheels / CPU_TORCH).write_bytes(b"tampered")
    assert main(["stage", str(tmp_path / "b2"), "--cache", str(asset_store.root), "--python-wheels", str(wheels)]) == 2
    assert "not a sealed wheel folder" in capsys.readouterr().err
    assert main(["stage", str(tmp_path / "b3"), "--images", str(tmp_path / "nope.tar")]) == 2
    assert "--images = " in capsys.readouterr().err
