"""Vendor tokens recognised by their own prefix (GitHub, GitLab, Slack, Stripe, OpenAI,
Anthropic, npm, Google, Twilio, SendGrid, Vault, DigitalOcean, PyPI, Docker Hub).

Shapes follow the vendors' documented formats (and the public secret-scanning rule sets
that track them). Each rule needs its prefix *and* the body's alphabet and length, so
ordinary words (``risk-free``, ``task_test_runner``, ``npm_config_cache``, ``SKU-1``) are
kept. Every gate is a short regex that is also the rule's RE2 pre-scan.
"""

from __future__ import annotations

import re

from shipper.filters.textrule import TextRule, prefixed


def _letters_and_digits(whole: str, secret: str) -> bool:
    """A generated key mixes letters and digits (an ``sk-`` kebab-case word does not)."""
    return any(c.isdigit() for c in secret) and any(c.isalpha() for c in secret[3:])


def vendor_rules() -> list[TextRule]:
    """The prefixed-token rules, in application order."""
    return [
        prefixed("github_token",
                 r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
                 "gh[pousr]_|github_pat_"),
        prefixed("gitlab_token",
                 r"\b(?:gl(?:pat|dt|rt|ptt|ft|imt|oas|soat|cbt|ffct|agent)-[A-Za-z0-9_.-]{20,}"
                 r"|GR1348941[A-Za-z0-9_-]{20,})",
                 r"gl(?:pat|dt|rt|ptt|ft|imt|oas|soat|cbt|ffct|agent)-|GR1348941"),
        TextRule("slack_token", re.compile(
            r"\b(?:xox[abposre]|xoxe\.xox[bp]|xapp)-[A-Za-z0-9-]{10,}"
            r"|https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+"),
            literals=("xox", "xapp-", "hooks.slack.com")),
        prefixed("stripe_key",
                 r"\b(?:[sr]k_(?:live|test)_[A-Za-z0-9]{10,247}|whsec_[A-Za-z0-9+/=]{24,})",
                 r"[sr]k_(?:live|test)_|whsec_"),
        prefixed("anthropic_key", r"\bsk-ant-[a-z]{2,8}[0-9]{2}-[A-Za-z0-9_-]{20,}", "sk-ant-"),
        prefixed("openai_key",
                 r"\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}"
                 r"|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}"
                 r"|[A-Za-z0-9]{32,}(?![A-Za-z0-9_-]))",
                 r"\bsk-", valid=_letters_and_digits),
        prefixed("npm_token", r"\bnpm_[A-Za-z0-9]{36}(?![A-Za-z0-9])", "npm_[A-Za-z0-9]{36}"),
        TextRule("google_api_key", re.compile(
            r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])|\bya29\.[0-9A-Za-z_-]{20,}"),
            literals=("AIza", "ya29.")),
        prefixed("twilio_key", r"\bSK[0-9a-fA-F]{32}\b", "SK[0-9a-fA-F]{32}"),
        prefixed("sendgrid_key", r"\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}",
                 r"SG\.[A-Za-z0-9_-]{16}"),
        prefixed("vault_token", r"\bhv[sbr]\.[A-Za-z0-9_-]{24,}", r"hv[sbr]\.[A-Za-z0-9_-]{24}"),
        prefixed("digitalocean_token", r"\bdo[opr]_v1_[a-f0-9]{64}\b", "do[opr]_v1_"),
        prefixed("pypi_token", r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}", "pypi-AgEIcHlwaS5vcmc"),
        prefixed("docker_token", r"\bdckr_(?:pat|oat)_[A-Za-z0-9_-]{20,}", "dckr_(?:pat|oat)_"),
    ]
