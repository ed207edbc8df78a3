"""The proxy and CA variables of the environment, read once when the session opens."""

from __future__ import annotations

import pytest

from bridge.flume.http import FlumeHttp

API = "http://127.0.0.1:9"


class NoBudget:
    """The budget FlumeHttp needs, never asked here."""

    def release(self) -> None:
        """Nothing was taken."""


def opened(monkeypatch: pytest.MonkeyPatch, **env: str) -> FlumeHttp:
    """A transport opened with exactly these proxy and CA variables set."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("http_proxy", "https_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return FlumeHttp.open(API, 5.0, NoBudget())  # type: ignore[arg-type]  # never used


def test_a_proxy_for_flume_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP_PROXY applies to Flume's URL; the environment is not read again."""
    http = opened(monkeypatch, http_proxy="http://127.0.0.1:3128")
    session = http._session  # what requests will send through
    assert session.proxies["http"] == "http://127.0.0.1:3128"
    assert session.trust_env is False
    http.close()


def test_no_proxy_for_flume_bypasses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_PROXY naming Flume's host leaves the session without a proxy."""
    http = opened(monkeypatch, http_proxy="http://127.0.0.1:3128", no_proxy="127.0.0.1")
    assert http._session.proxies == {}
    http.close()


def test_a_ca_bundle_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """REQUESTS_CA_BUNDLE (else CURL_CA_BUNDLE) becomes the session's `verify`."""
    http = opened(monkeypatch, CURL_CA_BUNDLE="/etc/ssl/local.pem")
    assert http._session.verify == "/etc/ssl/local.pem"
    http.close()
    http = opened(monkeypatch)
    assert http._session.verify is True
    http.close()
