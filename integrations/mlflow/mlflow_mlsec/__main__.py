"""``python -m mlflow_mlsec scan models:/name/1``: same as the ``mlflow-mlsec`` script."""

from mlflow_mlsec.cli import main

raise SystemExit(main())
