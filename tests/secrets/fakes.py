"""Fake credentials built at test time from a seed: shaped like the real formats, valid for nothing.

Nothing token-shaped is committed as a literal, so push-protection scanners see no secrets in the
repository, and every value is obviously a test artefact (generated, seeded, never issued).
"""

from __future__ import annotations

import base64
import json
import random
import string
import zlib

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = string.ascii_letters + string.digits + "+/"


class Fakes:
    """``Fakes(seed).github()`` etc.: deterministic per seed, different per call."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)

    def pick(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def aws_key_id(self, prefix: str = "AKIA") -> str:
        return prefix + self.pick(string.ascii_uppercase + "234567", 16)

    def aws_secret(self) -> str:
        return self.pick(B64, 40)

    def aws_session_token(self) -> str:
        return "IQoJb3JpZ2luX2Vj" + self.pick(B64, 300)

    def huggingface(self) -> str:
        return "hf_" + self.pick(string.ascii_letters, 34)

    def github(self, valid: bool = True) -> str:
        body = self.pick(B62, 30)
        n = zlib.crc32(body.encode())
        digits = ""
        while n:
            n, r = divmod(n, 62)
            digits = B62[r] + digits
        check = digits.rjust(6, "0")
        if not valid:
            check = check[::-1] if check[::-1] != check else "zzzzzz"
        return "ghp_" + body + check

    def github_fine_grained(self) -> str:
        return "github_pat_" + self.pick(ALNUM, 22) + "_" + self.pick(ALNUM, 59)

    def openai(self) -> str:
        return "sk-proj-" + self.pick(ALNUM, 40) + "T3BlbkFJ" + self.pick(ALNUM, 40)

    def anthropic(self) -> str:
        return "sk-ant-api03-" + self.pick(ALNUM + "-_", 93) + "AA"

    def wandb(self) -> str:
        return self.pick(HEX, 40)

    def kaggle(self) -> str:
        return self.pick(HEX, 32)

    def databricks(self) -> str:
        return "dapi" + self.pick(HEX, 32)

    def prefect(self) -> str:
        return "pnu_" + self.pick(ALNUM, 36)

    def slack_webhook(self) -> str:
        up = string.ascii_uppercase + string.digits
        return f"https://hooks.slack.com/services/T{self.pick(up, 8)}/B{self.pick(up, 10)}/{self.pick(ALNUM, 24)}"

    def slack_token(self) -> str:
        return f"xoxb-{self.pick(string.digits, 12)}-{self.pick(string.digits, 13)}-{self.pick(ALNUM, 24)}"

    def jwt(self) -> str:
        def part(obj: object) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

        payload = {"sub": "svc-" + self.pick(HEX, 8), "iat": 1700000000, "scope": "models:write"}
        return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(payload)}.{self.pick(ALNUM + '-_', 43)}"

    def fernet(self) -> str:
        return base64.urlsafe_b64encode(bytes(self.rng.getrandbits(8) for _ in range(32))).decode()

    def pem_body(self, lines: int = 12) -> str:
        return "\n".join(self.pick(B64, 64) for _ in range(lines))

    def private_key(self, kind: str = "RSA ") -> str:
        return f"-----BEGIN {kind}PRIVATE KEY-----\n{self.pem_body()}\n-----END {kind}PRIVATE KEY-----\n"

    def gcp_service_account(self) -> str:
        key = f"-----BEGIN PRIVATE KEY-----\n{self.pem_body()}\n-----END PRIVATE KEY-----\n"
        return json.dumps(
            {
                "type": "service_account",
                "project_id": "ml-platform-test",
                "private_key_id": self.pick(HEX, 40),
                "private_key": key,
                "client_email": "trainer@ml-platform-test.iam.gserviceaccount.com",
                "client_id": self.pick(string.digits, 21),
            },
            indent=2,
        )

    def service_tokens(self) -> list[str]:
        return [
            "glpat-" + self.pick(ALNUM + "-_", 20),
            "AIza" + self.pick(ALNUM + "-_", 35),
            "npm_" + self.pick(ALNUM, 36),
            "pypi-AgEIcHlwaS5vcmc" + self.pick(ALNUM + "-_", 60),
            "gsk_" + self.pick(ALNUM, 52),
        ]

    def password(self, n: int = 14) -> str:
        return self.pick(ALNUM, n - 2) + self.rng.choice("!$*") + self.pick(string.digits, 1)

    def rfc3986_password(self) -> str:
        return self.pick(ALNUM, 6) + "!$*'()+,;=&" + self.pick(ALNUM, 4)

    def api_key(self, n: int = 32) -> str:
        return self.pick(ALNUM, n)
