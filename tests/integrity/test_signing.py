"""OpenSSF model-signing round trips with keys and certificates generated in the test."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest

from pytest_mlsec.cli import main
from pytest_mlsec.integrity import rules as R
from pytest_mlsec.integrity.signing import sign_model, verify_signature
from tests.integrity.conftest import ec_keypair, flip_byte, rule_ids

pytest.importorskip("model_signing")


def test_sign_then_verify_with_public_key(model_dir: Path, tmp_path: Path) -> None:
    private, public = ec_keypair(tmp_path)
    sig = model_dir / "model.sig"
    sign_model(model_dir, sig, private_key=private)
    bundle = json.loads(sig.read_text())
    assert bundle["mediaType"].startswith("application/vnd.dev.sigstore.bundle")
    assert bundle["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json"
    assert verify_signature(model_dir, sig, public_key=public) == []


def test_tampered_file_fails_verification_with_per_file_findings(model_dir: Path, tmp_path: Path) -> None:
    private, public = ec_keypair(tmp_path)
    sig = tmp_path / "model.sig"
    sign_model(model_dir, sig, private_key=private)
    flip_byte(model_dir / "model.safetensors", 77)
    (model_dir / "tokenizer" / "vocab.txt").unlink()
    (model_dir / "added.pkl").write_bytes(b"\x80\x04N.")
    findings = verify_signature(model_dir, sig, public_key=public)
    assert rule_ids(findings) == [R.SIGNATURE_MISMATCH.id] * 3
    changes = {f.evidence["change"]: f.location.path for f in findings}
    assert changes["modified"].endswith("model.safetensors")
    assert changes["missing"].endswith("vocab.txt")
    assert changes["unexpected"].endswith("added.pkl")


def test_wrong_key_fails(model_dir: Path, tmp_path: Path) -> None:
    private, _ = ec_keypair(tmp_path, "signer")
    _, other_public = ec_keypair(tmp_path, "other")
    sig = tmp_path / "model.sig"
    sign_model(model_dir, sig, private_key=private)
    findings = verify_signature(model_dir, sig, public_key=other_public)
    assert rule_ids(findings) == [R.SIGNATURE_INVALID.id]


def test_altered_signature_payload_fails(model_dir: Path, tmp_path: Path) -> None:
    """Re-pointing a signed digest at other content must break the signature, not pass."""
    import base64

    private, public = ec_keypair(tmp_path)
    sig = tmp_path / "model.sig"
    sign_model(model_dir, sig, private_key=private)
    bundle = json.loads(sig.read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["resources"][0]["digest"] = "0" * 64
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    sig.write_text(json.dumps(bundle))
    assert rule_ids(verify_signature(model_dir, sig, public_key=public)) == [R.SIGNATURE_INVALID.id]


@pytest.mark.parametrize("content", [b"", b"garbage", b"{}", b'{"dsseEnvelope": 5}', b"\xff" * 10])
def test_garbage_bundle_is_one_clear_finding(model_dir: Path, tmp_path: Path, content: bytes) -> None:
    _, public = ec_keypair(tmp_path)
    sig = tmp_path / "model.sig"
    sig.write_bytes(content)
    findings = verify_signature(model_dir, sig, public_key=public)
    assert rule_ids(findings) == [R.SIGNATURE_INVALID.id]


def test_missing_bundle_and_bad_key(model_dir: Path, tmp_path: Path) -> None:
    _, public = ec_keypair(tmp_path)
    assert rule_ids(verify_signature(model_dir, tmp_path / "none.sig", public_key=public)) == [R.SIGNATURE_INVALID.id]
    sig = tmp_path / "s.sig"
    sig.write_text("{}")
    bad_key = tmp_path / "bad.pem"
    bad_key.write_text("not a key")
    findings = verify_signature(model_dir, sig, public_key=bad_key)
    assert rule_ids(findings) == [R.SIGNATURE_INVALID.id]
    assert "cannot load" in findings[0].message


def test_library_absent_is_a_clear_finding(model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, public = ec_keypair(tmp_path)
    sig = tmp_path / "s.sig"
    sig.write_text("{}")
    monkeypatch.setitem(sys.modules, "model_signing", None)
    findings = verify_signature(model_dir, sig, public_key=public)
    assert rule_ids(findings) == [R.SIGNING_UNAVAILABLE.id]
    assert "pip install" in findings[0].message


def _certificates(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """A root CA and a leaf signing certificate (digitalSignature, codeSigning) for a fresh EC key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Root CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "model signer")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = tmp_path / "ca.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    leaf_pem = tmp_path / "leaf.pem"
    leaf_pem.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    leaf_key_pem = tmp_path / "leaf.key"
    leaf_key_pem.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    other_ca_key = ec.generate_private_key(ec.SECP256R1())
    other = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Other CA")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Other CA")]))
        .public_key(other_ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(other_ca_key, hashes.SHA256())
    )
    other_pem = tmp_path / "other-ca.pem"
    other_pem.write_bytes(other.public_bytes(serialization.Encoding.PEM))
    return leaf_key_pem, leaf_pem, ca_pem, other_pem


def test_certificate_chain_round_trip_and_untrusted_root(model_dir: Path, tmp_path: Path) -> None:
    key, leaf, ca, other_ca = _certificates(tmp_path)
    sig = tmp_path / "model.sig"
    sign_model(model_dir, sig, private_key=key, certificate=leaf, certificate_chain=[ca])
    assert verify_signature(model_dir, sig, certificate_chain=[ca]) == []
    assert rule_ids(verify_signature(model_dir, sig, certificate_chain=[other_ca])) == [R.SIGNATURE_INVALID.id]
    flip_byte(model_dir / "config.json")
    assert rule_ids(verify_signature(model_dir, sig, certificate_chain=[ca])) == [R.SIGNATURE_MISMATCH.id]


def test_cli_sign_and_verify(model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    private, public = ec_keypair(tmp_path)
    assert main(["manifest", "sign", str(model_dir), "--private-key", str(private)]) == 0
    sig = model_dir / "model.sig"
    assert sig.is_file()
    args = ["integrity", str(model_dir), "--signature", str(sig), "--public-key", str(public), "--no-progress"]
    assert main(args) == 0
    flip_byte(model_dir / "pytorch_model.bin")
    assert main(args) == 1
    assert R.SIGNATURE_MISMATCH.id in capsys.readouterr().out


def test_cli_signature_needs_a_key(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["integrity", str(model_dir), "--signature", "x.sig"])
    assert exc.value.code == 2
    assert "--public-key" in capsys.readouterr().err


def test_cli_sign_without_key_is_usage_error(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["manifest", "sign", str(model_dir)])
    assert exc.value.code == 2
    assert "--private-key" in capsys.readouterr().err


def test_library_warnings_do_not_reach_stdout(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An old-format bundle (no key hint) makes the library print to stdout; reports must stay clean."""
    private, public = ec_keypair(tmp_path)
    sig = tmp_path / "model.sig"
    sign_model(model_dir, sig, private_key=private)
    bundle = json.loads(sig.read_text())
    del bundle["verificationMaterial"]["publicKey"]["hint"]
    sig.write_text(json.dumps(bundle))
    assert verify_signature(model_dir, sig, public_key=public) == []
    assert capsys.readouterr().out == ""


def test_sign_and_verify_a_hugging_face_cache_snapshot(tmp_path: Path) -> None:
    from tests.integrity.test_hfcache import REV, make_cache

    blobs = make_cache(tmp_path / "hub")
    snapshot = tmp_path / "hub" / "models--acme--tiny-bert" / "snapshots" / REV
    private, public = ec_keypair(tmp_path)
    sig = tmp_path / "model.sig"
    sign_model(snapshot, sig, private_key=private)
    assert verify_signature(snapshot, sig, public_key=public) == []
    flip_byte(blobs["model.safetensors"])
    findings = verify_signature(snapshot, sig, public_key=public)
    assert rule_ids(findings) == [R.SIGNATURE_MISMATCH.id]
    assert findings[0].location.path.endswith("model.safetensors")


def test_oversized_bundle_is_refused_unread(model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_mlsec.integrity import signing

    _, public = ec_keypair(tmp_path)
    sig = tmp_path / "model.sig"
    sig.write_bytes(b"{" + b" " * 2000 + b"}")
    monkeypatch.setattr(signing, "MAX_BUNDLE_BYTES", 1000)
    findings = verify_signature(model_dir, sig, public_key=public)
    assert rule_ids(findings) == [R.SIGNATURE_INVALID.id]
    assert findings[0].key == "oversized-signature"
