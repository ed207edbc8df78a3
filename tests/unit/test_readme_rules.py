"""The README's local rules section: its events and Node-RED session flow are true."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.config import Settings
from bridge.contract import Contract
from bridge.models import Event, Session
from tests.unit.test_readme import section

TITLE = "Local rules and sessions"
SESSION = Session(
    datetime(2026, 11, 28, 7, 10, tzinfo=UTC),
    datetime(2026, 11, 28, 7, 18, tzinfo=UTC),
    8,
    17.5,
    2.5,
    2.1875,
)


def blocks() -> list[Any]:
    text = section(TITLE)
    return [
        json.loads(b) for b in re.findall(r"^```json\n(.*?)^```", text, re.M | re.S)
    ]


def nodes() -> dict[str, dict[str, Any]]:
    flow = blocks()[2]
    by_id = {node["id"]: node for node in flow}
    assert len(by_id) == len(flow), "node ids must be unique"
    return by_id


def test_the_event_examples_are_what_the_bridge_builds() -> None:
    """A rule's and a session's event in the README are the payloads, key for key."""
    rule, session = blocks()[:2]
    payloads = Contract.of(Settings()).payloads
    at = datetime(2026, 11, 28, 3, 12, tzinfo=UTC)
    built = Event(
        "continuous_flow", "Continuous flow", "Continuous flow began", at, on=True
    )
    assert json.loads(payloads.event("1", built).payload) == rule
    event = Event("session", "Water-use session", None, SESSION.end, session=SESSION)
    assert json.loads(payloads.event("1", event).payload) == session


def test_the_session_flow_reads_events_and_routes_to_two_outputs() -> None:
    """`mqtt in` on flume/+/event feeds a two-output function, each to a debug node."""
    found = nodes()
    source = next(n for n in found.values() if n["type"] == "mqtt in")
    function = next(n for n in found.values() if n["type"] == "function")
    broker = next(n for n in found.values() if n["type"] == "mqtt-broker")
    assert source["topic"] == "flume/+/event"
    assert source["datatype"] == "json"
    assert source["broker"] == broker["id"]
    assert source["wires"] == [[function["id"]]]
    assert function["outputs"] == 2
    sinks = [found[wire[0]]["type"] for wire in function["wires"]]
    assert sinks == ["debug", "debug"]
    used = set(re.findall(r"\bsession\.(\w+)", function["func"]))
    assert used <= {"start", "end", "minutes", "volume", "peak_flow", "average_flow"}


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_the_session_function_sends_a_shower_to_the_first_output() -> None:
    """Run by Node.js: a shower goes out first, a toilet second, a rule not at all."""
    func = next(n for n in nodes().values() if n["type"] == "function")["func"]
    payloads = Contract.of(Settings()).payloads
    shower = Event("session", "Water-use session", None, SESSION.end, session=SESSION)
    toilet_session = Session(SESSION.start, SESSION.end, 1, 1.5, 1.5, 1.5)
    toilet = Event(
        "session", "Water-use session", None, SESSION.end, session=toilet_session
    )
    rule = Event(
        "away_flow", "Water while away", "Water while away began", SESSION.end, on=True
    )
    inputs = [
        json.loads(payloads.event("1", e).payload) for e in (shower, toilet, rule)
    ]
    script = (
        f"const run = (msg) => {{ {func} }};\n"
        f"const inputs = {json.dumps(inputs)};\n"
        "console.log(JSON.stringify(inputs.map((payload) => {\n"
        "  const out = run({payload});\n"
        "  return out === null ? null : out.map((m) => m !== null);\n"
        "})));\n"
    )
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, "-e", script], capture_output=True, text=True, timeout=30, check=True
    )
    assert json.loads(done.stdout) == [[True, False], [False, True], None]
