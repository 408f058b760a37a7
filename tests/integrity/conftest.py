from __future__ import annotations

import os
import random
from pathlib import Path

import pytest


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A small model folder shaped like a Hugging Face checkpoint (content is random bytes)."""
    rng = random.Random(1234)
    root = tmp_path / "model"
    (root / "tokenizer").mkdir(parents=True)
    (root / "config.json").write_text('{"model_type": "bert", "hidden_size": 8}\n')
    (root / "model.safetensors").write_bytes(rng.randbytes(300_000))
    (root / "tokenizer" / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\nworld\n")
    (root / "pytorch_model.bin").write_bytes(rng.randbytes(70_000))
    (root / "empty.txt").write_bytes(b"")
    return root


def flip_byte(path: Path, offset: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def rule_ids(findings: object) -> list[str]:
    return sorted(f.rule_id for f in findings)  # type: ignore[attr-defined]


def ec_keypair(directory: Path, name: str = "key") -> tuple[Path, Path]:
    """A fresh P-256 key pair written as PEM (private PKCS#8, public SubjectPublicKeyInfo)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private = directory / f"{name}.pem"
    public = directory / f"{name}.pub.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    os.chmod(private, 0o600)
    return private, public
