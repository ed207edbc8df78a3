"""The README stays true: two quick-start commands, tables in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    """Return the text of one `## title` section."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```\w*\n(.*?)^```", text, re.M | re.S)


def table_names(text: str) -> set[str]:
    """Every `NAME` in the first column of the markdown tables of `text`."""
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def test_quick_start_has_exactly_the_two_commands() -> None:
    """The quick start shows `make demo` and `make test` and nothing else to type."""
    blocks = code_blocks(section("Quick start"))
    assert [line for b in blocks for line in b.splitlines() if line.strip()] == [
        "make demo",
        "make test",
    ]


def test_configuration_table_matches_env_example_and_settings() -> None:
    """The README table, .env.example and Settings name the same variables."""
    from bridge.config import Settings

    example = (ROOT / ".env.example").read_text()
    in_example = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.M))
    fields = {name.upper() for name in Settings.model_fields}
    assert table_names(section("Configuration")) == in_example == fields


def test_simulator_options_table_matches_the_command() -> None:
    """Every `simulate` option is in the README's table, and nothing else is."""
    import argparse

    from bridge.simulator.cli import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    flags = {flag for action in parser._actions for flag in action.option_strings}
    table = section("The Flume simulator").split("### ", 1)[0]
    documented = set(re.findall(r"`(--[a-z-]+)", table))
    assert documented == flags - {"-h", "--help"}
