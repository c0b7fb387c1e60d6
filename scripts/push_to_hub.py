"""Push a checkpoint folder to the Hugging Face Hub with a generated model card.

    python scripts/push_to_hub.py checkpoints/diagnostic --repo-id OWNER/ecg-diagnostic
    python scripts/push_to_hub.py checkpoints/diagnostic --repo-id OWNER/ecg-diagnostic \\
        --dry-run --out /tmp/upload     # build and check the exact folder, no network

The card (README.md) carries Hub metadata (license, tags, datasets, model-index built from
metrics.json) and is validated offline with huggingface_hub's ModelCard tools; before a real
upload the Hub's own validator is asked too. The token comes from HF_TOKEN or `hf auth login`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecg_core.errors import ECGInputError  # noqa: E402
from ecg_core.hub import build_upload_folder, push_folder  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "checkpoint_dir", type=Path, help="checkpoint folder (config.json, model.safetensors, ...)"
    )
    parser.add_argument("--repo-id", required=True, help="OWNER/NAME of the Hub model repository")
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    parser.add_argument("--revision", default=None, help="branch to push to (created if missing)")
    parser.add_argument(
        "--dry-run", action="store_true", help="build and validate the folder only; no network"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where to build the upload folder (required with --dry-run)",
    )
    args = parser.parse_args(argv)

    if args.dry_run and args.out is None:
        parser.error("--dry-run needs --out DIR to write the upload folder to")
    try:
        with tempfile.TemporaryDirectory(prefix="ecg-hub-") as scratch:
            folder = build_upload_folder(args.checkpoint_dir, args.out or scratch, args.repo_id)
            files = sorted(p.name for p in folder.iterdir())
            print(f"Upload folder {folder}: {', '.join(files)} (model card metadata valid)")
            if args.dry_run:
                print("Dry run: nothing uploaded.")
                return 0
            url = push_folder(folder, args.repo_id, private=args.private, revision=args.revision)
            print(f"Uploaded to {url}")
    except ECGInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
