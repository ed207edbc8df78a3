"""The Service when the broker refuses its login while serving: one ERROR, no end."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from bridge.simulator.server import Simulator
from tests.conftest import BrokerFactory
from tests.support.bridge import newest_state
from tests.support.broker import Broker, TlsFiles
from tests.support.mqtt import subscriber
from tests.support.service import datagrams, eventually, running, service_settings

PASSWORD = "broker-secret"
WAIT = 30.0  # for anything on a loaded machine; never an assertion on speed


def test_a_refusal_while_serving_is_one_error_a_status_and_no_end(
    sim: Simulator,
    broker_factory: BrokerFactory,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A password rotated on the broker: one ERROR, STATUS= says so; states after."""
    caplog.set_level(logging.INFO)
    sensor = sim.model.account.sensors[0].id
    broker = broker_factory(username="bridge", password=PASSWORD)
    settings = service_settings(
        sim, broker, tmp_path / "state", mqtt_username="bridge", mqtt_password=PASSWORD
    )
    sent: list[str] = []

    def status_has(text: str) -> bool:
        sent.extend(datagrams(sock))
        return any(text in s for s in sent if s.startswith("STATUS="))

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(tmp_path / "notify"))
        monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
        with running(settings) as service:
            with subscriber(broker, (f"flume/{sensor}/state",)) as watch:
                newest_state(watch, sensor, today=lambda v: v is not None)
            broker.restart_with_password("rotated-secret")
            eventually(lambda: status_has("; broker refuses: MQTT broker "), WAIT)
            broker.restart_with_password(PASSWORD)
            with subscriber(broker, (f"flume/{sensor}/state",)) as watch:
                watch.wait_for(bool, timeout=WAIT + 60)
            eventually(lambda: status_has("; broker connected; "), WAIT)
            assert service.finish() is None
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert (
        "login refused (Not authorized); check MQTT_USERNAME and MQTT_PASSWORD"
        in (errors[0])
    )
    assert PASSWORD not in caplog.text


def test_a_certificate_refused_at_start_is_one_error_and_flume_is_polled(
    sim: Simulator,
    mosquitto_tls: Broker,
    tls_files: TlsFiles,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """A CA that does not vouch for the broker: one ERROR naming the TLS files."""
    caplog.set_level(logging.INFO)
    settings = service_settings(
        sim,
        mosquitto_tls,
        tmp_path / "state",
        mqtt_tls=True,
        mqtt_ca_file=tls_files.client_cert,  # not the CA that signed the broker's
    )
    with running(settings) as service:
        eventually(lambda: any(service.service.jobs.board.last_success().values()))
        assert service.finish() is None
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert "check MQTT_CA_FILE, MQTT_CERT_FILE, MQTT_KEY_FILE" in errors[0]
