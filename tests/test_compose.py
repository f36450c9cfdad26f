"""The production compose file: its shape is checked always; `docker compose config` validates it
where the compose plugin is installed (no Docker engine is needed for that)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
QUEUES = {"transcription": 1, "analysis": 4, "hls": 1, "default": 2}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def test_one_worker_per_queue_with_its_concurrency_and_statedb(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for queue, concurrency in QUEUES.items():
        command = services[f"worker-{queue}"]["command"]
        assert f"-Q {queue} " in command
        assert f"--concurrency={concurrency}" in command
        assert "--statedb=/app/var/celery/" in command
        assert "celery-state:/app/var/celery" in services[f"worker-{queue}"]["volumes"]


def test_exactly_one_beat_and_the_supporting_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert [name for name, s in services.items() if " beat" in str(s.get("command", ""))] == ["beat"]
    assert "--maxmemory-policy" in services["redis"]["command"]
    assert "noeviction" in services["redis"]["command"]
    assert "--appendonly" in services["redis"]["command"]
    assert "--basic-auth=${FLOWER_BASIC_AUTH:?" in services["flower"]["command"]
    assert "gunicorn -c config/gunicorn.py config.wsgi:application" in services["web"]["command"]


def test_services_wait_for_healthy_dependencies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("postgres", "redis", "web", "nginx", "flower", *(f"worker-{q}" for q in QUEUES)):
        assert "healthcheck" in services[name], name
    assert services["nginx"]["depends_on"]["web"]["condition"] == "service_healthy"
    for name in ("web", "beat", *(f"worker-{q}" for q in QUEUES)):
        conditions = {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}
        assert conditions["postgres"] == "service_healthy", name
        assert conditions["redis"] == "service_healthy", name


def test_nginx_is_the_only_way_in_and_flower_listens_on_loopback(compose: dict[str, Any]) -> None:
    services = compose["services"]
    published = {name: s["ports"] for name, s in services.items() if "ports" in s}
    assert published == {"nginx": ["${HTTP_PORT:-8000}:80"], "flower": ["127.0.0.1:5555:5555"]}
    nginx, web = services["nginx"], services["web"]
    assert nginx["container_name"] == "mediapipe-nginx"
    assert nginx["volumes"] == ["media:/app/media:ro"]
    assert nginx["environment"]["NGINX_UPSTREAM"] == "web:8000"
    assert web["environment"]["DJANGO_BEHIND_PROXY"] == "true"
    assert web["environment"]["DJANGO_MEDIA_DELIVERY"] == "x-accel"
    assert web["environment"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_build_targets_are_stages_of_the_dockerfile(compose: dict[str, Any]) -> None:
    stages = re.findall(r"^FROM \S+ AS (\S+)$", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE)
    assert stages == ["app", "nginx"]
    assert compose["x-app"]["build"]["target"] == "app"
    assert compose["services"]["nginx"]["build"]["target"] == "nginx"
    for name, service in compose["services"].items():
        if name not in ("postgres", "redis", "nginx"):
            assert service["image"] == "mediapipe:latest", name


def test_gpu_profile_reserves_an_nvidia_device_with_the_video_capability(compose: dict[str, Any]) -> None:
    gpu = compose["services"]["worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["environment"]["NVIDIA_DRIVER_CAPABILITIES"] == "compute,utility,video"
    device = gpu["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia"
    assert "video" in device["capabilities"]


def test_secrets_come_from_the_env_file_without_defaults(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text()
    for name in ("POSTGRES_PASSWORD", "POSTGRES_USER", "FLOWER_BASIC_AUTH"):
        assert re.search(r"\$\{" + name + r":\?", text), name
    assert "DJANGO_SECRET_KEY" not in text  # only in .env (env_file, required)
    assert compose["x-app"]["env_file"][0]["required"] is True


def test_every_container_the_runbook_names_exists(compose: dict[str, Any]) -> None:
    names = {s.get("container_name") for s in compose["services"].values()}
    runbook = (ROOT / "docs" / "worker_ops.md").read_text()
    mentioned = set(re.findall(r"mediapipe-[a-z]+(?:-[a-z]+)*\b(?!-<)", runbook))  # "-<queue>" is a pattern
    assert mentioned <= names, mentioned - names


def test_docker_compose_config_validates(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker compose plugin is not installed here")
    env = tmp_path / ".env"
    env.write_text((ROOT / ".env.example").read_text())
    done = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "--env-file", str(env), "--profile", "gpu", "config", "--quiet"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_the_analysis_worker_waits_for_a_healthy_local_model_server(compose: dict[str, Any]) -> None:
    services = compose["services"]
    llm = services["llm"]
    assert llm["command"] == "python manage.py llm_server"
    assert llm["image"] == services["web"]["image"]  # the same image, which carries the model
    assert llm["environment"]["LLM_HOST"] == "0.0.0.0"  # reachable on the compose network, not published
    assert "ports" not in llm
    assert "/health" in " ".join(llm["healthcheck"]["test"])
    assert services["worker-analysis"]["depends_on"]["llm"]["condition"] == "service_healthy"
    assert services["worker-analysis"]["environment"]["LLM_URL"] == f"http://llm:{llm['environment']['LLM_PORT']}/v1"
    for name in ("postgres", "redis", "web"):  # what every worker waits for, kept by the override
        assert services["worker-analysis"]["depends_on"][name]["condition"] == "service_healthy"
