"""Rules of the integrity area (MLSEC-INT-NNN): tampering, provenance and poisoning signals.

Ids are stable and never reused. Each rule says what was compared with what, so a finding
reads as evidence ("the bytes changed"), not as an opinion.
"""

from __future__ import annotations

from pytest_mlsec.findings import Severity
from pytest_mlsec.rules import Rule

_TAMPER = ("integrity", "tampering")

FILE_MODIFIED = Rule(
    id="MLSEC-INT-001",
    name="file-modified",
    severity=Severity.HIGH,
    short="A file's content differs from the manifest",
    full=(
        "The file has the size recorded in the manifest but a different digest: its bytes were changed "
        "after the manifest was made. For a model this is how a backdoored or swapped checkpoint looks."
    ),
    remediation=(
        "Restore the file from the trusted source, or, if the change is intended, regenerate the manifest "
        "from a trusted build and review the diff."
    ),
    tags=_TAMPER,
)
FILE_MISSING = Rule(
    id="MLSEC-INT-002",
    name="file-missing",
    severity=Severity.HIGH,
    short="A file listed in the manifest is missing",
    full="The manifest lists a file that is not in the folder: the artifact is incomplete or was altered.",
    remediation=(
        "Restore the missing file from the trusted source, or regenerate the manifest if it was removed on purpose."
    ),
    tags=_TAMPER,
)
FILE_UNEXPECTED = Rule(
    id="MLSEC-INT-003",
    name="file-unexpected",
    severity=Severity.HIGH,
    short="A file is not listed in the manifest",
    full=(
        "The folder holds a file the manifest does not list. Loaders pick up extra files (a second "
        "checkpoint, a custom code module, a pickle next to safetensors), so an added file is a tampering signal."
    ),
    remediation="Remove the file, or regenerate the manifest from a trusted build if it belongs to the artifact.",
    tags=_TAMPER,
)
SIZE_CHANGED = Rule(
    id="MLSEC-INT-004",
    name="size-changed",
    severity=Severity.HIGH,
    short="A file's size differs from the manifest",
    full=(
        "The file's size differs from the size recorded in the manifest: its content was changed, truncated or "
        "extended."
    ),
    remediation="Restore the file from the trusted source, or regenerate the manifest from a trusted build.",
    tags=_TAMPER,
)
UNVERIFIABLE_ENTRY = Rule(
    id="MLSEC-INT-005",
    name="unverifiable-entry",
    severity=Severity.HIGH,
    short="A folder entry cannot be verified (symlink escape, unreadable, special file)",
    full=(
        "An entry of the folder is a symlink that points outside it, a special file, or cannot be read. "
        "Its content cannot be vouched for, and a link out of the folder can make a loader read anything."
    ),
    remediation="Replace the link or special file by the regular file it should be, or fix the permissions.",
    tags=("integrity", "fail-closed"),
)
MANIFEST_INVALID = Rule(
    id="MLSEC-INT-006",
    name="manifest-invalid",
    severity=Severity.HIGH,
    short="The manifest cannot be read or is malformed",
    full="The manifest file is missing, not JSON, or does not have the expected structure; nothing was verified.",
    remediation="Point to the manifest written by `mlsec manifest create`, or regenerate it from a trusted build.",
    tags=("integrity", "fail-closed"),
)
FILE_RENAMED = Rule(
    id="MLSEC-INT-007",
    name="file-renamed",
    severity=Severity.HIGH,
    short="A file was renamed or moved",
    full=(
        "A file listed in the manifest is missing and a file with exactly its digest appeared under another "
        "name. Names matter to loaders (which shard, which config is read), so a rename changes behaviour."
    ),
    remediation="Move the file back to the name in the manifest, or regenerate the manifest if the rename is intended.",
    tags=_TAMPER,
)
HASH_UNAVAILABLE = Rule(
    id="MLSEC-INT-008",
    name="hash-unavailable",
    severity=Severity.HIGH,
    short="The manifest's hash algorithm is not available",
    full="The manifest uses a hash algorithm that cannot be computed here (e.g. BLAKE3 without the blake3 package).",
    remediation="Install the algorithm's package (pip install 'pytest-mlsec[blake3]') or use a SHA-256 manifest.",
    tags=("integrity", "fail-closed"),
)
SIGNATURE_INVALID = Rule(
    id="MLSEC-INT-010",
    name="signature-invalid",
    severity=Severity.CRITICAL,
    short="The model signature does not verify",
    full=(
        "The OpenSSF model-signing bundle could not be verified with the given public key or certificate "
        "chain: wrong key, untrusted certificate, altered or unreadable bundle. The model's provenance is unproven."
    ),
    remediation="Obtain the model and its signature from the publisher again and verify with the publisher's key.",
    tags=("integrity", "provenance"),
)
SIGNATURE_MISMATCH = Rule(
    id="MLSEC-INT-011",
    name="signature-content-mismatch",
    severity=Severity.CRITICAL,
    short="The model's files do not match its signature",
    full=(
        "The signature itself is valid, but the files on disk differ from the digests it signs: files were "
        "modified, added or removed after signing."
    ),
    remediation="Do not load the model; restore it from the signed source or have the publisher re-sign it.",
    tags=_TAMPER,
)
SIGNING_UNAVAILABLE = Rule(
    id="MLSEC-INT-012",
    name="signing-unavailable",
    severity=Severity.HIGH,
    short="Signature verification is not available",
    full="Verifying OpenSSF model signatures needs the optional 'model-signing' package, which is not installed.",
    remediation="pip install 'pytest-mlsec[signing]'.",
    tags=("integrity", "fail-closed"),
)
HF_BLOB_MISMATCH = Rule(
    id="MLSEC-INT-020",
    name="hf-cache-blob-mismatch",
    severity=Severity.CRITICAL,
    short="A Hugging Face cache blob does not match its content address",
    full=(
        "Files in the Hugging Face hub cache are stored under their own digest (SHA-256 for LFS files, the git "
        "blob SHA-1 for small files). This blob's content hashes to something else: it was altered after download."
    ),
    remediation="Delete the repository from the cache (huggingface-cli delete-cache) and download it again.",
    tags=_TAMPER,
)
HF_LAYOUT = Rule(
    id="MLSEC-INT-021",
    name="hf-cache-layout",
    severity=Severity.HIGH,
    short="A Hugging Face cache snapshot entry cannot be verified",
    full=(
        "A snapshot entry should be a symlink into the repository's blobs folder. This one is a dangling link, "
        "a link outside the repository, or a regular file whose name is not a digest, so its content cannot be "
        "checked against a content address."
    ),
    remediation="Delete the repository from the cache and download it again (on a filesystem with symlinks).",
    tags=("integrity", "fail-closed"),
)
HF_INCOMPLETE = Rule(
    id="MLSEC-INT-022",
    name="hf-cache-incomplete",
    severity=Severity.LOW,
    short="A Hugging Face cache download is incomplete",
    full="The cache holds an unfinished download (.incomplete blob); it is not part of any snapshot yet.",
    remediation="Finish or delete the download before using the cache.",
    tags=("integrity",),
)
ROW_COUNT_CHANGED = Rule(
    id="MLSEC-INT-030",
    name="dataset-row-count-changed",
    severity=Severity.HIGH,
    short="A dataset shard's row count differs from the manifest",
    full="The shard has a different number of rows than when the manifest was made: rows were injected or removed.",
    remediation="Restore the shard from the trusted snapshot and find out how rows were added or dropped.",
    tags=("integrity", "poisoning"),
)
DATASET_UNREADABLE = Rule(
    id="MLSEC-INT-031",
    name="dataset-unreadable",
    severity=Severity.HIGH,
    short="A dataset shard cannot be parsed",
    full="The shard could not be parsed as CSV, JSON Lines or Parquet, so its rows could not be counted or checked.",
    remediation="Fix or restore the shard; an unparseable shard is treated as unverified.",
    tags=("integrity", "fail-closed"),
)
PARQUET_UNAVAILABLE = Rule(
    id="MLSEC-INT-032",
    name="parquet-unavailable",
    severity=Severity.HIGH,
    short="Parquet support is not installed",
    full="Reading Parquet row counts and labels needs the optional 'pyarrow' package, which is not installed.",
    remediation="pip install 'pytest-mlsec[parquet]'.",
    tags=("integrity", "fail-closed"),
)
LABEL_SHIFT = Rule(
    id="MLSEC-INT-040",
    name="label-distribution-shift",
    severity=Severity.HIGH,
    short="The label distribution shifted away from the trusted reference",
    full=(
        "The labels of the dataset differ from the trusted reference by more than the allowed shift, and the "
        "difference is statistically significant (chi-square test; population stability index reported). "
        "Label flipping and injected rows of one class are common poisoning techniques."
    ),
    remediation=(
        "Compare the dataset with the trusted snapshot, look at the rows of the classes that grew, and find "
        "where they came from before training on it."
    ),
    tags=("poisoning",),
)
DUPLICATE_ROWS = Rule(
    id="MLSEC-INT-041",
    name="duplicate-rows",
    severity=Severity.HIGH,
    short="The dataset has too many duplicate rows",
    full=(
        "A large share of rows are exact duplicates. Repeating a few crafted rows is a cheap way to poison a "
        "training set (it multiplies their weight)."
    ),
    remediation="Look at the most repeated rows and where they came from; deduplicate before training.",
    tags=("poisoning",),
)
LABEL_DATA_INVALID = Rule(
    id="MLSEC-INT-042",
    name="label-data-invalid",
    severity=Severity.HIGH,
    short="The label column cannot be read",
    full=(
        "The label column is missing, the data is empty, or the reference distribution is malformed; nothing "
        "was tested."
    ),
    remediation="Name the label column with column=..., and give a non-empty dataset and reference.",
    tags=("poisoning", "fail-closed"),
)

RULES: tuple[Rule, ...] = (
    FILE_MODIFIED,
    FILE_MISSING,
    FILE_UNEXPECTED,
    SIZE_CHANGED,
    UNVERIFIABLE_ENTRY,
    MANIFEST_INVALID,
    FILE_RENAMED,
    HASH_UNAVAILABLE,
    SIGNATURE_INVALID,
    SIGNATURE_MISMATCH,
    SIGNING_UNAVAILABLE,
    HF_BLOB_MISMATCH,
    HF_LAYOUT,
    HF_INCOMPLETE,
    ROW_COUNT_CHANGED,
    DATASET_UNREADABLE,
    PARQUET_UNAVAILABLE,
    LABEL_SHIFT,
    DUPLICATE_ROWS,
    LABEL_DATA_INVALID,
)
