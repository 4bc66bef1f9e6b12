"""Credentials: value > file > env, basic and bearer headers, errors without the secret."""

from __future__ import annotations

import base64

import pytest

from shipper.errors import ConfigError
from shipper.sinks.auth import auth_headers, resolve_secret
from shipper.sinks.settings import HttpSinkSettings


def cfg(**kw):
    return HttpSinkSettings(url="http://x", **kw)


def test_secret_from_file_is_stripped(tmp_path):
    path = tmp_path / "token"
    path.write_text("tok-1\n")
    assert resolve_secret(cfg(bearer_token_file=path), "bearer_token").get_secret_value() == "tok-1"


def test_secret_from_env_and_value_wins_over_env():
    env = {"TOKEN": "from-env"}
    assert resolve_secret(cfg(bearer_token_env="TOKEN"), "bearer_token", env).get_secret_value() == "from-env"
    got = resolve_secret(cfg(bearer_token="v", bearer_token_env="TOKEN"), "bearer_token", env)
    assert got.get_secret_value() == "v"
    assert resolve_secret(cfg(), "bearer_token", env) is None


def test_unreadable_secret_file_names_the_key_not_a_value(tmp_path):
    with pytest.raises(ConfigError, match="password_file"):
        resolve_secret(cfg(password_file=tmp_path / "missing"), "password")


def test_basic_and_bearer_headers():
    basic = auth_headers(cfg(username="u", password="p"))
    assert basic == {"Authorization": "Basic " + base64.b64encode(b"u:p").decode()}
    assert auth_headers(cfg(bearer_token="t")) == {"Authorization": "Bearer t"}
    assert auth_headers(cfg()) == {}


def test_basic_and_bearer_together_is_a_config_error():
    with pytest.raises(ConfigError, match="either basic auth"):
        auth_headers(cfg(username="u", bearer_token="t"))
