"""Value judgements shared by the detectors: placeholders, secret-store references, randomness.

These are what keep the false-positive rate low on ML repositories: a ``${DB_PASSWORD}``,
``<your-key>`` or ``{{resolve:secretsmanager:...}}`` is a pointer to a secret, not a secret, and
a SHA digest or an MLflow run id is random but harmless.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from urllib.parse import unquote

# Words that stand for "put the real value here" (compared case-insensitively, whole value).
PLACEHOLDER_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "token",
        "apikey",
        "api_key",
        "key",
        "changeme",
        "change_me",
        "change-me",
        "changeit",
        "xxx",
        "none",
        "null",
        "nil",
        "true",
        "false",
        "undefined",
        "string",
        "str",
        "required",
        "optional",
        "empty",
        "redacted",
        "hidden",
        "masked",
        "example",
        "test",
        "testing",
        "dummy",
        "sample",
        "placeholder",
        "todo",
        "tbd",
        "fixme",
        "foo",
        "bar",
        "baz",
        "value",
        "secret_value",
        "mysecret",
        "mypassword",
        "yourpassword",
        "your_password",
        "password123",
        "default",
        "notsecret",
        "not-a-secret",
        "not_a_secret",
        "replace_me",
        "replaceme",
        "insert",
        "bytes",
        "int",
    }
)
_PLACEHOLDER_RE = re.compile(
    r"""^(?:
        \$\{.*                   # ${VAR}, ${VAR:-default}
      | \$\(.*\)                 # $(command)
      | \$[A-Za-z_][A-Za-z0-9_]*  # $VAR
      | %\([^)]*\)[sd]           # %(name)s
      | %[A-Za-z_][A-Za-z0-9_]*%  # %VAR%
      | .*\{\{.*\}\}.*           # {{ template }}
      | \{[A-Za-z0-9_.\[\]'"]*\}  # {python_format}
      | <[^>]*>                  # <your-key>
      | \[[^\]]*\]               # [password]
      | (.)\1+                   # xxxx, ****, ....
      | .*(?:your|my)[-_ ]?(?:api[-_ ]?)?(?:key|token|secret|password|pass).*
      | .*(?:_here|-here|placeholder|changeme|change[-_]me|redacted|replace[-_]?me|(?-i:xxxx|XXXX)|\*\*\*\*|\.\.\.).*
      | (?:fake|dummy|example|sample)[-_].*
      | .*not[-_ ]?(?:a[-_ ]?)?(?:real|valid)[-_ ]?(?:key|token|secret|password|pass|credential).*  # self-described
      | env:.*
    )$""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)
# References to a secret store or to the environment: the value is where the secret lives.
_REFERENCE_RE = re.compile(
    r"""(?:
        \$\{\{\s*secrets\.                   # GitHub Actions
      | \{\{\s*resolve:(?:secretsmanager|ssm) # CloudFormation dynamic references
      | arn:aws[\w-]*:(?:secretsmanager|ssm|kms):
      | ^ssm:|^ssm://|^secretsmanager:|^vault:|^sm://|^gcpsm://|^azurekv://|^op://|^akv://
      | ^projects/[^/]+/secrets/
      | ^!(?:vault|Ref|Sub|GetAtt|ImportValue|secret)\b
      | os\.environ|os\.getenv|getenv\(|environ\.get|env\(|Variable\.get|dbutils\.secrets|userdata\.get
      | SecretStr\(|get_secret|secret_manager|keyring\.
    )""",
    re.VERBOSE,
)


# Keys published in vendor documentation: never valid, often copied into examples.
DOCUMENTED_EXAMPLES = frozenset({"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})


def is_placeholder(value: str) -> bool:
    """True for values that stand in for a secret rather than being one."""
    text = value.strip().strip("\"'`")
    if not text or text in DOCUMENTED_EXAMPLES or "EXAMPLE" in text:
        return True  # the AWS documentation convention (...EXAMPLE, ...EXAMPLEKEY)
    if text.lower() in PLACEHOLDER_WORDS:
        return True
    if _PLACEHOLDER_RE.match(text):
        return True
    if "%" in text:
        decoded = unquote(text)
        if decoded != text and (decoded.lower() in PLACEHOLDER_WORDS or _PLACEHOLDER_RE.match(decoded)):
            return True
    return False


def is_reference(value: str) -> bool:
    """True for a pointer to a secret store or the environment (``${{ secrets.X }}``, ``arn:aws:ssm...``)."""
    return bool(_REFERENCE_RE.search(value))


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


_HEX = re.compile(r"^[0-9a-fA-F]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_WORDS = re.compile(r"^[A-Za-z]+(?:[-_. ][A-Za-z]+)*$")
_LOWER_RUN = re.compile(r"[a-z]+")
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
_CONSTANT = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_TOKENISH = re.compile(r"^[A-Za-z0-9+/=_\-.~:!@#$%^&*]+$")


def char_classes(value: str) -> int:
    return sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
        )
    )


def is_digest_like(value: str) -> bool:
    """Hex digests, MLflow run ids and UUIDs: random, but identifiers rather than credentials."""
    v = value.strip()
    if _UUID.match(v):
        return True
    return bool(_HEX.match(v)) and len(v) in (32, 40, 56, 64, 96, 128)


def is_wordy(value: str) -> bool:
    """Long lowercase runs: identifiers and words. Random base62 flips case every ~1.7 characters."""
    if not any(c.isupper() for c in value):
        return False  # lowercase+digit tokens have long lowercase runs by chance: no signal here
    runs = [len(r) for r in _LOWER_RUN.findall(value)]
    return len(runs) >= 2 and sum(runs) / len(runs) >= 4.5


def looks_random(value: str, *, min_length: int = 16, min_entropy: float = 3.2) -> bool:
    """A credential-shaped literal: long enough, token characters, mixed, not words, not a placeholder."""
    v = value.strip()
    if len(v) < min_length or len(v) > 1024:
        return False
    if not _TOKENISH.match(v) or is_placeholder(v) or is_reference(v):
        return False
    if _WORDS.match(v) and not (v.isalpha() and len(v) >= 20 and char_classes(v) == 2 and entropy(v) >= 4.2):
        return False  # words; a long random mixed-case letters-only string (HF-style) is still a token
    if "://" in v or v.startswith(("/", "./", "../", "~/")):
        return False
    if char_classes(v) < 2 and not _HEX.match(v):
        return False
    if _IDENTIFIER.match(v) or _CONSTANT.match(v):
        return False  # settings.OPENAI_KEY, OPENAI_API_KEY: a name, not a value
    segments = [s for s in re.split(r"[-_.]", v) if s]
    if len(segments) >= 3 and all(len(s) <= 12 for s in segments):
        mixed = sum(1 for s in segments if char_classes(s) >= 2)
        if mixed <= 1:
            return False  # my-k8s-secret-name, model_v2_final: words, not randomness
    if len(set(v)) < 8:
        return False
    if is_wordy(v):
        return False  # XXH3_128bits_withSecretandSeed, modelCheckpointPath2: identifiers made of words
    return entropy(v) >= min_entropy


def is_plausible_password(value: str) -> bool:
    """A literal that could be a real password (short values allowed; prose and placeholders not)."""
    v = value.strip()
    if len(v) < 4 or len(v) > 512:
        return False
    if is_placeholder(v) or is_reference(v):
        return False
    if v.count(" ") >= 2:
        return False  # prose: "Password for the database"
    if re.fullmatch(r"[A-Za-z_\-]+", v) and re.search(r"(?i)pass|pwd", v):
        return False  # "challengePassword", "db-password": the name of a field, not its value
    if v.isdigit() and len(v) < 6:
        return False  # ports, counts
    if re.fullmatch(r"(?:~|\.{1,2})?/[\w.\-/]*", v):
        return False  # a path (a *_password_file pointer, a working directory)
    if re.fullmatch(r"[A-Za-z_][\w.]*[(\[].*|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+", v):
        return False  # an expression or attribute access (args.password, get_pw())
    return len(set(v)) >= 3
