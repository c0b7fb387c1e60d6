"""Checkpoints on the Hugging Face Hub: resolve a model location, upload a checkpoint folder.

A model location is one of
- a local checkpoint folder (``path/to/folder``),
- the name of a shipped checkpoint, i.e. a folder under ``checkpoints/`` (``"diagnostic"``),
- a Hub repository, ``hf://OWNER/NAME`` or ``hf://OWNER/NAME@REVISION`` (branch, tag or commit),
  fetched with :func:`huggingface_hub.snapshot_download` into the usual Hub cache.

Only the files of our checkpoint format are ever downloaded, and weights are only ever read
from safetensors: a checkpoint from the Hub must not be able to run code (no pickle).

>>> parse_hub_location("hf://someone/ecg-beats@v1")
('someone/ecg-beats', 'v1')
>>> parse_hub_location("checkpoints/diagnostic") is None
True
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

from ecg_core.errors import ECGInputError
from ecg_core.model_card import build_model_card, validate_model_card

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Where the committed checkpoints live; a bare name resolves to a folder here.
SHIPPED_CHECKPOINTS_DIR = REPO_ROOT / "checkpoints"

#: The checkpoint folder format (PLAN.md): required files, then optional ones.
REQUIRED_FILES: tuple[str, ...] = ("config.json", "model.safetensors")
OPTIONAL_FILES: tuple[str, ...] = (
    "model_int8.safetensors",
    # an N/S network adapted to another recorder (required when config.json's ns_network)
    "ns_model.safetensors",
    "ns_model_int8.safetensors",
    "metrics.json",
    "loss_curve.png",
    "val_confusion.png",
    "train_log.json",  # scripts/train.py's record of the run
    "adaptation.json",  # scripts/adapt.py's record of how a checkpoint was adapted
)
CARD_NAME = "README.md"
#: What snapshot_download may fetch: our files and the card, nothing else (no pickles,
#: no code) even when a repository holds more.
HUB_ALLOW_PATTERNS: list[str] = [*REQUIRED_FILES, *OPTIONAL_FILES, CARD_NAME]

#: Environment variable the app reads for the model location (a path, a name or hf://...).
MODEL_LOCATION_ENV = "ECG_MODEL_LOCATION"

HF_PREFIX = "hf://"
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")


# --------------------------------------------------------------------------------------
# Resolving a location to a local folder
# --------------------------------------------------------------------------------------


def parse_hub_location(location: str) -> tuple[str, str | None] | None:
    """``"hf://owner/name[@rev]"`` -> ``(repo_id, revision or None)``; None for non-Hub locations."""
    text = str(location).strip()
    if not text.startswith(HF_PREFIX):
        return None
    rest = text[len(HF_PREFIX) :]
    repo_id, _, revision = rest.partition("@")
    if not _REPO_ID.match(repo_id) or (("@" in rest) and not revision):
        raise ECGInputError(
            f"Hub model location {location!r} is not of the form hf://OWNER/NAME or "
            "hf://OWNER/NAME@REVISION."
        )
    return repo_id, (revision or None)


def validate_checkpoint_dir(folder: str | Path) -> dict[str, Any]:
    """Check a checkpoint folder before anything is loaded from it; return its config.

    Checks that the required files exist, that ``config.json`` is a JSON object with a
    sane ``mode`` if it names one, and that the weights are real safetensors files (their
    header parses) rather than, say, a renamed pickle.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ECGInputError(f"Checkpoint folder {str(folder)!r} does not exist.")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in _PICKLE_SUFFIXES)
        hint = (
            f" It holds {', '.join(pickles)}; only safetensors weights are loaded."
            if pickles
            else ""
        )
        raise ECGInputError(f"Checkpoint folder {str(folder)!r} lacks {', '.join(missing)}.{hint}")
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ECGInputError(f"{folder / 'config.json'} is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise ECGInputError(f"{folder / 'config.json'} must hold a JSON object.")
    mode = config.get("mode")
    if mode is not None and mode not in ("realtime", "diagnostic"):
        raise ECGInputError(
            f"{folder / 'config.json'}: mode {mode!r} is neither 'realtime' nor 'diagnostic'."
        )
    if config.get("ns_network") and not (folder / "ns_model.safetensors").is_file():
        raise ECGInputError(
            f"Checkpoint folder {str(folder)!r} has an N/S network (config.json: ns_network) "
            "but lacks ns_model.safetensors."
        )
    for name in [n for n in (*REQUIRED_FILES, *OPTIONAL_FILES) if n.endswith(".safetensors")]:
        if (folder / name).is_file():
            _check_safetensors_header(folder / name)
    return config


def _check_safetensors_header(path: Path) -> None:
    """Parse the safetensors header only (8-byte length + JSON); no tensor is read."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="np") as handle:
            handle.keys()
    except Exception as error:  # safetensors raises its own SafetensorError (not exported)
        raise ECGInputError(f"{path} is not a valid safetensors file: {error}") from None


def resolve_checkpoint(
    name_or_path: str | Path,
    *,
    checkpoints_dir: str | Path = SHIPPED_CHECKPOINTS_DIR,
    cache_dir: str | Path | None = None,
    endpoint: str | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> Path:
    """Turn a model location into a validated local checkpoint folder.

    ``hf://OWNER/NAME[@REV]`` goes through :func:`huggingface_hub.snapshot_download` (Hub
    cache, ``allow_patterns`` restricted to our files); it raises the Hub's own errors
    (e.g. :class:`huggingface_hub.errors.LocalEntryNotFoundError` when the Hub cannot be
    reached and nothing is cached, ``HF_HUB_OFFLINE=1`` included). A local path wins over
    a shipped name of the same spelling.
    """
    text = str(name_or_path).strip()
    if not text:
        raise ECGInputError(
            "Empty model location: give a checkpoint name, a folder or hf://OWNER/NAME."
        )
    hub = parse_hub_location(text)
    if hub is not None:
        repo_id, revision = hub
        folder = Path(
            _snapshot_download(
                repo_id,
                revision=revision,
                cache_dir=cache_dir,
                endpoint=endpoint,
                local_files_only=local_files_only,
                token=token,
            )
        )
    else:
        candidate = Path(text).expanduser()
        shipped = Path(checkpoints_dir) / text
        if candidate.is_dir():
            folder = candidate
        elif "/" not in text and "\\" not in text and shipped.is_dir():
            folder = shipped
        else:
            available = sorted(
                p.name for p in Path(checkpoints_dir).glob("*") if (p / "config.json").is_file()
            )
            raise ECGInputError(
                f"Model {text!r} is neither a folder nor a shipped checkpoint "
                f"(shipped: {', '.join(available) or 'none'}); Hub models are written hf://OWNER/NAME."
            )
    validate_checkpoint_dir(folder)
    return folder.resolve()


def _snapshot_download(repo_id: str, **kwargs: Any) -> str:
    # Imported here so that `import ecg_core` stays light for the app's cold start.
    from huggingface_hub import snapshot_download

    return snapshot_download(repo_id, allow_patterns=HUB_ALLOW_PATTERNS, **kwargs)


def hub_unreachable_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the Hub copy is not available here", as huggingface_hub 2.x raises them.

    ``LocalEntryNotFoundError`` (offline mode, no connection, or an incomplete cached
    snapshot: ``IncompleteSnapshotError`` is a subclass), the HTTP errors (repository not
    found, gated, 5xx) and httpx2's transport errors (e.g. a proxy error, re-raised as is).
    """
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

    return (LocalEntryNotFoundError, OfflineModeIsEnabled, HfHubHTTPError, httpx2.TransportError)


def resolve_with_fallback(
    location: str | Path | None = None,
    default: str = "diagnostic",
    checkpoints_dir: str | Path = SHIPPED_CHECKPOINTS_DIR,
    **hub_kwargs: Any,
) -> tuple[Path, str]:
    """Resolve the configured model location, falling back to a committed checkpoint when
    the Hub copy cannot be had. Returns ``(folder, message)``.

    ``location`` defaults to the ``ECG_MODEL_LOCATION`` environment variable, then to
    ``default``. ``message`` says which model is used and, after a fallback, why (also logged
    as a warning) so that the app can show it. A bad local folder or name is the user's
    error and is raised, not hidden; so is a malformed hf:// location.
    """
    wanted = str(location or os.environ.get(MODEL_LOCATION_ENV, "") or default).strip()
    if parse_hub_location(wanted) is None:
        return resolve_checkpoint(wanted, checkpoints_dir=checkpoints_dir), f"Model: {wanted}."
    try:
        folder = resolve_checkpoint(wanted, checkpoints_dir=checkpoints_dir, **hub_kwargs)
    except hub_unreachable_errors() as error:
        first_line = (str(error).splitlines() or [""])[0]
        message = (
            f"Could not get {wanted} from the Hugging Face Hub ({type(error).__name__}: "
            f"{first_line}); using the committed checkpoint {default!r} instead."
        )
        logger.warning(message)
        return resolve_checkpoint(default, checkpoints_dir=checkpoints_dir), message
    return folder, f"Model: {wanted} (Hub cache: {folder})."


def load_model_with_fallback(
    location: str | Path | None = None,
    default: str = "diagnostic",
    quantized: bool = False,
    **resolve_kwargs: Any,
):
    """:func:`resolve_with_fallback`, then ``load_model``; returns ``(model, message)``."""
    from ecg_core.classifier import load_model

    folder, message = resolve_with_fallback(location, default, **resolve_kwargs)
    return load_model(folder, quantized=quantized), message


def build_upload_folder(checkpoint_dir: str | Path, out_dir: str | Path, repo_id: str) -> Path:
    """Copy a checkpoint's files and a generated, validated README.md into ``out_dir``.

    ``out_dir`` ends up holding exactly what is uploaded (any other file in it is an error,
    so that a stale file cannot slip into a commit).
    """
    if not _REPO_ID.match(repo_id):
        raise ECGInputError(f"Repository id {repo_id!r} is not of the form OWNER/NAME.")
    source = Path(checkpoint_dir)
    config = validate_checkpoint_dir(source)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    strays = sorted(p.name for p in out.iterdir() if p.name not in HUB_ALLOW_PATTERNS)
    if strays:
        raise ECGInputError(f"Output folder {out} already holds other files: {', '.join(strays)}.")
    for name in (*REQUIRED_FILES, *OPTIONAL_FILES):
        if (source / name).is_file():
            shutil.copyfile(source / name, out / name)
    metrics_path = source / "metrics.json"
    metrics = (
        json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else None
    )
    adaptation_path = source / "adaptation.json"
    adaptation = (
        json.loads(adaptation_path.read_text(encoding="utf-8"))
        if adaptation_path.is_file()
        else None
    )
    card = build_model_card(config, metrics, repo_id, adaptation=adaptation)
    card.save(out / CARD_NAME)
    validate_model_card(out / CARD_NAME)
    return out


def push_folder(
    folder: str | Path,
    repo_id: str,
    private: bool = False,
    revision: str | None = None,
    token: str | None = None,
    commit_message: str = "Upload ECG beat classifier checkpoint",
) -> str:
    """Upload a folder built by :func:`build_upload_folder`; returns the commit URL.

    The token comes from ``token``, else ``HF_TOKEN`` / ``hf auth login`` (huggingface_hub's
    own lookup). These are the only lines that talk to the Hub and are not run by the tests.
    """
    from huggingface_hub import HfApi, ModelCard

    api = HfApi(token=token)
    ModelCard.load(Path(folder) / CARD_NAME).validate()  # the Hub's own server-side check
    api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    if revision:
        api.create_branch(repo_id, branch=revision, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo_id,
        folder_path=str(folder),
        revision=revision,
        commit_message=commit_message,
        allow_patterns=HUB_ALLOW_PATTERNS,
    )
    return str(info.commit_url)
