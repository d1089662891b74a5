"""Credentials written as configuration rather than as a provider's key format.

- passwords assigned in code and config files (`password = "p@ss w0rd!"`, `DB_PASSWORD=Tr0ub4dor&3`,
  `"passwd": "..."`, `Password=...;` in a connection string), whatever printable characters they use;
- the password inside a URL (`postgres://user:s3cret@host/db`): only the password is reported, so a
  redaction keeps the user, host and database readable;
- Azure storage and service bus connection strings (`AccountKey=`, `SharedAccessKey=`);
- AWS credentials as the CLI and SDKs print them in JSON (`"SecretAccessKey": "..."`).

Placeholders (`${DB_PASSWORD}`, `<password>`, `********`, `changeme`, `os.environ[...]`) are not
secrets and score below the default threshold.
"""

from __future__ import annotations

import re

from olga_cli.guardrails.detector import Match

# The name ends in a password word ("db_password", "PGPASSWORD", "Passwort"), then an assignment.
_PASSWORD = re.compile(
    r"(?i)(?<![\w-])(?:[\w.\-]{0,40}?(?:passw(?:or)?d|passwort|passphrase|kennwort|contrase\u00f1a|mot_de_passe)|"
    # "pass" and "pwd" alone are also words ("Pass: 12", "PWD=/home/me"): only as part of a name.
    r"(?:[\w.\-]{0,39}[_.\-]|pg|db|mysql|smtp|ftp|root|admin)(?:pass|pwd))"
    r"[\"']?[ \t]*(?::=|=>|[:=])[ \t]*"
    r"(?:\"(?P<dq>[^\"\n]{1,256})\"|'(?P<sq>[^'\n]{1,256})'|(?P<bare>[^\s\"',;]{1,256}))"
)
_URL_PASSWORD = re.compile(
    r"\b[A-Za-z][A-Za-z0-9+.\-]{1,20}://[^\s:/@\"'<>]{1,128}:(?P<pw>[^\s@/\"'<>]{1,256})@[A-Za-z0-9.\-\[\]_]+"
)
_AZURE_KEY = re.compile(
    r"(?i)\b(?P<name>AccountKey|SharedAccessKey|SharedAccessSignature)=(?P<key>[A-Za-z0-9+/%]{20,}={0,2})"
)
_AWS_JSON = re.compile(
    r"(?i)[\"']?(?:SecretAccessKey|aws_secret_access_key|secretKey)[\"']?\s*[:=]\s*[\"']?"
    r"(?P<key>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
)
_PLACEHOLDER = re.compile(
    r"(?i)^(?:(?-i:\$\{?[A-Z_][A-Z0-9_]*\}?)|\$\{\w+\}|\w*(?:pass|pwd|secret|token|key|cred)\w*,?|%\(?\w*\)?s?|\{\{.*\}\}|\{\w*\}|<[^>]*>|\*+|x+|\.+|-+|_+|\?+|none|null|nil|true|false|"
    r"changeme|change_me|placeholder|redacted|secret|password|passw0rd|your[_\-\s]?\w*|example\w*|dummy|"
    r"test|undefined|required|optional|str|string|bool|int|env|[A-Za-z_][\w.]*\(.*\)[,;]?|os\.\w+.*|process\.env.*|getenv.*|"
    r"settings\.\w+|config\.\w+|self\.\w+|args\.\w+|\w+\[.*\])$"
)
PASSWORD_WORDS = ("pass", "pwd", "kennwort", "contrase", "mot_de_passe")
URL_WORDS = ("://",)
AZURE_WORDS = ("accountkey=", "sharedaccesskey", "sharedaccesssignature=")
AWS_JSON_WORDS = ("secretaccesskey", "aws_secret_access_key", "secretkey")


def passwords(text: str, spans: list[tuple[int, int]], out: list[Match]) -> None:
    known = [(m.start, m.end) for m in out]
    for lo, hi in spans:
        for m in _PASSWORD.finditer(text, lo, hi):
            group = "dq" if m.group("dq") is not None else "sq" if m.group("sq") is not None else "bare"
            start, end = m.start(group), m.end(group)
            if any(k_start < end and start < k_end for k_start, k_end in known):
                continue
            value = m.group(group)
            if group == "bare" and _at_line_start(text, m.start()):
                # A config file line (`.env`, ini, YAML): the value is the rest of the line.
                line_end = text.find("\n", start)
                end = len(text) if line_end == -1 else line_end
                value = text[start:end].rstrip()
                end = start + len(value)
            elif group == "bare" and "&" in value[1:]:
                # A URL query: `password=...&next=/` ends at the next parameter.
                value = value[: value.index("&", 1)]
                end = start + len(value)
            if len(value) < 4:
                continue
            if _PLACEHOLDER.match(value.strip()):
                confidence = 0.3
            elif len(value.split()) > 2:
                confidence = 0.35  # a sentence ("Password: at least 12 characters"), not a password
            else:
                confidence = 0.85 if len(value) >= 6 else 0.6
            out.append(Match("password", start, end, confidence))


def _at_line_start(text: str, start: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    return not text[line_start:start].strip(" \t")


def url_passwords(text: str, out: list[Match]) -> None:
    for m in _URL_PASSWORD.finditer(text):
        value = m.group("pw")
        # A template ("${PASS}", "<password>") is not a password; "user:pass@host" may well be one.
        templated = value.startswith(("$", "<", "{", "%", "*"))
        out.append(Match("password", m.start("pw"), m.end("pw"), 0.3 if templated else 0.9))


def azure_keys(text: str, out: list[Match]) -> None:
    for m in _AZURE_KEY.finditer(text):
        key = m.group("key")
        entity = (
            "azure_sas_token" if m.group("name").lower() == "sharedaccesssignature" else "azure_storage_key"
        )
        confidence = 0.3 if key.lower().startswith(("your", "xxx")) else 0.95
        out.append(Match(entity, m.start("key"), m.end("key"), confidence))


def aws_json_keys(text: str, out: list[Match]) -> None:
    for m in _AWS_JSON.finditer(text):
        if any(existing.start == m.start("key") for existing in out):
            continue
        key = m.group("key")
        confidence = 0.3 if "EXAMPLE" in key else 0.95
        out.append(Match("aws_secret_key", m.start("key"), m.end("key"), confidence))
