from knowrl.artifact import provenance, verify_sums, write_sums
from knowrl.cli import main


def test_sums_round_trip_and_tamper(tmp_path, capsys):
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "weights.bin").write_bytes(b"\x00" * 100)
    (tmp_path / "table.md").write_text("| a |\n")
    write_sums(tmp_path)
    assert verify_sums(tmp_path).ok
    assert main(["verify", str(tmp_path)]) == 0
    (tmp_path / "table.md").write_text("| b |\n")              # changed file
    (tmp_path / "extra.txt").write_text("x")                   # file added after the sums
    report = verify_sums(tmp_path)
    assert report.mismatched == ["table.md"] and report.unlisted == ["extra.txt"]
    assert main(["verify", str(tmp_path)]) == 1
    assert "changed: table.md" in capsys.readouterr().out
    (tmp_path / "adapter" / "weights.bin").unlink()
    assert verify_sums(tmp_path, allow_unlisted=True).missing == ["adapter/weights.bin"]


def test_provenance_records_config_hash_and_versions():
    record = provenance({"seed": 1}, seeds={"python": 1})
    assert len(record["config_sha256"]) == 64 and record["seeds"] == {"python": 1}
    assert "torch" in record["packages"] and "cpus" in record["hardware"]


def test_atomic_writes_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    import os
    import stat

    from knowrl.files import write_json_atomic

    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "table.json", {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "table.json").stat().st_mode) == 0o644
