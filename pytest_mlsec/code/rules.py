"""Rules of the ML code-hazard check: each names the unsafe call and the safe twin to use instead."""

from __future__ import annotations

from pytest_mlsec.findings import Severity
from pytest_mlsec.rules import Rule

TORCH_LOAD = Rule(
    id="MLSEC-CODE-001",
    name="torch-load-unsafe",
    severity=Severity.HIGH,
    short="torch.load without weights_only=True",
    full="torch.load unpickles the checkpoint unless weights_only=True: a malicious .pt/.bin file runs code "
    "when loaded. PyTorch 2.6+ defaults to weights_only=True, but code is run on older versions and "
    "weights_only=False is often added to silence errors.",
    remediation="Call torch.load(path, weights_only=True) (add map_location as needed); for full checkpoints, "
    "save tensors with safetensors and load them with safetensors.torch.load_file.",
    tags=("code", "deserialization"),
)
PICKLE_LOAD = Rule(
    id="MLSEC-CODE-002",
    name="pickle-load",
    severity=Severity.HIGH,
    short="Unpickling data (pickle / cloudpickle / dill / joblib / pandas.read_pickle)",
    full="Unpickling runs arbitrary code chosen by whoever wrote the bytes. Model files, caches and feature "
    "stores downloaded or shared between teams are untrusted input.",
    remediation="Store weights as safetensors, tabular data as Parquet, configs as JSON; for scikit-learn use "
    "skops.io with an explicit trusted-types list. If pickle is unavoidable, verify a signature or pinned "
    "hash of the file before loading it.",
    tags=("code", "deserialization"),
)
NUMPY_PICKLE = Rule(
    id="MLSEC-CODE-003",
    name="numpy-allow-pickle",
    severity=Severity.HIGH,
    short="numpy.load with allow_pickle=True",
    full="numpy.load(..., allow_pickle=True) unpickles object arrays found in .npy/.npz files.",
    remediation="Keep the default numpy.load(path) (allow_pickle=False) and store object data in a safe "
    "format (JSON, Parquet).",
    tags=("code", "deserialization"),
)
YAML_LOAD = Rule(
    id="MLSEC-CODE-004",
    name="yaml-unsafe-load",
    severity=Severity.HIGH,
    short="yaml.load without a safe loader",
    full="yaml.load with the default, Full or Unsafe loader (or yaml.unsafe_load / yaml.full_load) can build "
    "arbitrary Python objects from tags in the document.",
    remediation="Use yaml.safe_load(f) or yaml.load(f, Loader=yaml.CSafeLoader) / yaml.SafeLoader.",
    tags=("code", "deserialization"),
)
TRUST_REMOTE_CODE = Rule(
    id="MLSEC-CODE-005",
    name="trust-remote-code",
    severity=Severity.HIGH,
    short="trust_remote_code=True",
    full="trust_remote_code=True downloads and runs Python code from the model or dataset repository; a "
    "compromised or typo-squatted repository runs code in the training job.",
    remediation="Use an architecture supported natively by the library, or vendor the reviewed modelling code "
    "and pin the repository revision to a commit SHA.",
    tags=("code", "supply-chain"),
)
UNPINNED_REVISION = Rule(
    id="MLSEC-CODE-006",
    name="hub-revision-unpinned",
    severity=Severity.MEDIUM,
    short="Model hub download without a pinned commit revision",
    full="from_pretrained / hf_hub_download / snapshot_download without revision=<40-hex commit SHA> fetch "
    "whatever the branch points to today: a force-push or a compromised account changes the weights "
    "(and, with remote code, the code) under you. Branch and tag names are mutable.",
    remediation='Pass revision="<full 40-character commit SHA>" (from the repository\'s history page or '
    "huggingface_hub.HfApi().model_info(repo).sha).",
    tags=("code", "supply-chain"),
)
EVAL_CONFIG = Rule(
    id="MLSEC-CODE-007",
    name="eval-on-loaded-data",
    severity=Severity.HIGH,
    short="eval/exec on loaded configuration or input",
    full="eval/exec of a value read from a config file, the environment, the command line or the network "
    "runs whatever code that source contains.",
    remediation="Parse values with ast.literal_eval, json.loads or an explicit mapping from names to callables "
    "(e.g. {'relu': torch.nn.ReLU}) instead of eval/exec.",
    tags=("code", "injection"),
)
UNPARSEABLE = Rule(
    id="MLSEC-CODE-090",
    name="code-unparseable",
    severity=Severity.MEDIUM,
    short="A Python file or notebook could not be parsed",
    full="The file has a syntax error or is not valid text/JSON, so none of its calls were checked. The check "
    "fails closed: an unparsed file is unverified.",
    remediation="Fix the syntax error (or exclude generated/template files from the targets).",
    tags=("code", "fail-closed"),
)

RULES: tuple[Rule, ...] = (
    TORCH_LOAD,
    PICKLE_LOAD,
    NUMPY_PICKLE,
    YAML_LOAD,
    TRUST_REMOTE_CODE,
    UNPINNED_REVISION,
    EVAL_CONFIG,
    UNPARSEABLE,
)
