"""Print the markdown tables of bench.sh from hyperfine's JSON exports and the RSS log."""

from __future__ import annotations

import json
from pathlib import Path

TARGETS = ("ckpt_2g.pt", "model_2g.safetensors", "pickles_1000")


def main() -> None:
    rss: dict[tuple[str, str], str] = {}
    log = Path("/tmp/hf-rss.txt")
    if log.exists():
        for line in log.read_text().splitlines():
            name, cmd, kb = line.split("|")
            tool = cmd.split()[0].rsplit("/", 1)[-1]
            if "run_scan.py" in cmd:
                tool = "mlsec-runner"
            rss[(name, tool)] = kb
    for name in TARGETS:
        results = []
        for suffix in ("", "-slow"):
            path = Path(f"/tmp/hf-{name}{suffix}.json")
            if path.exists() and path.stat().st_size:
                results.extend(json.loads(path.read_text())["results"])
        if not results:
            continue
        floor = next((r["mean"] for r in results if r["command"] == "floor-cat"), None)
        print(f"### {name}\n")
        print("| tool | mean wall (s) | min (s) | user+sys CPU (s) | runs | peak RSS (MB) | vs picklescan |")
        print("|---|---|---|---|---|---|---|")
        pick = next((r["mean"] for r in results if r["command"] == "picklescan"), None)
        for r in results:
            tool = r["command"]
            kb = rss.get((name, tool))
            mb = f"{int(kb) / 1024:.0f}" if kb else "-"
            ratio = f"{pick / r['mean']:.1f}x" if pick and tool != "floor-cat" else ""
            print(
                f"| {tool} | {r['mean']:.3f} | {r['min']:.3f} | {r['user'] + r['system']:.3f} | "
                f"{len(r['times'])} | {mb} | {ratio} |"
            )
        if floor:
            print(f"\nfloor (cat to /dev/null): {floor:.3f} s\n")


if __name__ == "__main__":
    main()
