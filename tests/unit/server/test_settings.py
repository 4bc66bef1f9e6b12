"""ServerSettings: listen parsing, bounds, the token never shown."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shipper.server.settings import ServerSettings, parse_listen


def test_default_listen_is_all_interfaces_port_9102():
    settings = ServerSettings()
    assert settings.listen == "0.0.0.0:9102"
    assert settings.enabled


@pytest.mark.parametrize("listen, expected", [
    ("127.0.0.1:0", ("127.0.0.1", 0)),
    (":9102", ("0.0.0.0", 9102)),
    ("[::1]:9102", ("::1", 9102)),
    ("off", None),
    ("OFF", None),
])
def test_parse_listen_accepts_host_port_ipv6_and_off(listen, expected):
    assert parse_listen(listen) == expected


@pytest.mark.parametrize("listen", ["9102", "host:", "host:abc", "host:70000", ""])
def test_invalid_listen_is_rejected_at_validation(listen):
    with pytest.raises(ValidationError):
        ServerSettings(listen=listen)


def test_off_disables_the_server():
    assert not ServerSettings(listen="off").enabled


def test_durations_accept_units():
    assert ServerSettings(stall_after="2m", tail_heartbeat="500ms").stall_after == 120.0


def test_token_is_secret_in_repr_and_dump():
    settings = ServerSettings(token="s3cr3t-value")
    assert "s3cr3t-value" not in repr(settings)
    assert "s3cr3t-value" not in str(settings.model_dump(mode="json"))
    assert settings.token.get_secret_value() == "s3cr3t-value"


def test_token_and_token_file_are_mutually_exclusive(tmp_path):
    with pytest.raises(ValidationError, match="not both"):
        ServerSettings(token="a", token_file=tmp_path / "t")


def test_unknown_keys_and_zero_bounds_are_errors():
    with pytest.raises(ValidationError):
        ServerSettings(tail_ring=5)
    with pytest.raises(ValidationError):
        ServerSettings(tail_client_queue=0)
    with pytest.raises(ValidationError):
        ServerSettings(jobs_max=0)
