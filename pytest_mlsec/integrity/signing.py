"""OpenSSF model signatures (sigstore bundle + in-toto statement) through ``model-signing``.

We interoperate rather than invent a signature format: a model signed here verifies with
the ``model_signing`` CLI and vice versa. Everything is offline: signing with a local EC
private key (optionally with a certificate), verification with a public key or a
certificate chain. Keyless Sigstore verification needs the public-good trust root and
transparency log, i.e. the network, so it is not offered by the check.

``model_signing`` is an optional extra, imported lazily.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_mlsec.findings import Finding, Location
from pytest_mlsec.integrity import rules as R
from pytest_mlsec.integrity.manifest import hf_snapshot_blobs
from pytest_mlsec.rules import TARGET_NOT_FOUND

MAX_BUNDLE_BYTES = 64 << 20
"""A signature bundle is a few KiB (one digest per file); anything this big is refused unread."""

INSTALL_HINT = "pip install 'pytest-mlsec[signing]' (the OpenSSF 'model-signing' package)"


class SigningUnavailable(Exception):
    """``model-signing`` is not installed (or broken in this environment)."""


def _model_signing() -> Any:
    try:
        import model_signing
        import model_signing.signing
        import model_signing.verifying
    except ImportError as exc:
        raise SigningUnavailable(f"model signatures need {INSTALL_HINT}: {exc}") from None
    return model_signing


def _hashing_config(ms: Any, model: Path, signature: Path, algorithm: str) -> Any:
    """Hash the model the way the verifier will: the signature file itself, if inside, is ignored."""
    # A Hugging Face cache snapshot is made of links into ../../blobs; the library refuses
    # symlinks unless told, and then records allow_symlinks in the signature for the verifier.
    # Only do it when every link stays in the repository's blobs folder.
    snapshot = model.is_dir() and hf_snapshot_blobs(model) is not None and _links_stay_in_blobs(model)
    config = ms.hashing.Config().use_file_serialization(hashing_algorithm=algorithm, allow_symlinks=snapshot)
    ignored = []
    try:
        rel = signature.resolve().relative_to(model.resolve())
        ignored.append(rel.as_posix())
    except ValueError:
        pass
    return config.set_ignored_paths(paths=ignored, ignore_git_paths=True).set_allow_symlinks(snapshot)


def _snapshot_hashing_config(ms: Any, model: Path, sig: Path) -> Any | None:
    """For a Hugging Face cache snapshot, the hashing config that follows its links into blobs.

    model-signing 1.1.1 records ``allow_symlinks`` in the signature but its verifier does not
    apply it, so a signed snapshot would never verify. The algorithm is read from the bundle
    (unauthenticated at this point, but harmless: the verifier still compares every digest
    with the signed statement, so a wrong value only makes verification fail).
    """
    if not (model.is_dir() and hf_snapshot_blobs(model) is not None and _links_stay_in_blobs(model)):
        return None
    try:
        import base64
        import json

        bundle = json.loads(sig.read_bytes())
        statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"], validate=True))
        algorithm = statement["predicate"]["serialization"]["hash_type"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if algorithm not in ("sha256", "blake3"):
        return None
    return _hashing_config(ms, model, sig, algorithm)


def _links_stay_in_blobs(snapshot: Path) -> bool:
    from pytest_mlsec.integrity.manifest import walk_files

    return not walk_files(snapshot).problems


def sign_model(
    model: str | Path,
    signature: str | Path,
    *,
    private_key: str | Path,
    password: str | None = None,
    certificate: str | Path | None = None,
    certificate_chain: Sequence[str | Path] = (),
    algorithm: str = "sha256",
) -> None:
    """Sign ``model`` (folder or file) with a local EC private key; write the bundle to ``signature``.

    Raises :class:`SigningUnavailable` without the package and ``ValueError``/``OSError``
    for unusable keys or paths (callers turn them into usage errors).
    """
    ms = _model_signing()
    model_p, sig_p = Path(model), Path(signature)
    config = ms.signing.Config().set_hashing_config(_hashing_config(ms, model_p, sig_p, algorithm))
    if certificate is not None:
        config = config.use_certificate_signer(
            private_key=Path(private_key),
            signing_certificate=Path(certificate),
            certificate_chain=[Path(c) for c in certificate_chain],
        )
    else:
        config = config.use_elliptic_key_signer(private_key=Path(private_key), password=password)
    config.sign(model_p, sig_p)


def verify_signature(
    model: str | Path,
    signature: str | Path,
    *,
    public_key: str | Path | None = None,
    certificate_chain: Sequence[str | Path] = (),
) -> list[Finding]:
    """Verify ``model`` against an OpenSSF signature bundle; every failure is a finding."""
    model_p, sig_p = Path(model), Path(signature)
    where = Location(path=os.fspath(model_p))
    if not model_p.exists():
        return [TARGET_NOT_FOUND.finding(where, f"{model_p}: no such file or directory", key=str(model_p))]
    if not sig_p.is_file():
        return [
            R.SIGNATURE_INVALID.finding(
                Location(path=os.fspath(sig_p)),
                f"signature bundle {sig_p} does not exist; {model_p} is unsigned",
                evidence={"signature": os.fspath(sig_p)},
                key="missing-signature",
            )
        ]
    if sig_p.stat().st_size > MAX_BUNDLE_BYTES:
        return [
            R.SIGNATURE_INVALID.finding(
                Location(path=os.fspath(sig_p)),
                f"signature bundle {sig_p} is over {MAX_BUNDLE_BYTES} bytes; not parsed, {model_p} is unverified",
                evidence={"signature": os.fspath(sig_p), "size": sig_p.stat().st_size},
                key="oversized-signature",
            )
        ]
    try:
        ms = _model_signing()
    except SigningUnavailable as exc:
        return [R.SIGNING_UNAVAILABLE.finding(where, f"cannot verify {model_p}: {exc}", key="model-signing")]
    evidence: dict[str, Any] = {"signature": os.fspath(sig_p)}
    try:
        config = ms.verifying.Config()
        if public_key is not None:
            evidence["public_key"] = os.fspath(public_key)
            config = config.use_elliptic_key_verifier(public_key=Path(public_key))
        else:
            evidence["certificate_chain"] = [os.fspath(c) for c in certificate_chain]
            config = config.use_certificate_verifier(certificate_chain=[Path(c) for c in certificate_chain])
        snapshot_config = _snapshot_hashing_config(ms, model_p, sig_p)
        if snapshot_config is not None:
            config = config.set_hashing_config(snapshot_config)
    except (OSError, ValueError, TypeError) as exc:
        return [
            R.SIGNATURE_INVALID.finding(
                where,
                f"cannot load the verification key or certificates: {_describe(exc)}",
                evidence={**evidence, "error": _describe(exc)},
                key="verification-material",
            )
        ]
    printed = io.StringIO()
    try:
        # The library prints warnings (e.g. about old bundle formats) to stdout, which would
        # corrupt JSON/SARIF reports written there: capture them into the evidence instead.
        with contextlib.redirect_stdout(printed):
            config.verify(model_p, sig_p)
    except Exception as exc:  # the library raises many types; every one means "not verified"
        text = _describe(exc)
        if text.startswith("Signature mismatch"):
            return _mismatch_findings(model_p, sig_p, text, evidence)
        return [
            R.SIGNATURE_INVALID.finding(
                where,
                f"the signature {sig_p} does not verify for {model_p}: {_short(text)}",
                evidence={
                    **evidence,
                    "error": text[:1000],
                    "exception": type(exc).__name__,
                    "library_output": printed.getvalue()[:500],
                },
                key="invalid-signature",
            )
        ]
    return []


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__ + " (no message: wrong key or altered bundle)"


def _short(text: str) -> str:
    return text if len(text) <= 300 else text[:297] + "..."


def _mismatch_findings(model: Path, sig: Path, text: str, evidence: dict[str, Any]) -> list[Finding]:
    """Per-file findings for a valid signature over different content.

    Only called after the library verified the signature (it raises "Signature mismatch"
    after the cryptographic check), so the signed statement it carries can be trusted to
    say which files and digests were signed.
    """
    try:
        diffs = signed_differences(model, sig)
    except (ValueError, KeyError, TypeError, OSError):
        diffs = None
    if not diffs:
        return [
            R.SIGNATURE_MISMATCH.finding(
                Location(path=os.fspath(model)),
                f"{model} does not match its signature: {_short(text)}",
                evidence={**evidence, "error": text[:1000]},
                key="content-mismatch",
            )
        ]
    findings = []
    for kind, rel, expected, actual in diffs:
        what = {
            "modified": "content differs from the signed digest",
            "missing": "signed but missing",
            "unexpected": "present but not covered by the signature",
        }[kind]
        findings.append(
            R.SIGNATURE_MISMATCH.finding(
                Location(path=os.fspath(model / rel) if model.is_dir() else os.fspath(model)),
                f"{rel}: {what} (signature {sig.name})",
                evidence={**evidence, "change": kind, "expected_digest": expected, "actual_digest": actual},
                key=f"{kind}:{rel}",
            )
        )
    return findings


def signed_differences(model: Path, sig: Path) -> list[tuple[str, str, str, str]]:
    """(change, path, signed digest, actual digest) for every file that differs from the statement."""
    import base64
    import json

    from pytest_mlsec.integrity.hashing import hash_files
    from pytest_mlsec.integrity.manifest import relative_path_problem, walk_files

    bundle = json.loads(sig.read_bytes())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"], validate=True))
    predicate = statement["predicate"]
    serialization = predicate["serialization"]
    algorithm = serialization.get("hash_type")
    if serialization.get("method") != "files" or algorithm not in ("sha256", "blake3"):
        raise ValueError("unsupported serialization")
    expected: dict[str, str] = {}
    for resource in predicate["resources"]:
        name = resource["name"]
        if not isinstance(name, str) or relative_path_problem(name):
            raise ValueError("unsafe resource name")
        expected[name] = str(resource["digest"])
    ignored = [str(p).strip("/") for p in serialization.get("ignore_paths", [])]
    present: dict[str, Path] = {}
    for rel, path in walk_files(model).files.items():
        if any(rel == ig or rel.startswith(ig + "/") for ig in ignored):
            continue
        present[rel] = path
    diffs: list[tuple[str, str, str, str]] = []
    rel_of = {p: rel for rel, p in present.items()}
    for result in hash_files([present[r] for r in expected if r in present], algorithm):
        rel = rel_of[result.path]
        if result.error or result.digest != expected[rel]:
            diffs.append(("modified", rel, expected[rel], result.digest or result.error))
    diffs.extend(("missing", rel, digest, "") for rel, digest in expected.items() if rel not in present)
    diffs.extend(("unexpected", rel, "", "") for rel in present if rel not in expected)
    return sorted(diffs, key=lambda d: (d[1], d[0]))
