"""`flume-mqtt run` with its secrets in credential files, and none of them logged."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import BrokerFactory
from tests.support.bridge import BridgeProcess, bridge_env, newest_state
from tests.support.mqtt import subscriber
from tests.support.simulator import SimFactory

# Distinct from every demo value, so that finding one in the log is proof of a leak.
SECRETS = {
    "flume_client_secret": "cs-3c9e71f0-never-logged",
    "flume_password": "pw-81b2d4aa-never-logged",
    "mqtt_password": "mq-5d0a6e13-never-logged",
}


def credentials(directory: Path) -> Path:
    """The files LoadCredential= would hand over: 0600, one secret each."""
    directory.mkdir(mode=0o700)
    for name, secret in SECRETS.items():
        path = directory / name
        path.write_text(secret + "\n")  # as `echo` or systemd-creds writes them
        path.chmod(0o600)
    return directory


def test_secrets_from_credential_files_serve_and_never_show(
    sim_factory: SimFactory, broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    """Flume and broker log in with file secrets; no secret or token is logged."""
    sim = sim_factory(
        latency_minutes=0,
        client_secret=SECRETS["flume_client_secret"],
        password=SECRETS["flume_password"],
    )
    broker = broker_factory(username="bridge", password=SECRETS["mqtt_password"])
    sensor = next(d.id for d in sim.model.account.devices if d.type == 2)
    env = bridge_env(sim, broker, tmp_path / "state")
    for name in SECRETS:
        del env[name.upper()]
    assert not [s for s in SECRETS.values() if any(s in v for v in env.values())]
    env["CREDENTIALS_DIRECTORY"] = str(credentials(tmp_path / "credentials"))
    with subscriber(broker, ("flume/#",)) as sub:
        bridge = BridgeProcess(env, tmp_path / "bridge.log")
        try:
            state = newest_state(sub, sensor, today=lambda v: v is not None)
        finally:
            assert bridge.stop() == 0, bridge.text()
        payloads = b"".join(seen.payload for seen in sub.seen)
    assert state["device_id"] == sensor
    log = bridge.text()
    assert " DEBUG " in log  # the most talkative level was on
    token = json.loads((tmp_path / "state/flume-token.json").read_text())
    hidden = [*SECRETS.values(), token["access_token"], token["refresh_token"]]
    assert [secret for secret in hidden if secret in log] == []
    assert [secret for secret in hidden if secret.encode() in payloads] == []
