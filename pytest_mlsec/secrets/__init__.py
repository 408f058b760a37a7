"""Secrets in ML repositories: notebooks, ``.env`` files, tracking URIs, job descriptions.

The detectors live in :mod:`pytest_mlsec.secrets.detectors` and are shared with the
environment-isolation check (an environment variable is just another place a secret hides).
A secret's value never leaves the scanning function: findings carry a redacted form and a
truncated SHA-256 fingerprint only.
"""
