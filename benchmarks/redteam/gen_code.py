# ruff: noqa: E501
"""Generate the `mlsec code` red-team corpus: unsafe loading hidden behind aliases, indirection and
keyword plumbing (the evasions AST linters such as bandit's B301/B614 are known to miss), plus safe
twins that merely look similar."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Registry

R = Registry("code")
SHA = hashlib.sha1(b"rev").hexdigest()


def case(cid: str, expected: str, src: str, desc: str, klass: str, ext: str = "py") -> None:
    R.write(f"{cid}.{ext}", src)
    R.add(cid, f"{cid}.{ext}", expected, desc, klass)


def main() -> None:
    u, s = "unsafe", "safe"
    case(
        "k01-torch-load-alias",
        u,
        "from torch import load as L\nstate = L('ckpt.pt')\n",
        "from torch import load as L",
        "alias",
    )
    case(
        "k02-torch-module-alias",
        u,
        "import torch as T\nm = T.load('m.pt', map_location='cpu')\n",
        "import torch as T; T.load",
        "alias",
    )
    case(
        "k03-weights-only-false-var",
        u,
        "import torch\nSAFE = False\nm = torch.load('m.pt', weights_only=SAFE)\n",
        "weights_only from a False variable",
        "dataflow",
    )
    case(
        "k04-kwargs-dict",
        u,
        "import numpy as np\nopts = {'allow_pickle': True}\na = np.load('a.npy', **opts)\n",
        "allow_pickle=True via **kwargs",
        "dataflow",
    )
    case(
        "k05-pickle-unpickler",
        u,
        "import pickle\nwith open('m.pkl','rb') as f:\n    m = pickle.Unpickler(f).load()\n",
        "pickle.Unpickler(f).load()",
        "api",
    )
    case("k06-yaml-unsafe-load", u, "import yaml\ncfg = yaml.unsafe_load(open('c.yaml'))\n", "yaml.unsafe_load", "api")
    case(
        "k07-yaml-full-loader",
        u,
        "import yaml\ncfg = yaml.load(open('c.yaml'), Loader=yaml.FullLoader)\n",
        "yaml.load with FullLoader",
        "api",
    )
    case(
        "k08-yaml-loader-positional",
        u,
        "import yaml\ncfg = yaml.load(open('c.yaml'), yaml.UnsafeLoader)\n",
        "yaml.load with positional UnsafeLoader",
        "api",
    )
    case(
        "k09-getattr-torch-load",
        u,
        "import torch\nload = getattr(torch, 'load')\nm = load('m.pt')\n",
        "getattr(torch, 'load')",
        "indirection",
    )
    case(
        "k10-pandas-read-pickle",
        u,
        "import pandas as pd\ndf = pd.read_pickle('s3://bucket/df.pkl')\n",
        "pandas.read_pickle",
        "api",
    )
    case(
        "k11-joblib-from-import",
        u,
        "from joblib import load\nclf = load('model.joblib')\n",
        "from joblib import load",
        "alias",
    )
    case(
        "k12-dill-cloudpickle",
        u,
        "import dill, cloudpickle\na = dill.load(open('a','rb'))\nb = cloudpickle.loads(blob)\n",
        "dill.load / cloudpickle.loads",
        "api",
    )
    case(
        "k13-trust-remote-code-var",
        u,
        "from transformers import AutoModel\nTRC = True\nm = AutoModel.from_pretrained('org/m', trust_remote_code=TRC, revision='"
        + SHA
        + "')\n",
        "trust_remote_code from a True variable",
        "dataflow",
    )
    case(
        "k14-from-pretrained-branch",
        u,
        "from transformers import AutoModel\nm = AutoModel.from_pretrained('org/m', revision='main')\n",
        "from_pretrained revision='main'",
        "hub",
    )
    case(
        "k15-snapshot-no-rev",
        u,
        "from huggingface_hub import snapshot_download\np = snapshot_download('org/m')\n",
        "snapshot_download without revision",
        "hub",
    )
    case(
        "k16-eval-config",
        u,
        "import json\ncfg = json.load(open('c.json'))\nfn = eval(cfg['activation'])\n",
        "eval on loaded config",
        "eval",
    )
    case(
        "k17-notebook-torch-load",
        u,
        json.dumps(
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "metadata": {},
                        "outputs": [],
                        "execution_count": 1,
                        "source": ["import torch\n", "m = torch.load('m.pt')\n"],
                    }
                ],
                "metadata": {},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        ),
        "torch.load in a notebook",
        "notebook",
        "ipynb",
    )
    case(
        "k18-notebook-magic",
        u,
        json.dumps(
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "metadata": {},
                        "outputs": [],
                        "execution_count": 1,
                        "source": [
                            "%matplotlib inline\n",
                            "!pip install x\n",
                            "import pickle\n",
                            "m = pickle.load(open('m.pkl','rb'))\n",
                        ],
                    }
                ],
                "metadata": {},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        ),
        "pickle.load in a notebook cell that also has magics",
        "notebook",
        "ipynb",
    )
    case(
        "k19-torch-hub-load",
        u,
        "import torch\nm = torch.hub.load('org/repo', 'model')\n",
        "torch.hub.load (remote code)",
        "hub",
    )
    case(
        "k20-keras-unsafe",
        u,
        "import keras\nm = keras.models.load_model('m.keras', safe_mode=False)\n",
        "keras load_model safe_mode=False",
        "api",
    )
    # safe twins
    case(
        "q01-weights-only",
        s,
        "import torch\nm = torch.load('m.pt', weights_only=True, map_location='cpu')\n",
        "torch.load weights_only=True",
        "api",
    )
    case(
        "q02-yaml-safe",
        s,
        "import yaml\na = yaml.load(open('c.yaml'), Loader=yaml.SafeLoader)\nb = yaml.safe_load(open('d.yaml'))\nc = yaml.load(open('e.yaml'), Loader=yaml.CSafeLoader)\n",
        "yaml SafeLoader/safe_load/CSafeLoader",
        "api",
    )
    case(
        "q03-np-load-plain",
        s,
        "import numpy as np\na = np.load('a.npy')\nb = np.load('b.npz', allow_pickle=False)\n",
        "np.load without pickle",
        "api",
    )
    case(
        "q04-pinned-revision",
        s,
        f"from transformers import AutoModel\nm = AutoModel.from_pretrained('org/m', revision='{SHA}')\n",
        "from_pretrained pinned to a commit",
        "hub",
    )
    case(
        "q05-safetensors",
        s,
        "from safetensors.torch import load_file\nsd = load_file('m.safetensors')\n",
        "safetensors load_file",
        "api",
    )
    case(
        "q06-pickle-dump-only",
        s,
        "import pickle, json\npickle.dump(obj, open('o.pkl','wb'))\ndata = json.load(open('x.json'))\n",
        "pickle.dump (writing) and json.load",
        "api",
    )
    case(
        "q07-own-load-method",
        s,
        "class Store:\n    def load(self, p):\n        return open(p).read()\nStore().load('x')\nimport ast\nv = ast.literal_eval('[1, 2]')\n",
        "a method named load; ast.literal_eval",
        "api",
    )
    case(
        "q08-string-mentions",
        s,
        "DOC = \"never call torch.load(path) or pickle.loads(b) on untrusted data\"\n# torch.load('x.pt')\n",
        "mentions in strings/comments",
        "text",
    )
    case(
        "q09-local-from-pretrained",
        s,
        "from transformers import AutoModel\nm = AutoModel.from_pretrained('./checkpoints/run-3', local_files_only=True)\n",
        "from_pretrained on a local path",
        "hub",
    )
    R.save()
    print(f"code corpus: {len(R.cases)} cases")


if __name__ == "__main__":
    main()
