"""README.md's examples as data: the documents it shows, the answers it prints, its commands.

A ```graphql block followed by a ```json block is an example with its answer. In the
"Publishing a release" section, each ```sh block holding a `gql ... -d '<body>'` command is a
request exactly as a reader pastes it; the ```json block after it is its answer.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Block:
    language: str
    text: str


@dataclass(frozen=True)
class Example:
    document: str
    answer: Any | None  # the parsed ```json block after it, when there is one


@dataclass(frozen=True)
class Request:
    """One `gql` command of the walk-through: its headers and JSON body, and the answer shown."""

    command: str
    headers: dict[str, str]
    body: dict[str, Any]
    answer: Any | None


def blocks(text: str) -> list[Block]:
    return [Block(language, body) for language, body in _BLOCK.findall(text)]


def _with_answers(found: list[Block], language: str) -> list[tuple[Block, Any | None]]:
    pairs = []
    for index, block in enumerate(found):
        if block.language != language:
            continue
        following = found[index + 1] if index + 1 < len(found) else None
        answer = json.loads(following.text) if following and following.language == "json" else None
        pairs.append((block, answer))
    return pairs


def section(text: str, heading: str) -> str:
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def examples(text: str) -> list[Example]:
    return [Example(block.text, answer) for block, answer in _with_answers(blocks(text), "graphql")]


def _request(command: str, answer: Any | None) -> Request:
    words = shlex.split(command)
    assert words[0] == "gql", command
    headers: dict[str, str] = {}
    body: dict[str, Any] | None = None
    rest = iter(words[1:])
    for word in rest:
        if word == "-H":
            name, value = next(rest).split(":", 1)
            headers[name.strip()] = value.strip()
        elif word == "-d":
            body = json.loads(next(rest))
        else:
            raise AssertionError(f"unexpected argument {word!r} in {command!r}")
    assert body is not None, command
    return Request(command, headers, body, answer)


def walk_through(text: str) -> list[Request]:
    found = blocks(section(text, "Publishing a release"))
    requests = []
    for block, answer in _with_answers(found, "sh"):
        command = block.text.replace("\\\n", " ").strip()
        if command.startswith("gql "):
            requests.append(_request(command, answer))
    return requests


def consumer_code(text: str) -> str:
    """The Python example of "For data consumers": a follower of the change feed."""
    (code,) = [
        b.text for b in blocks(section(text, "For data consumers")) if b.language == "python"
    ]
    return code


def documents_in(code: str) -> list[str]:
    """The GraphQL documents a Python example holds in triple-quoted strings."""
    return re.findall(r'"""\n((?:query|mutation|subscription) .*?)"""', code, re.DOTALL)


def read() -> str:
    return README.read_text(encoding="utf-8")
