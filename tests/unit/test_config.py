"""Settings: names, defaults, rules, sources and their order, secrets, typo warnings."""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from bridge.config import Settings, load_settings
from bridge.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CREDS = {
    "FLUME_CLIENT_ID": "client-id",
    "FLUME_CLIENT_SECRET": "client-s3cret-XYZ",
    "FLUME_USERNAME": "user@example.com",
    "FLUME_PASSWORD": "pa55word-XYZ",
}
TOPIC = "must be a topic without wildcards or a leading/trailing '/'"
SECRETS = ("client-s3cret-XYZ", "pa55word-XYZ", "broker-pa55-XYZ")


def load(env_file: Path | None = None, /, **env: str) -> Settings:
    return load_settings(env_file, environ={**CREDS, **env})


def error_of(env_file: Path | None = None, /, **env: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load(env_file, **env)
    return str(raised.value)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_are_those_of_the_design(monkeypatch: pytest.MonkeyPatch) -> None:
    """With only the credentials set, every other variable has DESIGN §3's default."""
    monkeypatch.setenv("HOME", "/home/pi")
    loaded = load()
    assert loaded.model_dump(exclude={n.lower() for n in CREDS}) == {
        "flume_api_url": "https://api.flumewater.com",
        "flume_requests_per_hour": 100,
        "flume_device_ids": (),
        "flume_timeout": 15.0,
        "mqtt_host": "localhost",
        "mqtt_tls": False,
        "mqtt_port": 1883,
        "mqtt_username": None,
        "mqtt_password": None,
        "mqtt_ca_file": None,
        "mqtt_cert_file": None,
        "mqtt_key_file": None,
        "mqtt_tls_insecure": False,
        "mqtt_protocol": "3.1.1",
        "mqtt_client_id": f"flume-mqtt-{socket.gethostname()}",
        "mqtt_base_topic": "flume",
        "ha_discovery": True,
        "ha_discovery_prefix": "homeassistant",
        "ha_status_topic": "homeassistant/status",
        "ha_discovery_schema": "device",
        "units": "gallons",
        "meter_offset": 0.0,
        "state_dir": Path("/home/pi/.local/state/flume-mqtt"),
        "log_level": "INFO",
        "rule_continuous_minutes": 120,
        "rule_sustained_flow": None,  # per UNITS: RULE_DEFAULTS
        "rule_sustained_minutes": 30,
        "rule_away_volume": None,  # per UNITS: RULE_DEFAULTS
        "session_gap_minutes": 2,
    }


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("FLUME_API_URL", "http://127.0.0.1:8089/", "http://127.0.0.1:8089"),
        ("FLUME_REQUESTS_PER_HOUR", "120", 120),
        (
            "FLUME_DEVICE_IDS",
            " 6248148189204194987, 42 ,",
            ("6248148189204194987", "42"),
        ),
        ("FLUME_TIMEOUT", "2.5", 2.5),
        ("MQTT_HOST", "broker.lan", "broker.lan"),
        ("MQTT_PORT", "1884", 1884),
        ("MQTT_USERNAME", "bridge", "bridge"),
        ("MQTT_PROTOCOL", "5", "5"),
        ("MQTT_CLIENT_ID", "pi-kitchen", "pi-kitchen"),
        ("MQTT_BASE_TOPIC", "home/water", "home/water"),
        ("HA_DISCOVERY", "off", False),
        ("HA_DISCOVERY_PREFIX", "ha", "ha"),
        ("HA_STATUS_TOPIC", "ha/status", "ha/status"),
        ("HA_DISCOVERY_SCHEMA", "Component", "component"),
        ("UNITS", "Cubic_Meters", "cubic_meters"),
        ("METER_OFFSET", "1234.5", 1234.5),
        ("STATE_DIR", "/var/lib/flume-mqtt", Path("/var/lib/flume-mqtt")),
        ("LOG_LEVEL", "debug", "DEBUG"),
    ],
)
def test_each_variable_is_read_under_its_own_name(
    name: str, raw: str, expected: object
) -> None:
    """A variable set in the environment reaches its field, normalised."""
    assert getattr(load(**{name: raw}), name.lower()) == expected


BAD_VALUES = [
    (
        {"FLUME_REQUESTS_PER_HOUR": "0"},
        "FLUME_REQUESTS_PER_HOUR: must be between 1 and 120",
    ),
    (
        {"FLUME_REQUESTS_PER_HOUR": "121"},
        "FLUME_REQUESTS_PER_HOUR: must be between 1 and 120",
    ),
    (
        {"FLUME_REQUESTS_PER_HOUR": "ten"},
        "FLUME_REQUESTS_PER_HOUR: must be a whole number",
    ),
    ({"FLUME_TIMEOUT": "0"}, "FLUME_TIMEOUT: must be greater than 0"),
    ({"FLUME_TIMEOUT": "inf"}, "FLUME_TIMEOUT: must be a finite number"),
    ({"FLUME_TIMEOUT": "soon"}, "FLUME_TIMEOUT: must be a number"),
    (
        {"FLUME_API_URL": "api.flumewater.com"},
        "FLUME_API_URL: must be an http:// or https:// URL",
    ),
    (
        {"FLUME_DEVICE_IDS": "kitchen"},
        "FLUME_DEVICE_IDS: must be device ids (digits) separated by commas",
    ),
    ({"MQTT_PORT": "0"}, "MQTT_PORT: must be between 1 and 65535"),
    ({"MQTT_PORT": "65536"}, "MQTT_PORT: must be between 1 and 65535"),
    ({"MQTT_TLS": "maybe"}, "MQTT_TLS: must be true or false"),
    ({"MQTT_PROTOCOL": "3.1"}, "MQTT_PROTOCOL: must be one of 3.1.1, 5"),
    ({"MQTT_BASE_TOPIC": "flume/#"}, f"MQTT_BASE_TOPIC: {TOPIC}"),
    ({"HA_DISCOVERY_PREFIX": "/homeassistant"}, f"HA_DISCOVERY_PREFIX: {TOPIC}"),
    ({"HA_STATUS_TOPIC": "+/status"}, f"HA_STATUS_TOPIC: {TOPIC}"),
    (
        {"HA_DISCOVERY_SCHEMA": "entity"},
        "HA_DISCOVERY_SCHEMA: must be one of device, component",
    ),
    (
        {"UNITS": "pints"},
        "UNITS: must be one of gallons, liters, cubic_feet, cubic_meters",
    ),
    ({"METER_OFFSET": "-0.1"}, "METER_OFFSET: must be at least 0"),
    ({"METER_OFFSET": "nan"}, "METER_OFFSET: must be a finite number"),
    (
        {"LOG_LEVEL": "chatty"},
        "LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR",
    ),
    ({"MQTT_PASSWORD": "broker-pa55-XYZ"}, "MQTT_PASSWORD: needs MQTT_USERNAME"),
    ({"MQTT_TLS_INSECURE": "true"}, "MQTT_TLS_INSECURE: needs MQTT_TLS=true"),
]


@pytest.mark.parametrize(
    ("env", "message"),
    BAD_VALUES,
    ids=[",".join(f"{k}={v}" for k, v in env.items()) for env, _ in BAD_VALUES],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    env: dict[str, str], message: str
) -> None:
    """Each rule of DESIGN §3 rejects a bad value with exactly one operator line."""
    assert error_of(**env) == message


def test_several_bad_values_are_reported_together_on_one_line() -> None:
    """All bad variables are named at once, and MQTT_PORT is not blamed for MQTT_TLS."""
    assert error_of(UNITS="pints", MQTT_TLS="maybe") == (
        "MQTT_TLS: must be true or false; "
        "UNITS: must be one of gallons, liters, cubic_feet, cubic_meters"
    )


def test_missing_flume_credentials_name_each_variable_and_the_way_out() -> None:
    """Without credentials the error names every missing one and suggests --demo."""
    with pytest.raises(
        ConfigError, match=r"^FLUME_PASSWORD: required \(or run with --demo\)$"
    ):
        load_settings(
            None, environ={k: v for k, v in CREDS.items() if k != "FLUME_PASSWORD"}
        )
    with pytest.raises(ConfigError) as raised:
        load_settings(None, environ={})
    assert str(raised.value) == (
        "FLUME_CLIENT_ID, FLUME_CLIENT_SECRET, FLUME_USERNAME, FLUME_PASSWORD: "
        "required (or run with --demo)"
    )


def test_demo_mode_needs_no_flume_credentials() -> None:
    """With demo=True the credentials may be absent and stay None."""
    loaded = load_settings(None, demo=True, environ={})
    assert loaded.flume_client_id is None
    assert loaded.flume_password is None


def test_empty_values_mean_the_default() -> None:
    """An empty variable (as in a copied .env.example) counts as unset."""
    loaded = load(MQTT_PORT="", UNITS="", FLUME_DEVICE_IDS="")
    assert (loaded.mqtt_port, loaded.units, loaded.flume_device_ids) == (
        1883,
        "gallons",
        (),
    )


def test_mqtt_port_defaults_to_8883_with_tls_unless_set() -> None:
    """TLS changes the default port; an explicit MQTT_PORT still wins."""
    assert load(MQTT_TLS="true").mqtt_port == 8883
    assert load(MQTT_TLS="true", MQTT_PORT="8884").mqtt_port == 8884
    assert load(MQTT_TLS="false").mqtt_port == 1883


def test_state_dir_follows_systemd_then_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """STATE_DIR beats $STATE_DIRECTORY (first entry), which beats ~/.local/state."""
    monkeypatch.setenv("HOME", "/home/pi")
    assert load(STATE_DIRECTORY="/var/lib/flume-mqtt:/var/lib/other").state_dir == Path(
        "/var/lib/flume-mqtt"
    )
    assert load(STATE_DIRECTORY="/var/lib/a", STATE_DIR="~/state").state_dir == Path(
        "/home/pi/state"
    )
    assert load().state_dir == Path("/home/pi/.local/state/flume-mqtt")


def test_state_dir_must_not_be_a_file(tmp_path: Path) -> None:
    """A STATE_DIR that names an existing file is refused up front."""
    file = write(tmp_path / "state", "")
    assert error_of(STATE_DIR=str(file)) == f"STATE_DIR: {file} is not a directory"


def test_tls_files_must_be_readable_and_a_key_needs_its_certificate(
    tmp_path: Path,
) -> None:
    """Certificate paths are checked at start, not at the first connect."""
    ca, cert, key = (write(tmp_path / n, "PEM") for n in ("ca.pem", "c.pem", "k.pem"))
    loaded = load(
        MQTT_TLS="on",
        MQTT_CA_FILE=str(ca),
        MQTT_CERT_FILE=str(cert),
        MQTT_KEY_FILE=str(key),
    )
    assert (loaded.mqtt_ca_file, loaded.mqtt_cert_file, loaded.mqtt_key_file) == (
        ca,
        cert,
        key,
    )
    missing = tmp_path / "missing.pem"
    assert error_of(MQTT_TLS="on", MQTT_CA_FILE=str(missing)) == (
        f"MQTT_CA_FILE: no readable file at {missing}"
    )
    assert error_of(MQTT_TLS="on", MQTT_CA_FILE=str(tmp_path)) == (
        f"MQTT_CA_FILE: no readable file at {tmp_path}"
    )
    assert error_of(MQTT_TLS="on", MQTT_KEY_FILE=str(key)) == (
        "MQTT_KEY_FILE: needs MQTT_CERT_FILE"
    )
    assert error_of(MQTT_CA_FILE=str(ca)) == "MQTT_CA_FILE: needs MQTT_TLS=true"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("1", True),
        ("yes", True),
        ("ON", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("off", False),
    ],
)
def test_booleans_accept_the_usual_spellings(raw: str, expected: bool) -> None:
    """true/false, 1/0, yes/no and on/off all work, in any case."""
    assert load(HA_DISCOVERY=raw).ha_discovery is expected


def test_sources_apply_in_order_env_then_file_then_credentials(tmp_path: Path) -> None:
    """Environment beats --env-file, which beats $CREDENTIALS_DIRECTORY files."""
    env_file = write(
        tmp_path / "flume.env", "MQTT_HOST=from-file\nMQTT_BASE_TOPIC=file/topic\n"
    )
    creds = tmp_path / "creds"
    creds.mkdir()
    for name, value in [
        ("mqtt_host", "from-creds"),
        ("mqtt_base_topic", "creds/topic"),
        ("ha_discovery_prefix", "creds-prefix"),
    ]:
        write(creds / name, value + "\n")
    loaded = load(env_file, MQTT_HOST="from-env", CREDENTIALS_DIRECTORY=str(creds))
    assert loaded.mqtt_host == "from-env"
    assert loaded.mqtt_base_topic == "file/topic"
    assert loaded.ha_discovery_prefix == "creds-prefix"
    assert loaded.ha_status_topic == "homeassistant/status"


def test_secrets_come_from_credential_files_without_the_newline(tmp_path: Path) -> None:
    """Secrets may come from LoadCredential= files named after the variable."""
    write(tmp_path / "flume_password", "from-a-file\n")
    write(tmp_path / "mqtt_password", "broker-secret\n")
    env = {k: v for k, v in CREDS.items() if k != "FLUME_PASSWORD"}
    loaded = load_settings(
        None,
        environ={
            **env,
            "MQTT_USERNAME": "bridge",
            "CREDENTIALS_DIRECTORY": str(tmp_path),
        },
    )
    assert loaded.flume_password == SecretStr("from-a-file")
    assert loaded.mqtt_password == SecretStr("broker-secret")


def test_an_empty_credential_file_is_an_error(tmp_path: Path) -> None:
    """An empty secret is a mistake worth one line, not a login failure later."""
    write(tmp_path / "flume_password", "\n")
    env = {k: v for k, v in CREDS.items() if k != "FLUME_PASSWORD"}
    with pytest.raises(ConfigError, match=r"^FLUME_PASSWORD: must not be empty$"):
        load_settings(None, environ={**env, "CREDENTIALS_DIRECTORY": str(tmp_path)})


def test_a_credentials_directory_that_is_missing_is_an_error(tmp_path: Path) -> None:
    """$CREDENTIALS_DIRECTORY must name a directory."""
    gone = tmp_path / "gone"
    assert error_of(CREDENTIALS_DIRECTORY=str(gone)) == (
        f"CREDENTIALS_DIRECTORY: {gone} is not a directory"
    )


def test_dot_env_in_the_working_directory_is_read_when_present(tmp_path: Path) -> None:
    """Without --env-file, ./.env is read if it exists and skipped if it does not."""
    assert load().mqtt_host == "localhost"  # conftest runs each test in tmp_path
    write(tmp_path / ".env", "export MQTT_HOST=from-dot-env\nFLUME_DEVICE_IDS=1,2\n")
    loaded = load()
    assert loaded.mqtt_host == "from-dot-env"
    assert loaded.flume_device_ids == ("1", "2")


def test_an_explicit_env_file_must_exist(tmp_path: Path) -> None:
    """A missing --env-file is a configuration error, not silently ignored."""
    missing = tmp_path / "nope.env"
    assert error_of(missing) == f"--env-file: no such file: {missing}"


def test_an_env_file_may_hold_unrelated_variables(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Other programs' variables in a shared file are ignored without a warning."""
    env_file = write(tmp_path / "shared.env", "EDITOR=vim\nOTHER_APP_PORT=1\n")
    assert load(env_file, PATH="/usr/bin").mqtt_host == "localhost"
    assert caplog.records == []


def test_an_unreadable_env_file_is_a_configuration_error(tmp_path: Path) -> None:
    """A file that is not UTF-8 text gives one line instead of a traceback."""
    env_file = tmp_path / "binary.env"
    env_file.write_bytes(b"MQTT_HOST=\xff\xfe\n")
    assert error_of(env_file).startswith("cannot read the settings: ")


def test_unknown_variables_are_warned_about_with_the_closest_name(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A misspelt FLUME_/MQTT_/HA_ variable gets a warning naming the likely one."""
    env_file = write(tmp_path / "typo.env", "FLUME_REQUEST_PER_HOUR=60\n")
    creds = tmp_path / "creds"
    creds.mkdir()
    write(creds / "flume_pasword", "x")
    with caplog.at_level(logging.WARNING, logger="bridge.config"):
        load(
            env_file,
            MQTT_HOTS="broker",
            HA_BANANA="1",
            CREDENTIALS_DIRECTORY=str(creds),
        )
    assert [r.getMessage() for r in caplog.records] == [
        "unknown variable FLUME_PASWORD; did you mean FLUME_PASSWORD?",
        "unknown variable FLUME_REQUEST_PER_HOUR; "
        "did you mean FLUME_REQUESTS_PER_HOUR?",
        "unknown variable HA_BANANA; it is ignored",
        "unknown variable MQTT_HOTS; did you mean MQTT_HOST?",
    ]
    assert {r.levelno for r in caplog.records} == {logging.WARNING}


def test_secrets_never_show_in_repr_str_or_errors(tmp_path: Path) -> None:
    """SecretStr hides the secrets in the model, and errors never echo a value."""
    loaded = load(MQTT_USERNAME="bridge", MQTT_PASSWORD="broker-pa55-XYZ")
    for text in (repr(loaded), str(loaded), loaded.model_dump_json()):
        assert not any(secret in text for secret in SECRETS)
    message = error_of(MQTT_PASSWORD="broker-pa55-XYZ", FLUME_TIMEOUT="pa55word-XYZ")
    assert not any(secret in message for secret in SECRETS)
    with pytest.raises(ValidationError) as raised:
        Settings(flume_timeout="client-s3cret-XYZ")  # type: ignore[arg-type]  # a bad value on purpose
    assert "client-s3cret-XYZ" not in str(raised.value)


def test_settings_are_frozen() -> None:
    """Nothing changes the configuration after it was loaded."""
    loaded = load()
    with pytest.raises(ValidationError):
        loaded.mqtt_host = "elsewhere"  # type: ignore[misc]  # frozen on purpose


def test_settings_built_directly_read_no_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only load_settings reads the environment; Settings() takes what it is given."""
    monkeypatch.setenv("MQTT_HOST", "from-env")
    assert Settings().mqtt_host == "localhost"


def test_load_settings_reads_the_process_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without an explicit mapping, os.environ is the environment."""
    for name, value in {**CREDS, "MQTT_HOST": "from-os-environ"}.items():
        monkeypatch.setenv(name, value)
    assert load_settings(None).mqtt_host == "from-os-environ"


def test_env_example_loads_to_exactly_the_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """.env.example, copied as is with credentials added, changes no default."""
    monkeypatch.setenv("HOME", "/home/pi")
    example = ROOT / ".env.example"
    assert load(example) == load()
    assert load(example, MQTT_TLS="true").mqtt_port == 8883


def test_env_example_comments_every_variable() -> None:
    """Each variable in .env.example has a comment (its own or its group's) above it."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            above = lines[:index]
            assert any(prev.startswith("#") for prev in above[-6:]), line


FIELDS = sorted(Settings.model_fields)
EXCLUDED = {
    "state_dir",
    "mqtt_ca_file",
    "mqtt_cert_file",
    "mqtt_key_file",
}  # echo paths


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from([f for f in FIELDS if f not in EXCLUDED]),
    value=st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters="\0"),
        min_size=1,
        max_size=30,
    ),
)
def test_any_value_loads_or_fails_with_one_line_that_never_echoes_it(
    name: str, value: str
) -> None:
    """Any value loads, or fails with one ConfigError line that does not echo it."""
    marked = f"Zq{value}"
    try:
        load(**{name.upper(): marked})
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message
        assert message.startswith(name.upper() + ":") or "needs" in message
        assert marked not in message
