"""Supply-chain checks: requirement and lock parsers, pin/hash/source rules, known vulnerabilities.

Nothing here installs, resolves or imports the packages it reads about: every format is
parsed as text, and vulnerability data comes from OSV (online, batched) or an offline export.
"""
