"""PEP 508 / PEP 440 helpers on top of ``packaging``, tolerant where pip-audit is not.

``==1.*``, ``===1.26.4`` and ``==1.26.4,>=1.20`` are all valid; this module decides what
each of them pins (``None``, ``"1.26.4"``, ``"1.26.4"``) and says why when nothing is pinned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

HEX40 = re.compile(r"^[0-9a-f]{40}$")
ENV_VAR = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
_NAME_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
HASH_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_NORMALIZE = re.compile(r"[-_.]+")

# Fast path for the common lock line (``name[extra]==1.2.3``: no marker, no URL, one exact pin,
# or no specifier at all) using a conservative PEP 440 subset. Anything else goes through
# ``packaging``, imported lazily: it costs more start-up time than parsing a 150-pin lock.
_VERSION = (
    r"v?(?:\d+!)?\d+(?:\.\d+)*(?:(?:a|b|c|rc|alpha|beta|pre|preview)\d*)?(?:\.?post\d*)?(?:\.?dev\d*)?"
    r"(?:\+[a-z0-9]+(?:\.[a-z0-9]+)*)?"
)
_SIMPLE = re.compile(
    r"^\s*(?P<name>[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?)\s*(?:\[\s*(?P<extras>[a-z0-9._-]+(?:\s*,\s*[a-z0-9._-]+)*)?\s*\])?\s*"
    rf"(?P<spec>==\s*{_VERSION})?\s*$",
    re.IGNORECASE,
)
_SIMPLE_PIN = re.compile(rf"^==\s*(?P<v>{_VERSION})$", re.IGNORECASE)
WEAK_HASHES = {"md5", "sha1", "sha224"}


@dataclass(frozen=True)
class Spec:
    """A parsed PEP 508 requirement: normalised name, specifier text, marker, direct URL."""

    name: str
    specifier: str
    marker: str | None
    url: str | None
    extras: tuple[str, ...] = ()


def normalize(name: str) -> str:
    """PEP 503 normalised name (what ``packaging.utils.canonicalize_name`` returns)."""
    return _NORMALIZE.sub("-", name).lower()


def parse_pep508(text: str) -> Spec:
    """Parse one PEP 508 string; raise ``ValueError`` with a readable reason when invalid."""
    simple = _SIMPLE.match(text)
    if simple is not None:
        extras = tuple(sorted(e.strip() for e in (simple.group("extras") or "").split(",") if e.strip()))
        spec = re.sub(r"\s+", "", simple.group("spec") or "")
        return Spec(name=normalize(simple.group("name")), specifier=spec, marker=None, url=None, extras=extras)
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as PkgRequirement

    try:
        req = PkgRequirement(text)
    except InvalidRequirement as exc:
        raise ValueError(str(exc).splitlines()[0] if str(exc) else "invalid requirement") from None
    return Spec(
        name=normalize(req.name),
        specifier=str(req.specifier),
        marker=str(req.marker) if req.marker is not None else None,
        url=req.url,
        extras=tuple(sorted(req.extras)),
    )


def guess_name(text: str) -> str:
    match = _NAME_RE.match(text)
    return normalize(match.group(1)) if match else ""


def pinned_version(specifier: str) -> tuple[str | None, str]:
    """The exact version a specifier pins, or ``(None, why-not)``.

    Pinned means ``==X`` without a wildcard, or ``===X``; other clauses may narrow but must
    agree with the pin (``==1.26.4,>=1.20`` pins 1.26.4; ``==1.0,<1.0`` pins nothing).
    """
    text = specifier.strip()
    if not text:
        return None, "no version specified"
    simple = _SIMPLE_PIN.match(text)
    if simple is not None:
        return simple.group("v"), ""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        spec_set = SpecifierSet(text)
    except InvalidSpecifier:
        return None, f"invalid version specifier {text!r}"
    exact: list[str] = []
    others: list[str] = []
    for spec in spec_set:
        if spec.operator == "===" or (spec.operator == "==" and not spec.version.endswith(".*")):
            exact.append(spec.version)
        else:
            others.append(str(spec))
    if not exact:
        wild = [str(s) for s in spec_set if s.operator in ("==", "!=") and s.version.endswith(".*")]
        if wild:
            return None, f"'{wild[0]}' is a wildcard, not an exact version"
        return None, f"'{text}' is a range, not an exact version"
    keys = {_version_key(v) for v in exact}
    if len(keys) > 1:
        return None, f"'{text}' pins contradictory versions"
    version = exact[0]
    if others:
        try:
            parsed = Version(version)
        except InvalidVersion:
            return version, ""
        if not SpecifierSet(",".join(others)).contains(parsed, prereleases=True):
            return None, f"'{text}' cannot be satisfied ({version} is excluded by the other clauses)"
    return version, ""


def _version_key(version: str) -> str:
    from packaging.version import InvalidVersion, Version

    try:
        return str(Version(version))
    except InvalidVersion:
        return version.strip().lower()


def hash_problem(text: str) -> str | None:
    """Why ``algo:hex`` is not an acceptable hash, or ``None`` when it is."""
    algo, sep, digest = text.partition(":")
    if not sep:
        algo, sep, digest = text.partition("=")
    algo = algo.strip().lower()
    if not sep or not digest:
        return f"'{text[:80]}' is not of the form algorithm:hexdigest"
    if algo in WEAK_HASHES:
        return f"{algo} is a weak hash (use sha256 or stronger)"
    if algo not in HASH_LENGTHS:
        return f"unknown hash algorithm {algo!r}"
    if not re.fullmatch(r"[0-9a-fA-F]+", digest) or len(digest) != HASH_LENGTHS[algo]:
        return f"{algo} digest must be {HASH_LENGTHS[algo]} hex digits, got {digest[:80]!r}"
    return None


_CREDENTIALS = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)(?!git@)[^/@\s]+@", re.IGNORECASE)


def redact_url(text: str) -> str:
    """Hide credentials embedded in URLs (``https://user:token@host``) anywhere in ``text``."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


def normalize_index(url: str) -> str:
    """Compare indexes by scheme, host and path only (credentials, case of host, trailing slash ignored)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip().rstrip("/").lower()
    host = (parts.hostname or "").lower()
    if host in ("pypi.python.org", "www.pypi.org"):
        host = "pypi.org"
    port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


DEFAULT_INDEXES = ("https://pypi.org/simple",)


def url_kind(url: str) -> str:
    """``vcs``, ``local``, ``archive`` (a remote file) for a direct reference."""
    lower = url.lower()
    if lower.startswith(VCS_PREFIXES) or lower.startswith("git://"):
        return "vcs"
    if lower.startswith("file:") or "://" not in lower:
        return "local"
    return "archive"


def vcs_ref(url: str) -> str | None:
    """The revision after ``@`` in a pip VCS URL (``git+https://h/r.git@REF#egg=x``)."""
    body = url.split("#", 1)[0]
    scheme_sep = body.find("://")
    path = body[scheme_sep + 3 :] if scheme_sep >= 0 else body
    # user@host is not a revision: only an '@' after the first '/' of the path counts.
    slash = path.find("/")
    if slash < 0:
        return None
    tail = path[slash:]
    if "@" not in tail:
        return None
    return tail.rsplit("@", 1)[1] or None


def url_hashes(url: str) -> tuple[str, ...]:
    """Hashes given in a URL fragment (``#sha256=...``)."""
    _, _, fragment = url.partition("#")
    found = []
    for part in fragment.split("&"):
        key, _, value = part.partition("=")
        if key.lower() in HASH_LENGTHS or key.lower() in WEAK_HASHES:
            found.append(f"{key.lower()}:{value}")
    return tuple(found)


def insecure_scheme(url: str) -> bool:
    lower = url.lower()
    return lower.startswith(
        ("http://", "git+http://", "hg+http://", "svn+http://", "bzr+http://", "git://", "svn://", "svn+svn://")
    )
