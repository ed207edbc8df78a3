"""Settings: every variable of DESIGN §3, where each comes from, and its rules."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bridge.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_ENV_FILE: Final = Path(".env")
CHECKED_PREFIXES: Final = ("FLUME_", "MQTT_", "HA_")
FLUME_CREDENTIALS: Final = (
    "flume_client_id",
    "flume_client_secret",
    "flume_username",
    "flume_password",
)

# Options that mean nothing without another; TLS options without MQTT_TLS would
# otherwise connect in plain text while the operator believes the link is encrypted.
NEEDS: Final = (
    ("mqtt_password", "mqtt_username"),
    ("mqtt_key_file", "mqtt_cert_file"),
    ("mqtt_ca_file", "mqtt_tls"),
    ("mqtt_cert_file", "mqtt_tls"),
    ("mqtt_key_file", "mqtt_tls"),
    ("mqtt_tls_insecure", "mqtt_tls"),
)

Port = Annotated[int, Field(ge=1, le=65535)]

# Operator wording for pydantic's error types; ranges and choices are worded from the
# field itself so the message shows both bounds or every choice.
MESSAGES: Final = {
    "missing": "required",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be true or false",
    "greater_than": "must be greater than {gt:g}",
    "greater_than_equal": "must be at least {ge:g}",
    "less_than_equal": "must be at most {le:g}",
    "string_too_short": "must not be empty",
    "too_short": "must not be empty",
}


# RULE_SUSTAINED_FLOW and RULE_AWAY_VOLUME by UNITS: about 5 gal/min (a garden hose,
# a burst pipe; above what a shower draws) and about 1 gal (a toilet refill) in round
# figures of each unit.
RULE_DEFAULTS: Final[Mapping[str, tuple[float, float]]] = {
    "gallons": (5.0, 1.0),
    "liters": (19.0, 4.0),
    "cubic_feet": (0.67, 0.13),
    "cubic_meters": (1.1, 0.004),
}


def default_state_dir(environ: Mapping[str, str]) -> Path:
    """Where tokens and counters live when STATE_DIR is not set.

    systemd's `StateDirectory=` passes `$STATE_DIRECTORY` (colon-separated when it names
    several); the first one is ours.
    """
    given = environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(given) if given else Path.home() / ".local/state/flume-mqtt"


def _default_port(data: dict[str, Any]) -> int:
    return 8883 if data.get("mqtt_tls") else 1883


def _default_client_id() -> str:
    return f"flume-mqtt-{socket.gethostname()}"


def _topic(value: str) -> str:
    """Reject what would make a publish or subscribe topic invalid or surprising."""
    if not value or value != value.strip("/") or any(c in value for c in "+#\0"):
        raise ValueError("must be a topic without wildcards or a leading/trailing '/'")
    return value


class Settings(BaseSettings):
    """The bridge's configuration; field `x_y` is variable `X_Y`.

    Built directly (`Settings(mqtt_host=...)`) it reads no variable and no file; only
    `load_settings` consults the sources, so callers get exactly what they pass.
    """

    model_config = SettingsConfigDict(
        case_sensitive=False,
        env_ignore_empty=True,  # `.env.example` copied as is means "use the defaults"
        extra="ignore",  # a shared `.env` may hold other programs' variables
        frozen=True,
        hide_input_in_errors=True,  # inputs may be secrets
    )

    flume_client_id: str | None = Field(default=None, min_length=1)
    flume_client_secret: SecretStr | None = Field(default=None, min_length=1)
    flume_username: str | None = Field(default=None, min_length=1)
    flume_password: SecretStr | None = Field(default=None, min_length=1)
    flume_api_url: str = "https://api.flumewater.com"
    flume_requests_per_hour: int = Field(default=100, ge=1, le=120)
    flume_device_ids: Annotated[tuple[str, ...], NoDecode] = ()
    flume_timeout: float = Field(default=15.0, gt=0, allow_inf_nan=False)

    mqtt_host: str = Field(default="localhost", min_length=1)
    mqtt_tls: bool = False  # before mqtt_port: its default depends on it
    mqtt_port: Port = Field(default_factory=_default_port)
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_ca_file: Path | None = None
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None
    mqtt_tls_insecure: bool = False
    mqtt_protocol: Literal["3.1.1", "5"] = "3.1.1"
    mqtt_client_id: str = Field(default_factory=_default_client_id, min_length=1)
    mqtt_base_topic: str = "flume"

    ha_discovery: bool = True
    ha_discovery_prefix: str = "homeassistant"
    ha_status_topic: str = "homeassistant/status"
    ha_discovery_schema: Literal["device", "component"] = "device"

    units: Literal["gallons", "liters", "cubic_feet", "cubic_meters"] = "gallons"
    meter_offset: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    state_dir: Path = Field(default_factory=lambda: default_state_dir(os.environ))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    rule_continuous_minutes: int = Field(default=120, ge=0, le=1440)
    # None: the UNITS default (RULE_DEFAULTS), so a change of UNITS needs no edit here.
    rule_sustained_flow: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    rule_sustained_minutes: int = Field(default=30, ge=0, le=1440)
    rule_away_volume: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    session_gap_minutes: int = Field(default=2, ge=1, le=60)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],  # noqa: ARG003  # called with keywords
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,  # noqa: ARG003  # see load_settings
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment (passed in by load_settings), then `.env`, then credentials."""
        return init_settings, dotenv_settings, file_secret_settings

    @field_validator("flume_api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or any(
            c.isspace() for c in value
        ):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("flume_device_ids", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("flume_device_ids")
    @classmethod
    def _device_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not all(part.isdigit() for part in value):
            raise ValueError("must be device ids (digits) separated by commas")
        return value

    @field_validator("mqtt_base_topic", "ha_discovery_prefix", "ha_status_topic")
    @classmethod
    def _topics(cls, value: str) -> str:
        return _topic(value)

    @field_validator("mqtt_ca_file", "mqtt_cert_file", "mqtt_key_file")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        value = value.expanduser()
        if not (value.is_file() and os.access(value, os.R_OK)):
            raise ValueError(f"no readable file at {value}")
        return value

    @field_validator("state_dir")
    @classmethod
    def _state_dir(cls, value: Path) -> Path:
        value = value.expanduser()
        if value.exists() and not value.is_dir():
            raise ValueError(f"{value} is not a directory")
        return value

    @field_validator("units", "ha_discovery_schema", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        for option, needed in NEEDS:
            if getattr(self, option) and not getattr(self, needed):
                shown = "MQTT_TLS=true" if needed == "mqtt_tls" else needed.upper()
                raise ValueError(f"{option.upper()}: needs {shown}")
        return self


def load_settings(
    env_file: Path | None = None,
    *,
    demo: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read the settings: environment, then the env file, then systemd credentials.

    Args:
        env_file: an explicit `--env-file`, which must exist; None reads `.env` in the
            working directory when there is one.
        demo: whether the Flume credentials may be missing (`--demo` brings its own).
        environ: the process environment; empty values count as unset.

    Raises:
        ConfigError: one line naming each bad variable, never a value.
    """
    environ = os.environ if environ is None else environ
    path = _env_file(env_file)
    secrets_dir = _credentials_dir(environ)
    given: dict[str, Any] = {
        name.lower(): value
        for name, value in environ.items()
        if value and name.lower() in Settings.model_fields
    }
    try:
        _warn_unknown(environ, path, secrets_dir)
        settings = Settings(_env_file=path, _secrets_dir=secrets_dir, **given)
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the settings: {exc}") from None
    if "state_dir" not in settings.model_fields_set:
        settings = settings.model_copy(update={"state_dir": default_state_dir(environ)})
    missing = [n.upper() for n in FLUME_CREDENTIALS if getattr(settings, n) is None]
    if missing and not demo:
        raise ConfigError(f"{', '.join(missing)}: required (or run with --demo)")
    return settings


def describe(exc: ValidationError) -> str:
    """One line for the operator: each bad variable and what it must be."""
    errors = exc.errors(include_input=False)
    # MQTT_PORT's default needs MQTT_TLS; pydantic then also reports it whenever any
    # other field failed, which would name a variable the operator never set.
    return "; ".join(
        _line(error)
        for error in errors
        if error["type"] != "default_factory_not_called"
    )


def _line(error: Mapping[str, Any]) -> str:
    ctx: dict[str, Any] = error.get("ctx", {})
    if not error["loc"]:  # a cross-field rule: its message names the variables
        return str(ctx.get("error", error["msg"]))
    name = str(error["loc"][0])
    return f"{name.upper()}: {_wording(name, error['type'], ctx) or error['msg']}"


def _wording(name: str, kind: str, ctx: dict[str, Any]) -> str | None:
    field = Settings.model_fields[name]
    if kind == "value_error":
        return str(ctx["error"])
    if kind == "literal_error":
        return "must be one of " + ", ".join(map(str, get_args(field.annotation)))
    # Name both bounds when the field has both, so that one fix is enough.
    bounds = {
        key: getattr(meta, key)
        for meta in field.metadata
        for key in ("ge", "le")
        if getattr(meta, key, None) is not None
    }
    if kind in ("greater_than_equal", "less_than_equal") and len(bounds) == 2:
        return f"must be between {bounds['ge']:g} and {bounds['le']:g}"
    template = MESSAGES.get(kind)
    return template.format(**ctx) if template else None


def _env_file(given: Path | None) -> Path | None:
    if given is None:
        return DEFAULT_ENV_FILE if DEFAULT_ENV_FILE.is_file() else None
    if not given.is_file():
        raise ConfigError(f"--env-file: no such file: {given}")
    return given


def _credentials_dir(environ: Mapping[str, str]) -> Path | None:
    given = environ.get("CREDENTIALS_DIRECTORY")
    if not given:
        return None
    if not Path(given).is_dir():
        raise ConfigError(f"CREDENTIALS_DIRECTORY: {given} is not a directory")
    return Path(given)


def _warn_unknown(
    environ: Mapping[str, str], env_file: Path | None, secrets_dir: Path | None
) -> None:
    """Warn about likely typos: a misspelt variable is otherwise silently ignored."""
    names = {name.upper() for name in environ}
    if env_file is not None:
        dotenv = DotEnvSettingsSource(Settings, env_file=env_file)
        names.update(name.upper() for name in dotenv.env_vars)
    if secrets_dir is not None:
        names.update(path.name.upper() for path in secrets_dir.iterdir())
    known = [name.upper() for name in Settings.model_fields]
    for name in sorted(names - set(known)):
        if name.startswith(CHECKED_PREFIXES):
            # Here, not at the top: only a misspelt variable needs difflib (0.2 MiB
            # that `run` would otherwise keep for its whole life).
            import difflib  # noqa: PLC0415

            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]}?" if close else "it is ignored"
            log.warning("unknown variable %s; %s", name, hint)
