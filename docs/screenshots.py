"""Make the documentation's screenshots from headless runs of the demo workflows.

    python docs/screenshots.py [--workflows atoms_rvae cards_ss_rvae cards_unsupervised lattice_shift_vae]

Each workflow runs ``napari-ivae demo --headless`` in a fresh process (its own virtual
display), then the window screenshot is shrunk and palette-compressed into
``docs/images/<workflow>.png`` so the committed pictures stay small. Seeds are fixed (0).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKFLOWS = ("atoms_rvae", "cards_ss_rvae", "cards_unsupervised", "lattice_shift_vae")
MAX_SIDE = 1100


def shrink(src: Path, dst: Path, max_side: int = MAX_SIDE) -> int:
    """Downscale and palette-quantise a PNG; returns the size in bytes."""
    from PIL import Image

    with Image.open(src) as image:
        image = image.convert("RGB")
        image.thumbnail((max_side, max_side), Image.LANCZOS)
        image.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(dst, optimize=True)
    return dst.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", nargs="+", default=list(WORKFLOWS), choices=WORKFLOWS)
    parser.add_argument("--out", type=Path, default=HERE / "images")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {}
    for workflow in args.workflows:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "napari_ivae.cli", "demo", "--headless",
                   "--workflow", workflow, "--out", tmp]
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                print(run.stdout[-3000:], run.stderr[-3000:], file=sys.stderr)
                return run.returncode
            summary = json.loads((Path(tmp) / "summary.json").read_text())
            size = shrink(Path(tmp) / "screenshot.png", args.out / f"{workflow}.png")
        print(f"{workflow}: {args.out / (workflow + '.png')} ({size / 1024:.0f} KB); "
              f"{summary.get('train', '')}")
        report[workflow] = {"png_kb": round(size / 1024), "seconds": summary.get("seconds"),
                            "train": summary.get("train"),
                            "confusion": summary.get("confusion")}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
