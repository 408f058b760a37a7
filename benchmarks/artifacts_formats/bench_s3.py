"""Bytes fetched vs object size when scanning zip checkpoints on S3 (moto server on 127.0.0.1).

    .venv/bin/python benchmarks/artifacts_formats/bench_s3.py

Each object is a torch.save-style zip (data.pkl first, storages stored) built opcode by opcode;
it is scanned end to end by the core dispatcher through ``walk_s3`` / ``S3Source`` and the
source's own counters report what was downloaded.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.artifacts_formats.builders import torch_zip

CASES = [("16 tensors x 4 MiB", 16, 4 << 20), ("64 tensors x 1 MiB", 64, 1 << 20), ("8 tensors x 32 MiB", 8, 32 << 20)]


def main() -> None:
    import boto3
    import numpy as np
    from moto.server import ThreadedMotoServer

    from pytest_mlsec.artifacts.base import ScanOptions
    from pytest_mlsec.artifacts.scanner import Dispatcher
    from pytest_mlsec.sources.s3 import walk_s3

    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="bench")
    print("| object | size | fetched | fetched/size | GET requests | findings >= high | scan time |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    try:
        for label, count, each in CASES:
            rng = np.random.default_rng(1234)  # float32 weights, like a real checkpoint's storages
            data = torch_zip(
                {f"layer{i}.weight": rng.standard_normal(each // 4, dtype=np.float32).tobytes() for i in range(count)}
            )
            key = f"{label.replace(' ', '_')}/model.pt"
            client.put_object(Bucket="bench", Key=key, Body=data)
            start = time.perf_counter()
            findings = []
            for location, source in walk_s3(f"s3://bench/{key}", {"endpoint_url": endpoint, "region": "us-east-1"}):
                findings.extend(Dispatcher(ScanOptions()).scan(source, location))
                stats = source.stats
            elapsed = time.perf_counter() - start
            high = sum(1 for f in findings if f.severity >= 3)
            print(
                f"| {label} | {len(data) / 2**20:.1f} MiB | {stats.bytes_fetched / 1024:.1f} KiB | "
                f"{stats.bytes_fetched / len(data):.5f} | {stats.requests} | {high} | {elapsed * 1000:.0f} ms |"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
