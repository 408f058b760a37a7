"""Rules of the model artifact scanner (ids MLSEC-PKL-001..099 and MLSEC-FMT-001..049).

The non-pickle formats, S3 and ``mlsec convert`` declare theirs in ``extra_rules`` (FMT-050..099).
"""

from __future__ import annotations

from pytest_mlsec.findings import Severity
from pytest_mlsec.rules import Rule

RESAVE = (
    "Do not load this file. If the model is yours, load it in an isolated sandbox once and re-save the weights "
    "with safetensors (safetensors.torch.save_file / save_model), or run `mlsec convert FILE --to OUT.safetensors`. "
    'If you trust this exact callable, add it to [tool.mlsec.scan] allow = [{name = "module.name", reason = '
    '"..."}] (or assert_no_pickle(..., allow={"module.name": "reason"})).'
)
_UNVERIFIED = (
    "Treat the file as unverified: obtain it again from a trusted source, or re-save it from a trusted copy in "
    "a safe format (safetensors). A file the scanner cannot fully read can hide what the loader would run."
)

PKL_EXEC = Rule(
    id="MLSEC-PKL-001",
    name="pickle-executes-code",
    severity=Severity.CRITICAL,
    short="Pickle runs commands or code when loaded",
    full=(
        "The pickle imports or calls a function that runs operating-system commands or Python code (os.system, "
        "subprocess, exec/eval, runpy, code, pdb, profilers, pip, ctypes...). Loading it with pickle, torch.load, "
        "joblib.load or numpy.load(allow_pickle=True) executes it."
    ),
    remediation=RESAVE,
    tags=("pickle", "code-execution"),
)
PKL_IMPORT = Rule(
    id="MLSEC-PKL-002",
    name="pickle-dynamic-import",
    severity=Severity.CRITICAL,
    short="Pickle imports modules, reaches arbitrary attributes or nests another payload",
    full=(
        "The pickle calls something that imports modules or fetches attributes by name (importlib, __import__, "
        "getattr, operator.attrgetter/methodcaller, pkgutil.resolve_name) or deserializes a second payload "
        "(pickle.loads, torch.load, joblib, marshal, YAML). These are the building blocks of gadget chains."
    ),
    remediation=RESAVE,
    tags=("pickle", "code-execution"),
)
PKL_FILES = Rule(
    id="MLSEC-PKL-003",
    name="pickle-file-system",
    severity=Severity.HIGH,
    short="Pickle touches the file system when loaded",
    full="The pickle calls a function that reads, writes, moves or deletes files.",
    remediation=RESAVE,
    tags=("pickle",),
)
PKL_NETWORK = Rule(
    id="MLSEC-PKL-004",
    name="pickle-network",
    severity=Severity.HIGH,
    short="Pickle contacts the network when loaded",
    full="The pickle calls a function that opens connections or downloads (and possibly runs) code: torch.hub, "
    "urllib, requests, socket, webbrowser.",
    remediation=RESAVE,
    tags=("pickle",),
)
PKL_UNKNOWN = Rule(
    id="MLSEC-PKL-005",
    name="pickle-global-not-allowed",
    severity=Severity.HIGH,
    short="Pickle imports a callable that is not on the vetted allow-list",
    full=(
        "Policy 'safe-globals' passes a pickle only when every global it imports or calls is on the vetted "
        "allow-list (torch tensor rebuild helpers, numpy arrays, plain containers...). This one is not: loading the "
        "file imports its module and may call it with arguments chosen by whoever wrote the file."
    ),
    remediation=RESAVE,
    tags=("pickle", "allow-list"),
)
PKL_STRICT = Rule(
    id="MLSEC-PKL-006",
    name="pickle-present-strict",
    severity=Severity.HIGH,
    short="A pickle is present (policy 'strict')",
    full="Policy 'strict' forbids pickles altogether, whatever they contain: model files must be safetensors, "
    "GGUF, ONNX or another format that cannot run code.",
    remediation="Convert the file to safetensors (`mlsec convert FILE --to OUT.safetensors` for PyTorch "
    "checkpoints), or scan with --policy safe-globals if your team accepts vetted pickles.",
    tags=("pickle", "policy"),
)
PKL_STACK_GLOBAL = Rule(
    id="MLSEC-PKL-007",
    name="pickle-computed-global",
    severity=Severity.HIGH,
    short="STACK_GLOBAL with operands that are not constant strings",
    full="The module or name given to STACK_GLOBAL is not a constant string, so the imported name cannot be "
    "determined statically. No legitimate serializer produces this.",
    remediation=RESAVE,
    tags=("pickle", "obfuscation"),
)
PKL_EXTENSION = Rule(
    id="MLSEC-PKL-008",
    name="pickle-extension-code",
    severity=Severity.HIGH,
    short="Pickle uses a copyreg extension code",
    full="EXT1/EXT2/EXT4 import whatever object the loading process registered under that code with "
    "copyreg.add_extension. No extension is registered by default, so the import target is unknown.",
    remediation=RESAVE,
    tags=("pickle", "obfuscation"),
)
PKL_MALFORMED = Rule(
    id="MLSEC-PKL-009",
    name="pickle-malformed",
    severity=Severity.HIGH,
    short="Pickle is malformed or truncated",
    full=(
        "The pickle stream contains an unknown opcode, an invalid argument, a stack error, or ends before STOP. "
        "The real loader stops at the same place, but only after executing everything before it; whatever "
        "precedes the break was analysed and is reported separately."
    ),
    remediation=_UNVERIFIED,
    tags=("pickle", "fail-closed"),
)
PKL_TRAILING = Rule(
    id="MLSEC-PKL-010",
    name="pickle-trailing-data",
    severity=Severity.MEDIUM,
    short="Unexplained bytes after the pickle",
    full="Bytes follow the last STOP and do not form another pickle. Loaders ignore them, other tools may "
    "not (polyglot files), and they have no legitimate reason to be there.",
    remediation=_UNVERIFIED,
    tags=("pickle", "polyglot"),
)
PKL_LIMIT = Rule(
    id="MLSEC-PKL-011",
    name="pickle-limit-exceeded",
    severity=Severity.HIGH,
    short="Pickle exceeds a scanner bound",
    full="The pickle has more opcodes, memo entries, stack depth or bytes than the configured limits allow; "
    "the rest was not analysed.",
    remediation="Raise the limit in [tool.mlsec.scan] limits if the file is legitimately large, otherwise treat "
    "it as hostile.",
    tags=("pickle", "fail-closed"),
)
PKL_MUTATION = Rule(
    id="MLSEC-PKL-012",
    name="pickle-mutates-global",
    severity=Severity.HIGH,
    short="Pickle modifies an imported module, class or function",
    full="BUILD, SETITEM or APPEND is applied to an imported object itself rather than to a new instance: "
    "loading the file monkey-patches code in the loading process.",
    remediation=RESAVE,
    tags=("pickle", "code-execution"),
)
PKL_INDIRECT_CALL = Rule(
    id="MLSEC-PKL-013",
    name="pickle-indirect-call",
    severity=Severity.HIGH,
    short="Pickle calls the result of another call",
    full="REDUCE/NEWOBJ/OBJ is applied to a value that is not an imported name (for instance what a previous "
    "call returned). Serializers do not produce this; gadget chains do.",
    remediation=RESAVE,
    tags=("pickle", "code-execution"),
)
PKL_LEGACY_TORCH = Rule(
    id="MLSEC-PKL-014",
    name="torch-legacy-format",
    severity=Severity.LOW,
    short="PyTorch legacy (pre-1.6) serialization format",
    full="The file uses the legacy non-zip or tar torch.save format. Its pickles were fully scanned, but "
    "torch.load's weights_only protections have had bypasses specific to these formats.",
    remediation="Re-save with a current torch.save, or better with safetensors.",
    tags=("pickle", "torch"),
)
PKL_NESTED = Rule(
    id="MLSEC-PKL-015",
    name="pickle-embedded-pickle",
    severity=Severity.HIGH,
    short="A pickle embedded inside a pickle imports non-allowed globals",
    full="A bytes value inside the pickle is itself a pickle whose globals are not on the allow-list; code that "
    "later unpickles it (pickle.loads, torch.storage._load_from_bytes) would run them.",
    remediation=RESAVE,
    tags=("pickle", "obfuscation"),
)

# --- containers and formats ------------------------------------------------------------------
FMT_UNKNOWN = Rule(
    id="MLSEC-FMT-001",
    name="unknown-binary-format",
    severity=Severity.MEDIUM,
    short="Binary file of an unrecognised format",
    full="The file is not text and matches no format the scanner knows, so nothing about it was verified.",
    remediation="If this file is loaded as a model, convert it to a recognised safe format (safetensors, ONNX, "
    "GGUF); otherwise suppress the finding for this path with a reason.",
    tags=("fail-closed",),
)
FMT_ZIP_TAMPERED = Rule(
    id="MLSEC-FMT-002",
    name="zip-tampered",
    severity=Severity.HIGH,
    short="Zip archive headers disagree (CRC, flags or names tampered)",
    full=(
        "Local and central directory headers disagree, a CRC does not match, or the encryption flag is set on a "
        "member that is not encrypted. Loaders such as torch.load read the central directory and ignore these "
        "fields, while many scanners stop on them: a classic way to hide a payload from scanners."
    ),
    remediation=_UNVERIFIED,
    tags=("archive", "evasion"),
)
FMT_ARCHIVE_BAD = Rule(
    id="MLSEC-FMT-003",
    name="archive-unreadable",
    severity=Severity.HIGH,
    short="Archive could not be read",
    full="A zip, tar, 7z or compressed stream is corrupt or uses a feature the scanner cannot read; its members "
    "were not (all) verified.",
    remediation=_UNVERIFIED,
    tags=("archive", "fail-closed"),
)
FMT_BOMB = Rule(
    id="MLSEC-FMT-004",
    name="archive-limit-exceeded",
    severity=Severity.HIGH,
    short="Archive exceeds size, ratio, nesting or member-count limits",
    full="Decompressed size, compression ratio, nesting depth or member count exceed the limits (zip bombs, "
    "deeply nested archives). The rest was not examined.",
    remediation="Treat the archive as hostile, or raise the limits in [tool.mlsec.scan] limits if it is "
    "legitimately large.",
    tags=("archive", "fail-closed"),
)
FMT_7Z_UNAVAILABLE = Rule(
    id="MLSEC-FMT-005",
    name="archive-7z-not-inspected",
    severity=Severity.HIGH,
    short="7z archive could not be inspected",
    full="The file is a 7z archive and py7zr is not installed (or cannot read it), so its members were not "
    "scanned. 7z wrapping is a known way to slip pickles past scanners.",
    remediation="Install the 'sevenzip' extra (pip install pytest-mlsec[sevenzip]) and scan again.",
    tags=("archive", "fail-closed"),
)
FMT_SCANNER_MISSING = Rule(
    id="MLSEC-FMT-006",
    name="format-scanner-unavailable",
    severity=Severity.HIGH,
    short="Format recognised but its scanner is unavailable",
    full="The file's format was recognised, but the module that scans it is not available in this build.",
    remediation="Upgrade or reinstall pytest-mlsec; meanwhile treat the file as unverified.",
    tags=("fail-closed",),
)
FMT_NPY_BAD = Rule(
    id="MLSEC-FMT-007",
    name="numpy-invalid",
    severity=Severity.HIGH,
    short="NumPy .npy header is invalid",
    full="The .npy magic, version, header length or header dictionary is invalid, or the data does not match "
    "the declared shape and dtype.",
    remediation=_UNVERIFIED,
    tags=("numpy", "fail-closed"),
)
FMT_NPY_OBJECT = Rule(
    id="MLSEC-FMT-008",
    name="numpy-object-array",
    severity=Severity.MEDIUM,
    short="NumPy array of Python objects (stored as a pickle)",
    full="The .npy array has an object dtype: its data is a pickle and np.load needs allow_pickle=True to read "
    "it. The embedded pickle is scanned separately.",
    remediation="Store numeric arrays only (np.save of a non-object array), or safetensors.",
    tags=("numpy", "pickle"),
)
FMT_SYMLINK = Rule(
    id="MLSEC-FMT-009",
    name="symlink-escapes-root",
    severity=Severity.HIGH,
    short="Symlink points outside the scanned folder",
    full="A symbolic link inside the model folder points outside it. Loaders follow it; the scanner does not, "
    "so what it points to was not verified (and may differ on the machine that loads the model).",
    remediation="Replace the link with the file itself, or remove it.",
    tags=("filesystem", "fail-closed"),
)
FMT_UNREADABLE = Rule(
    id="MLSEC-FMT-010",
    name="file-unreadable",
    severity=Severity.HIGH,
    short="File could not be read",
    full="The file could not be opened or read (permissions, broken link, special file).",
    remediation="Fix the permissions or remove the file; meanwhile it is unverified.",
    tags=("fail-closed",),
)
FMT_REMOTE_CODE = Rule(
    id="MLSEC-FMT-011",
    name="hf-trust-remote-code",
    severity=Severity.HIGH,
    short="Hugging Face model needs trust_remote_code",
    full="config.json declares auto_map, or the folder bundles Python files: loading it with transformers "
    "requires trust_remote_code=True, which imports and runs that code.",
    remediation="Use a model whose architecture ships with transformers, or review the bundled code and pin the "
    "exact revision (revision=<commit sha>) before enabling trust_remote_code.",
    tags=("huggingface", "code-execution"),
)
FMT_MLFLOW_PICKLE = Rule(
    id="MLSEC-FMT-012",
    name="mlflow-pickle-flavor",
    severity=Severity.HIGH,
    short="MLflow model is serialized with pickle/cloudpickle",
    full="The MLmodel file declares a pickle or cloudpickle serialization format, or a python_model.pkl: "
    "mlflow.pyfunc.load_model unpickles it and runs whatever it contains.",
    remediation="Log the model with a non-pickle flavour (mlflow.onnx, mlflow.transformers with safetensors, "
    "mlflow.sklearn with serialization_format='skops' and an empty trusted-types list), or with "
    "mlflow.pyfunc 'models from code' instead of a pickled python_model.",
    tags=("mlflow", "pickle"),
)
FMT_SKOPS_TRUSTED = Rule(
    id="MLSEC-FMT-013",
    name="mlflow-skops-trusted-types",
    severity=Severity.HIGH,
    short="skops model trusts extra types",
    full="The MLflow skops flavour lists trusted types: skops will instantiate them while loading, which is "
    "the same risk as an unvetted pickle global.",
    remediation="Remove entries from skops_trusted_types unless each one is reviewed; prefer ONNX for deployment.",
    tags=("mlflow", "skops"),
)
FMT_MLMODEL_BAD = Rule(
    id="MLSEC-FMT-014",
    name="mlflow-mlmodel-invalid",
    severity=Severity.MEDIUM,
    short="MLflow MLmodel file is not valid YAML",
    full="The MLmodel file could not be parsed with a safe YAML loader; its flavours were not verified.",
    remediation="Regenerate the MLmodel file with mlflow.",
    tags=("mlflow", "fail-closed"),
)
FMT_TORCH_LAYOUT = Rule(
    id="MLSEC-FMT-016",
    name="torch-layout-invalid",
    severity=Severity.MEDIUM,
    short="PyTorch checkpoint layout is inconsistent",
    full="The checkpoint's records do not match what torch.load expects (missing data.pkl, storages that the "
    "pickle references but the archive lacks, unreferenced pickle members).",
    remediation=_UNVERIFIED,
    tags=("torch", "integrity"),
)

PKL_RULES = (
    PKL_EXEC, PKL_IMPORT, PKL_FILES, PKL_NETWORK, PKL_UNKNOWN, PKL_STRICT, PKL_STACK_GLOBAL, PKL_EXTENSION,
    PKL_MALFORMED, PKL_TRAILING, PKL_LIMIT, PKL_MUTATION, PKL_INDIRECT_CALL, PKL_LEGACY_TORCH, PKL_NESTED,
)  # fmt: skip
FMT_RULES = (
    FMT_UNKNOWN, FMT_ZIP_TAMPERED, FMT_ARCHIVE_BAD, FMT_BOMB, FMT_7Z_UNAVAILABLE, FMT_SCANNER_MISSING, FMT_NPY_BAD,
    FMT_NPY_OBJECT, FMT_SYMLINK, FMT_UNREADABLE, FMT_REMOTE_CODE, FMT_MLFLOW_PICKLE, FMT_SKOPS_TRUSTED,
    FMT_MLMODEL_BAD, FMT_TORCH_LAYOUT,
)  # fmt: skip
RULES = PKL_RULES + FMT_RULES
