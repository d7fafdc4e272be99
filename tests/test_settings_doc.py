"""README.md documents every setting, in the table service/settings_doc.py writes."""

from __future__ import annotations

from service.config import Settings
from service.settings_doc import README, readme_table, table, variable


def test_the_readme_table_lists_every_setting() -> None:
    documented = readme_table(README.read_text(encoding="utf-8"))
    assert documented, "README.md lost its settings table"
    for name, field in Settings.model_fields.items():
        assert f"| `{variable(name, field)}` |" in documented, f"README.md lacks Settings.{name}"


def test_the_readme_table_is_the_one_settings_describe() -> None:
    documented = readme_table(README.read_text(encoding="utf-8"))
    assert documented == table(), "run `python -m service.settings_doc --write`"
