"""Rules for the non-pickle model formats, remote sources and conversion (ids MLSEC-FMT-050..099).

The pickle VM, containers and allow-list own the lower FMT/PKL ids; everything here is about
formats that cannot run code by themselves but can smuggle it (Keras Lambda layers, Jinja chat
templates, TensorFlow file-system ops), point outside the model folder (ONNX external data),
or lie about their own structure (safetensors headers) so two readers see different files.
"""

from __future__ import annotations

from pytest_mlsec.findings import Severity
from pytest_mlsec.rules import Rule

_RESAVE = (
    "Re-export the weights with the official safetensors library (safetensors.torch.save_file) from a trusted copy."
)

# --- safetensors -------------------------------------------------------------------------------
SAFETENSORS_BAD_HEADER = Rule(
    id="MLSEC-FMT-050",
    name="safetensors-invalid-header",
    severity=Severity.HIGH,
    short="safetensors header is invalid",
    full=(
        "The 8-byte header length or the JSON header of a safetensors file is invalid (too large, beyond the "
        "end of the file, not UTF-8, not a JSON object). Loaders disagree on such files, and a file that is "
        "not really safetensors may be loaded by another, code-executing loader."
    ),
    remediation=_RESAVE,
    tags=("safetensors", "fail-closed"),
)
SAFETENSORS_BAD_LAYOUT = Rule(
    id="MLSEC-FMT-051",
    name="safetensors-invalid-layout",
    severity=Severity.HIGH,
    short="safetensors tensors overlap, leave holes or do not cover the data",
    full=(
        "Tensor data_offsets must be sorted, contiguous, start at 0 and end exactly at the end of the file. "
        "Holes and overlaps hide bytes from readers that follow the header, and different readers resolve "
        "them differently."
    ),
    remediation=_RESAVE,
    tags=("safetensors", "integrity"),
)
SAFETENSORS_BAD_TENSOR = Rule(
    id="MLSEC-FMT-052",
    name="safetensors-invalid-tensor",
    severity=Severity.HIGH,
    short="safetensors tensor entry is invalid (dtype, shape or size)",
    full=(
        "A tensor entry names an unknown dtype, has a malformed shape or offsets, or its byte length does not "
        "equal prod(shape) * itemsize."
    ),
    remediation=_RESAVE,
    tags=("safetensors", "integrity"),
)
SAFETENSORS_POLYGLOT = Rule(
    id="MLSEC-FMT-053",
    name="safetensors-polyglot",
    severity=Severity.HIGH,
    short="safetensors file carries extra bytes or a second format (polyglot)",
    full=(
        "Bytes after the last tensor, a zip central directory in the tail, or a header length whose bytes spell "
        "another format's magic make the file readable as something else (for example a zip that torch.load "
        "would unpickle)."
    ),
    remediation=_RESAVE + " Never load this file with torch.load or pickle.",
    tags=("safetensors", "polyglot"),
)
SAFETENSORS_NOT_SAFETENSORS = Rule(
    id="MLSEC-FMT-054",
    name="safetensors-name-wrong-content",
    severity=Severity.CRITICAL,
    short="file named .safetensors holds a pickle or an archive",
    full=(
        "The file is named like a safetensors file but its bytes are a pickle or a zip archive (for example a "
        "PyTorch checkpoint renamed). Tools that trust the extension load it with a code-executing loader."
    ),
    remediation="Do not load this file. Obtain a real safetensors export from a trusted source.",
    tags=("safetensors", "extension-trick"),
)
SAFETENSORS_BAD_METADATA = Rule(
    id="MLSEC-FMT-055",
    name="safetensors-invalid-metadata",
    severity=Severity.MEDIUM,
    short="safetensors __metadata__ is not a string-to-string map",
    full="The __metadata__ entry must map strings to strings; anything else is rejected by the reference reader.",
    remediation=_RESAVE,
    tags=("safetensors",),
)
SAFETENSORS_DUPLICATE_KEY = Rule(
    id="MLSEC-FMT-056",
    name="safetensors-duplicate-key",
    severity=Severity.HIGH,
    short="safetensors header repeats a key",
    full="A JSON key appears twice in the header; readers keep different copies, so they load different tensors.",
    remediation=_RESAVE,
    tags=("safetensors", "parser-differential"),
)

# --- Keras -------------------------------------------------------------------------------------
KERAS_LAMBDA = Rule(
    id="MLSEC-FMT-060",
    name="keras-lambda-layer",
    severity=Severity.HIGH,
    short="Keras model contains a Lambda layer (serialized Python code)",
    full=(
        "A Lambda layer stores a Python function (marshalled bytecode or a reference to a callable); loading the "
        "model with safe_mode=False, or with legacy HDF5 loading, runs that code."
    ),
    remediation=(
        "Replace the Lambda layer with a registered custom layer whose code lives in your repository, and load "
        "models with keras.saving.load_model(..., safe_mode=True)."
    ),
    tags=("keras", "code-execution"),
)
KERAS_CUSTOM_OBJECT = Rule(
    id="MLSEC-FMT-061",
    name="keras-custom-object",
    severity=Severity.MEDIUM,
    short="Keras config references a class or function outside Keras",
    full=(
        "The model config names a 'module' / 'registered_name' outside keras; deserialising it imports that "
        "module and calls into it."
    ),
    remediation="Review the referenced module; keep custom objects in your own, reviewed package.",
    tags=("keras", "imports"),
)
KERAS_UNREADABLE = Rule(
    id="MLSEC-FMT-062",
    name="keras-unreadable",
    severity=Severity.MEDIUM,
    short="Keras / HDF5 model could not be inspected",
    full="The Keras archive or HDF5 file is malformed, truncated, or needs an optional reader that is missing.",
    remediation="Install the needed extra (h5py) or re-save the model with a current Keras version (.keras format).",
    tags=("keras", "fail-closed"),
)

# --- ONNX --------------------------------------------------------------------------------------
ONNX_EXTERNAL_ESCAPE = Rule(
    id="MLSEC-FMT-070",
    name="onnx-external-data-escape",
    severity=Severity.HIGH,
    short="ONNX external data points outside the model folder",
    full=(
        "A tensor's external_data 'location' is absolute or climbs out of the model folder with '..'; loading "
        "the model reads (and may disclose) arbitrary files such as credentials."
    ),
    remediation="Keep external data files next to the model and reference them by plain relative names.",
    tags=("onnx", "path-traversal"),
)
ONNX_CUSTOM_DOMAIN = Rule(
    id="MLSEC-FMT-071",
    name="onnx-custom-operator",
    severity=Severity.INFO,
    short="ONNX model uses a custom-domain operator",
    full="Custom-domain operators need a native library registered at load time; the model depends on that code.",
    remediation="Make sure the custom operator library comes from a trusted, pinned source.",
    tags=("onnx",),
)
ONNX_UNREADABLE = Rule(
    id="MLSEC-FMT-072",
    name="onnx-unreadable",
    severity=Severity.MEDIUM,
    short="ONNX model could not be parsed",
    full="The protobuf is malformed, truncated or exceeds a bound, so its external-data references were not checked.",
    remediation="Re-export the model with the onnx package and check it with onnx.checker.",
    tags=("onnx", "fail-closed"),
)

# --- GGUF --------------------------------------------------------------------------------------
GGUF_TEMPLATE_INJECTION = Rule(
    id="MLSEC-FMT-075",
    name="gguf-chat-template-injection",
    severity=Severity.CRITICAL,
    short="Model chat template (GGUF, tokenizer config or .jinja file) contains a Jinja sandbox-escape pattern",
    full=(
        "A model's chat template (GGUF tokenizer.chat_template, the chat_template key of a Hugging Face "
        "tokenizer_config.json, or a chat_template.jinja file) is rendered by Jinja2 when the model is used; "
        "templates that reach __class__, "
        "__globals__, __builtins__, os or subprocess (server-side template injection) run commands on the host."
    ),
    remediation=(
        "Do not load this model. If the template is needed, replace it with a reviewed template and render "
        "templates only in jinja2.sandbox.ImmutableSandboxedEnvironment."
    ),
    tags=("gguf", "ssti", "code-execution"),
)
GGUF_UNREADABLE = Rule(
    id="MLSEC-FMT-076",
    name="gguf-unreadable",
    severity=Severity.MEDIUM,
    short="GGUF header could not be parsed",
    full="The GGUF header is malformed, truncated, of an unknown version or exceeds a bound.",
    remediation="Re-download the model from a trusted source and verify its checksum.",
    tags=("gguf", "fail-closed"),
)

# --- TensorFlow --------------------------------------------------------------------------------
TF_RISKY_OP = Rule(
    id="MLSEC-FMT-080",
    name="tensorflow-risky-op",
    severity=Severity.HIGH,
    short="TensorFlow graph uses a file-system or Python-callback op",
    full=(
        "The SavedModel / GraphDef contains ops that read or write arbitrary files (ReadFile, WriteFile, "
        "MatchingFiles, Save/Restore with graph-controlled paths) or call back into Python (PyFunc); serving "
        "the model can read secrets or overwrite files."
    ),
    remediation="Export the model without file-system ops (tf.saved_model with only compute ops) and review the graph.",
    tags=("tensorflow", "file-system"),
)
TF_UNREADABLE = Rule(
    id="MLSEC-FMT-081",
    name="tensorflow-unreadable",
    severity=Severity.MEDIUM,
    short="TensorFlow SavedModel could not be parsed",
    full="The saved_model.pb protobuf is malformed, truncated or exceeds a bound, so its ops were not checked.",
    remediation="Re-export the model with TensorFlow and scan it again.",
    tags=("tensorflow", "fail-closed"),
)

# --- Remote sources ----------------------------------------------------------------------------
REMOTE_UNREADABLE = Rule(
    id="MLSEC-FMT-090",
    name="remote-artifact-unreadable",
    severity=Severity.HIGH,
    short="Remote artifact could not be read",
    full="An s3:// target (bucket, prefix or object) does not exist, access was denied, or the transfer failed.",
    remediation="Check the URI, the credentials / profile and the endpoint; grant s3:GetObject and s3:ListBucket.",
    tags=("s3", "fail-closed"),
)

# --- Conversion --------------------------------------------------------------------------------
CONVERT_REFUSED = Rule(
    id="MLSEC-FMT-095",
    name="convert-refused-global",
    severity=Severity.HIGH,
    short="Checkpoint uses calls outside the tensor-rebuild allow-list; conversion refused",
    full=(
        "mlsec convert interprets the checkpoint's pickle with the restricted VM and accepts only tensor rebuild "
        "calls, storages and OrderedDict. Anything else may be code and is never executed."
    ),
    remediation="Do not load this checkpoint. Ask its publisher for a safetensors export.",
    tags=("convert", "pickle"),
)
CONVERT_UNSUPPORTED = Rule(
    id="MLSEC-FMT-096",
    name="convert-unsupported",
    severity=Severity.MEDIUM,
    short="Checkpoint cannot be converted faithfully",
    full="A tensor is non-contiguous, has an unsupported dtype, or its storage is missing or too short.",
    remediation="Convert with the official tools in an isolated environment, or make tensors contiguous first.",
    tags=("convert",),
)
CONVERT_VERIFY_FAILED = Rule(
    id="MLSEC-FMT-097",
    name="convert-verification-failed",
    severity=Severity.HIGH,
    short="Converted safetensors file does not match the checkpoint",
    full="Reading the output back with the safetensors library gave different tensors than the checkpoint storages.",
    remediation="Report this as a bug; do not use the output file.",
    tags=("convert",),
)

RULES: tuple[Rule, ...] = (
    SAFETENSORS_BAD_HEADER,
    SAFETENSORS_BAD_LAYOUT,
    SAFETENSORS_BAD_TENSOR,
    SAFETENSORS_POLYGLOT,
    SAFETENSORS_NOT_SAFETENSORS,
    SAFETENSORS_BAD_METADATA,
    SAFETENSORS_DUPLICATE_KEY,
    KERAS_LAMBDA,
    KERAS_CUSTOM_OBJECT,
    KERAS_UNREADABLE,
    ONNX_EXTERNAL_ESCAPE,
    ONNX_CUSTOM_DOMAIN,
    ONNX_UNREADABLE,
    GGUF_TEMPLATE_INJECTION,
    GGUF_UNREADABLE,
    TF_RISKY_OP,
    TF_UNREADABLE,
    REMOTE_UNREADABLE,
    CONVERT_REFUSED,
    CONVERT_UNSUPPORTED,
    CONVERT_VERIFY_FAILED,
)
