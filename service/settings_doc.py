"""README.md's settings table, written from Settings so that the two cannot drift apart.

`python -m service.settings_doc` prints the table; `--write` replaces it in README.md (the
table that follows the MARKER line). tests/test_settings_doc.py fails when they differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import AliasChoices
from pydantic.fields import FieldInfo

from service.config import Settings

MARKER = "<!-- settings table: written by `python -m service.settings_doc --write` -->"
README = Path(__file__).resolve().parent.parent / "README.md"


def variable(name: str, field: FieldInfo) -> str:
    alias = field.validation_alias
    if isinstance(alias, str):
        return alias
    if isinstance(alias, AliasChoices):
        return " or ".join(choice for choice in alias.choices if isinstance(choice, str))
    prefix = Settings.model_config.get("env_prefix", "")
    return f"{prefix}{name}".upper()


def default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return "computed"  # it depends on the machine: the meaning says how
    value = field.get_default()
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def table() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        if not field.description:
            raise ValueError(f"Settings.{name} has no description: the README needs one")
        meaning = field.description.replace("|", "\\|")
        lines.append(f"| `{variable(name, field)}` | {default(field)} | {meaning} |")
    return "\n".join(lines)


def readme_table(text: str) -> str:
    """The table right after MARKER in `text` ('' when there is none)."""
    _, found, after = text.partition(MARKER + "\n")
    if not found:
        return ""
    rows = []
    for line in after.splitlines():
        if not line.startswith("|"):
            break
        rows.append(line)
    return "\n".join(rows)


def write_readme(path: Path = README) -> None:
    text = path.read_text(encoding="utf-8")
    current = readme_table(text)
    if not current:
        raise SystemExit(f"{path} has no line {MARKER!r} followed by a table")
    path.write_text(text.replace(MARKER + "\n" + current, MARKER + "\n" + table()), "utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write_readme()
    else:
        print(table())
