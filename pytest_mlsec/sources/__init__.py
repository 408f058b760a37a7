"""Where bytes come from: local files and folders, S3, MLflow artifacts."""
