"""``config show`` masks credentials inside values: URL passwords and secret query
parameters, secret-looking header values, tokens anywhere in a sink; patterns stay."""

from __future__ import annotations

import orjson

from shipper.config import load_settings, masked_dump
from shipper.filters.secrets_urls import mask_url, secret_header, secret_param

GH = "ghp_" + "aB3" * 12


def shown(tmp_path, text: str) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return orjson.dumps(masked_dump(load_settings(str(path)))).decode()


def test_sink_urls_headers_and_values_are_masked(tmp_path):
    out = shown(tmp_path, f"""
sinks:
  - {{type: http, url: "https://svc:UrlPass123@h.example/v1?api_key=QueryKey1&region=eu",
      headers: {{X-Api-Key: HeaderKey1, Authorization: "Basic dXNlcjpwYXNz", X-Env: prod}}}}
  - {{type: loki, url: "http://127.0.0.1:3100/?token=LokiTok1&sig=SigVal1",
      static_labels: {{team: "{GH}"}}, password: LokiPass1}}
  - {{type: forward, url: "tcp://fluent:FwdPass1@127.0.0.1:24224"}}
server: {{token: ServerTok1}}
""")
    for secret in ("UrlPass123", "QueryKey1", "HeaderKey1", "dXNlcjpwYXNz", "LokiTok1",
                   "SigVal1", GH, "LokiPass1", "FwdPass1", "ServerTok1"):
        assert secret not in out, secret
    assert "https://svc:[REDACTED]@h.example/v1?api_key=[REDACTED]&region=eu" in out
    assert '"X-Env":"prod"' in out and "tcp://fluent:[REDACTED]@127.0.0.1:24224" in out


def test_patterns_of_filters_and_redact_rules_are_shown_as_written(tmp_path):
    out = shown(tmp_path, r"""
redact: {rules: [{name: pw, pattern: "password=\\S+"}]}
filters: {drop: [{name: t, match: {message: "token=abc123456"}}]}
""")
    assert "password=\\\\S+" in out and "token=abc123456" in out


def test_mask_url_shapes():
    assert mask_url("https://h/x?a=1") == "https://h/x?a=1"
    assert mask_url("http://tok123@h/x") == "http://[REDACTED]@h/x"
    assert mask_url("redis://:pw@h:6379/0") == "redis://:[REDACTED]@h:6379/0"
    assert mask_url("https://h/a?X-Amz-Signature=ab&X-Amz-Date=1") == \
        "https://h/a?X-Amz-Signature=[REDACTED]&X-Amz-Date=1"
    assert secret_param("access_token") and secret_param("sig") and not secret_param("page")
    assert secret_header("X-Api-Key") and secret_header("Cookie") and not secret_header("Accept")
