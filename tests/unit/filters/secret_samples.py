"""A catalogue of fake secrets of every kind the redactor knows, each with a near miss.

Shared by the per-kind unit tests (``test_secrets_kinds.py``) and the end-to-end proof
(``tests/integration/test_secrets_everywhere.py``). Every value is made up here from a
seeded generator in the documented shape of its kind (prefix, alphabet, length); none is
a real credential. ``Sample.text`` shows the secret in a typical log context,
``Sample.secrets`` are the substrings that must disappear, and ``Sample.near_miss`` is a
look-alike that must come through unchanged.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass

_RNG = random.Random(20260103)
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "_-"
HEX = "0123456789abcdef"


def fake(alphabet: str, size: int, prefix: str = "") -> str:
    """``prefix`` + ``size`` random characters of ``alphabet``, with at least one upper,
    lower case letter and digit when the alphabet has them (real keys almost always do)."""
    while True:
        body = "".join(_RNG.choice(alphabet) for _ in range(size))
        wanted = [f for f in (str.isupper, str.islower, str.isdigit) if any(map(f, alphabet))]
        if size < 8 or all(any(map(f, body)) for f in wanted):
            return prefix + body


@dataclass(frozen=True)
class Sample:
    kind: str           #: rule expected to fire (``fates``/``explain`` name)
    text: str           #: a log text holding the secret
    secrets: tuple[str, ...]
    near_miss: str      #: a look-alike that must be kept unchanged


def pem_body(lines: int = 6) -> list[str]:
    data = bytes(_RNG.randrange(256) for _ in range(48 * lines - 20))
    encoded = base64.b64encode(data).decode()
    return [encoded[i:i + 64] for i in range(0, len(encoded), 64)]


PEM_RSA = pem_body()
PEM_OPENSSH = pem_body(5)
PEM_JSON = pem_body(4)
AWS_KEY_ID = fake("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, "AKIA")
AWS_SECRET = fake(B64, 40)
AWS_SECRET_2 = fake(B64, 40)
BASIC = base64.b64encode(b"deploy:" + fake(ALNUM, 14).encode()).decode()
SAS_SIG = fake(ALNUM, 40) + "%2B" + fake(ALNUM, 2) + "%3D"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + "eyJzdWIiOiI0MiIsIm5hbWUiOiJib2IifQ."
       + fake(URLSAFE, 43))
GIT_SHA = fake(HEX, 40)
UUID = "7202c6ab-2288-4577-8117-170e351b11b4"
EPOCH_MS = "1767431426633"
LUHN_BAD = "4111 1111 1111 1112"

SAMPLES: list[Sample] = [
    # -- passwords in URLs -------------------------------------------------------------
    Sample("url_password", "db postgres://app:{s}@db.internal:5432/orders ready",
           (fake(ALNUM, 16) + "!x",), "db postgres://db.internal:5432/orders ready"),
    Sample("url_password", "DATABASE_URL=postgresql://svc:{s}@pg-0.pg:5432/main?sslmode=require",
           (fake(ALNUM, 18),), "DATABASE_URL=postgresql://pg-0.pg:5432/main?sslmode=require"),
    Sample("url_password", "mysql://root:{s}@mysql:3306/shop",
           (fake(ALNUM, 12),), "mysql://mysql:3306/shop"),
    Sample("url_password", "mongodb+srv://admin:{s}@cluster0.ab1cd.mongodb.net/?retryWrites=true",
           (fake(ALNUM, 20),), "mongodb+srv://cluster0.ab1cd.mongodb.net/?retryWrites=true"),
    Sample("url_password", "broker amqps://guest:{s}@rabbit:5671/jobs",
           (fake(ALNUM, 15),), "broker amqps://rabbit:5671/jobs"),
    Sample("url_password", "cache redis://:{s}@redis-master:6379/0",
           (fake(ALNUM, 24),), "cache redis://redis-master:6379/0"),
    Sample("url_password", "cloning https://deploy:{s}@git.example.com/org/repo.git",
           (fake(ALNUM, 20),), "cloning git@github.com:org/repo.git via https://example.com:8443/a"),
    # -- vendor tokens -----------------------------------------------------------------
    Sample("stripe_key", "charge with {s}", (fake(ALNUM, 24, "sk_live_"),),
           "risk_live_total=3 desk_live_view and pk_live_publishable"),
    Sample("stripe_key", "restricted {s}", (fake(ALNUM, 24, "rk_live_"),), "work_live_flag"),
    Sample("stripe_key", "test key {s}", (fake(ALNUM, 24, "sk_test_"),), "task_test_runner"),
    Sample("stripe_key", "webhook secret {s}", (fake(ALNUM, 32, "whsec_"),), "whsec_ is the prefix"),
    Sample("openai_key", "OPENAI_API_KEY {s}", (fake(URLSAFE, 120, "sk-proj-"),),
           "risk-free task-proj-dashboard"),
    Sample("openai_key", "legacy {s}", (fake(ALNUM, 20, "sk-") + "T3BlbkFJ" + fake(ALNUM, 20),),
           "disk-usage sk-learn"),
    Sample("anthropic_key", "claude {s}", (fake(URLSAFE, 93, "sk-ant-api03-") + "AA",),
           "sk-ant is a prefix"),
    Sample("npm_token", "//registry.npmjs.org/:_authToken {s}", (fake(ALNUM, 36, "npm_"),),
           "npm_config_cache=/tmp/npm"),
    Sample("azure_key", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={s};"
           "EndpointSuffix=core.windows.net", (fake(B64, 86) + "==",),
           "DefaultEndpointsProtocol=https;AccountName=acct;EndpointSuffix=core.windows.net"),
    Sample("azure_key", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName="
           "RootManageSharedAccessKey;SharedAccessKey={s}", (fake(B64, 43) + "=",),
           "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey"),
    Sample("url_signature", "GET https://acct.blob.core.windows.net/c/b.mp4?sv=2022-11-02&sp=r"
           "&se=2026-01-01T00:00:00Z&sig={s}", (SAS_SIG,),
           "GET https://acct.blob.core.windows.net/c/b.mp4?sv=2022-11-02&sp=r"),
    Sample("url_signature", "s3 https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           "&X-Amz-Date=20260101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature={s}",
           (fake(HEX, 64),), "s3 https://b.s3.amazonaws.com/k?X-Amz-Date=20260101T000000Z"
           "&X-Amz-SignedHeaders=host"),
    Sample("slack_token", "bot {s}", (fake(ALNUM, 24, "xoxb-1234567890-1234567890-"),),
           "xox is not a token"),
    Sample("slack_token", "rotating {s}", (fake(ALNUM, 160, "xoxe.xoxp-1-"),), "xoxe. alone"),
    Sample("slack_token", "socket mode {s}", (fake(ALNUM, 64, "xapp-1-A0123456789-1234567890-"),),
           "xapp is a word"),
    Sample("slack_token", "hook https://hooks.slack.com/services/T0123ABCD/B0123ABCD/{s}",
           (fake(ALNUM, 24),), "see https://api.slack.com/docs"),
    Sample("google_api_key", "maps key={s}", (fake(URLSAFE, 35, "AIza"),), "AIzaSy is the prefix"),
    Sample("gitlab_token", "CI {s}", (fake(ALNUM, 20, "glpat-"),), "glpat- alone"),
    Sample("gitlab_token", "deploy {s}", (fake(ALNUM, 20, "gldt-"),), "gldt-short"),
    Sample("gitlab_token", "runner {s}", (fake(ALNUM, 20, "glrt-"),), "glrt-short"),
    Sample("github_token", "gh {s}", (fake(ALNUM, 36, "ghp_"),), "ghp_ alone"),
    Sample("twilio_key", "twilio {s}", ("SK" + fake(HEX, 32),), "SKU-12345 TASK"),
    Sample("sendgrid_key", "mail {s}", ("SG." + fake(URLSAFE, 22) + "." + fake(URLSAFE, 43),),
           "SG.1 release"),
    Sample("vault_token", "VAULT_TOKEN {s}", (fake(URLSAFE, 92, "hvs."),), "hvs.config"),
    Sample("digitalocean_token", "doctl {s}", ("dop_v1_" + fake(HEX, 64),), "dop_v1_ prefix"),
    Sample("pypi_token", "twine {s}", (fake(URLSAFE, 60, "pypi-AgEIcHlwaS5vcmc"),),
           "pypi-simple index"),
    Sample("docker_token", "docker login {s}", (fake(URLSAFE, 27, "dckr_pat_"),), "dckr_pat_"),
    # -- headers, cookies, query strings -------------------------------------------------
    Sample("cookie", "request headers Cookie: sessionid={s}; theme=dark",
           (fake(ALNUM, 32),), "cookie consent banner shown"),
    Sample("cookie", "Set-Cookie: session={s}; Path=/; HttpOnly; Secure",
           (fake(ALNUM, 40),), "set cookie policy to strict"),
    Sample("authorization", "curl -H 'Authorization: Basic {s}' https://api", (BASIC,),
           "Basic authentication required"),
    Sample("authorization", "Authorization: Bearer {s}", (fake(ALNUM, 40),), "Bearer token expired"),
    Sample("bearer", "retrying with bearer {s}", (fake(ALNUM, 32),), "bearer of bad news"),
    Sample("secret_key", "GET /oauth/cb?state=xyz&access_token={s}&page=2", (fake(ALNUM, 30),),
           "GET /items?page=2&per_page=50"),
    Sample("jwt", "GET /ws?auth={s}", (JWT,), "eyJ alone"),
    Sample("secret_key", "login password={s} user=bob", (fake(ALNUM, 12),), "password reset sent"),
    # -- cloud keys ------------------------------------------------------------------------
    Sample("aws_access_key_id", "using {s}", (AWS_KEY_ID,), "AKIA prefix only"),
    Sample("aws_secret_key", f"creds {AWS_KEY_ID} / {{s}} loaded", (AWS_SECRET,),
           f"aws deploy of commit {GIT_SHA}"),
    Sample("aws_secret_key", "aws credentials rotated, new secret {s}", (AWS_SECRET_2,),
           f"built {GIT_SHA} for aws"),
    # -- private keys ----------------------------------------------------------------------
    Sample("private_key", "-----BEGIN RSA PRIVATE KEY-----\n{s}\n-----END RSA PRIVATE KEY-----",
           tuple(PEM_RSA), "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n"
           "-----END PUBLIC KEY-----"),
    Sample("private_key", '{{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----'
           '\\n{s}\\n-----END PRIVATE KEY-----\\n"}}', tuple(PEM_JSON),
           '{"type": "service_account", "client_email": "svc@p.iam.gserviceaccount.com"}'),
    Sample("card_number", "paid with 4012 8888 8888 1881", ("4012 8888 8888 1881",),
           f"card {LUHN_BAD} declined, order {EPOCH_MS}, id {UUID}"),
]


def _fill(sample: Sample) -> Sample:
    """Put the (first) secret into the text where ``{s}`` stands; PEM bodies joined."""
    if "{s}" not in sample.text:
        return sample
    if sample.kind == "private_key":
        sep = "\\n" if sample.text.startswith("{{") else "\n"
        body = sep.join(sample.secrets)
        return Sample(sample.kind, sample.text.replace("{{", "{").replace("}}", "}")
                      .replace("{s}", body), sample.secrets, sample.near_miss)
    text = sample.text.replace("{{", "\x01").replace("}}", "\x02").replace("{s}", sample.secrets[0])
    return Sample(sample.kind, text.replace("\x01", "{").replace("\x02", "}"), sample.secrets,
                  sample.near_miss)


SAMPLES = [_fill(sample) for sample in SAMPLES]
#: look-alikes that must survive everywhere (Luhn-invalid card, UUID, epoch millis, git SHA)
NEAR_MISSES = [LUHN_BAD, UUID, EPOCH_MS, GIT_SHA]
