"""Checkpoints on the Hugging Face Hub: resolve a model location, build and check a model card.

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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ecg_core.errors import ECGInputError

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Where the committed checkpoints live; a bare name resolves to a folder here.
SHIPPED_CHECKPOINTS_DIR = REPO_ROOT / "checkpoints"

#: The checkpoint folder format (PLAN.md): required files, then optional ones.
REQUIRED_FILES: tuple[str, ...] = ("config.json", "model.safetensors")
OPTIONAL_FILES: tuple[str, ...] = (
    "model_int8.safetensors",
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
    for name in ("model.safetensors", "model_int8.safetensors"):
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


# --------------------------------------------------------------------------------------
# Model card
# --------------------------------------------------------------------------------------

LICENSE = "mit"
TAGS: list[str] = [
    "ecg",
    "electrocardiogram",
    "arrhythmia",
    "heartbeat-classification",
    "time-series-classification",
    "aami-ec57",
    "pytorch",
    "safetensors",
    "medical",
]
DATASETS: list[str] = ["mitdb", "nstdb", "svdb"]

_DATABASE_NAMES = {
    "mitdb": "MIT-BIH Arrhythmia Database",
    "svdb": "MIT-BIH Supraventricular Arrhythmia Database",
    "svdb-adapt": "MIT-BIH Supraventricular Arrhythmia Database",
    "nstdb": "MIT-BIH Noise Stress Test Database",
}
_CLASS_ORDER = ("N", "S", "V", "F", "Q")


def iter_evaluations(metrics: Any, prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every evaluate.py result inside ``metrics.json``, with a key path naming it.

    ``metrics.json`` may be one evaluate.py result (a dict with ``"classes"``) or a dict or
    list of them (e.g. ``{"reference": {...}, "detected": {...}}``); nesting is followed.
    """
    if isinstance(metrics, dict):
        if isinstance(metrics.get("classes"), dict):
            yield prefix, metrics
            return
        for key in sorted(metrics, key=str):
            yield from iter_evaluations(metrics[key], f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(metrics, list):
        for index, item in enumerate(metrics):
            yield from iter_evaluations(item, f"{prefix}[{index}]")


def _evaluation_label(key: str, evaluation: dict[str, Any]) -> tuple[str, str, str]:
    """(dataset_type, dataset_name, split) for one evaluation."""
    database = str(evaluation.get("database") or "mitdb")
    database_id = Path(database).name or database
    pretty = _DATABASE_NAMES.get(database_id, database_id)
    records = evaluation.get("records")
    split = records if isinstance(records, str) else (f"{len(records)} records" if records else "")
    beats = evaluation.get("beats")
    mode = evaluation.get("mode")
    parts = [split, f"{beats} beats" if beats else "", mode]
    if key and key not in (beats, mode):
        parts.append(key)
    details = ", ".join(str(x) for x in parts if x)
    return database_id, f"{pretty} ({details})" if details else pretty, str(split or "test")


def metrics_to_eval_results(metrics: Any, task_name: str = "AAMI heartbeat classification"):
    """Turn metrics.json into huggingface_hub ``EvalResult``s: Se and +P per class, accuracy, QRS.

    Values are copied exactly as metrics.json holds them (no rounding, no rescaling).
    """
    from huggingface_hub import EvalResult

    results = []
    for key, evaluation in iter_evaluations(metrics):
        dataset_type, dataset_name, split = _evaluation_label(key, evaluation)
        common = {
            "task_type": "time-series-classification",
            "task_name": task_name,
            "dataset_type": dataset_type,
            "dataset_name": dataset_name,
            "dataset_split": split,
            # EvalResults are told apart by (task, dataset, config, split, revision): the
            # evaluation's key keeps reference- and detected-beat results distinct.
            "dataset_config": key or None,
        }
        classes = evaluation["classes"]
        for label in [c for c in _CLASS_ORDER if c in classes] + sorted(
            set(classes) - set(_CLASS_ORDER)
        ):
            for field, pretty in (("se", "Se"), ("ppv", "+P")):
                value = classes[label].get(field)
                if value is not None:
                    results.append(
                        EvalResult(
                            metric_type=f"{label.lower()}_{field}",
                            metric_name=f"{label} {pretty}",
                            metric_value=value,
                            **common,
                        )
                    )
        if evaluation.get("accuracy") is not None:
            results.append(
                EvalResult(
                    metric_type="accuracy",
                    metric_name="Accuracy",
                    metric_value=evaluation["accuracy"],
                    **common,
                )
            )
        qrs = evaluation.get("qrs") or {}
        for field, pretty in (("se", "QRS Se"), ("ppv", "QRS +P")):
            if qrs.get(field) is not None:
                results.append(
                    EvalResult(
                        metric_type=f"qrs_{field}",
                        metric_name=pretty,
                        metric_value=qrs[field],
                        **common,
                    )
                )
    return results


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{100 * value:.2f}" if value <= 1.0 else f"{value:.2f}"
    return "–" if value is None else str(value)


def metrics_markdown_table(metrics: Any) -> str:
    """One Markdown row per evaluation: V and S Se/+P, accuracy, QRS Se/+P (fractions shown in %)."""
    rows = [
        "| evaluation | V Se | V +P | S Se | S +P | accuracy | QRS Se | QRS +P |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, evaluation in iter_evaluations(metrics):
        _, name, _ = _evaluation_label(key, evaluation)
        classes = evaluation["classes"]
        qrs = evaluation.get("qrs") or {}
        cells = [
            _fmt(classes.get("V", {}).get("se")),
            _fmt(classes.get("V", {}).get("ppv")),
            _fmt(classes.get("S", {}).get("se")),
            _fmt(classes.get("S", {}).get("ppv")),
            _fmt(evaluation.get("accuracy")),
            _fmt(qrs.get("se")),
            _fmt(qrs.get("ppv")),
        ]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


CITATION = """\
```bibtex
@article{moody2001impact,
  title   = {The impact of the {MIT-BIH} Arrhythmia Database},
  author  = {Moody, George B. and Mark, Roger G.},
  journal = {IEEE Engineering in Medicine and Biology Magazine},
  volume  = {20}, number = {3}, pages = {45--50}, year = {2001}
}
@article{goldberger2000physiobank,
  title   = {{PhysioBank}, {PhysioToolkit}, and {PhysioNet}: components of a new research resource for complex physiologic signals},
  author  = {Goldberger, Ary L. and Amaral, Luis A. N. and Glass, Leon and Hausdorff, Jeffrey M. and Ivanov, Plamen Ch. and Mark, Roger G. and Mietus, Joseph E. and Moody, George B. and Peng, Chung-Kang and Stanley, H. Eugene},
  journal = {Circulation}, volume = {101}, number = {23}, pages = {e215--e220}, year = {2000}
}
@article{dechazal2004automatic,
  title   = {Automatic classification of heartbeats using {ECG} morphology and heartbeat interval features},
  author  = {de Chazal, Philip and O'Dwyer, Maria and Reilly, Richard B.},
  journal = {IEEE Transactions on Biomedical Engineering},
  volume  = {51}, number = {7}, pages = {1196--1206}, year = {2004}
}
```"""


def build_model_card(
    config: dict[str, Any],
    metrics: Any,
    repo_id: str,
    extra_sections: str = "",
    adaptation: dict[str, Any] | None = None,
):
    """The model card (``huggingface_hub.ModelCard``) for one checkpoint; pure, no network."""
    from huggingface_hub import ModelCard, ModelCardData

    model_name = repo_id.split("/")[-1]
    eval_results = metrics_to_eval_results(metrics) if metrics else None
    card_data = ModelCardData(
        license=LICENSE,
        library_name="pytorch",
        tags=TAGS,
        datasets=DATASETS,
        metrics=["accuracy", "recall", "precision"],
        model_name=model_name,
        eval_results=eval_results or None,
    )
    mode = config.get("mode", "unknown")
    adapted = adaptation or {}
    adapted_text = (
        f"\nThis checkpoint was **adapted** from `{adapted.get('base_checkpoint')}` to the "
        f"`{adapted.get('database')}` database ({len(adapted.get('records', []))} records) with "
        f"`{', '.join(adapted.get('settings', {}).get('methods', []))}` (see `adaptation.json`). "
        "Its scores on that database are cross-validated by record: each record was scored by a "
        "model adapted on the other folds only.\n"
        if adapted
        else ""
    )
    cv = adapted.get("cross_validation") if adapted else None
    if cv:
        comparison = metrics_markdown_table(
            {
                "base model, zero-shot": cv["base_zero_shot"],
                "this model, held-out records": cv["adapted_heldout"],
            }
        )
        adapted_text += (
            f"\nCross-validation by record on `{adapted.get('database')}` "
            f"({len(cv.get('folds', []))} folds; from `adaptation.json`):\n\n{comparison}\n"
        )
    table = metrics_markdown_table(metrics) if metrics else "_No metrics.json was found._"
    body = f"""
# {model_name}: ECG beat classifier (AAMI N/S/V/F/Q, {mode} mode)

A hybrid beat classifier (ResNet1D morphology stream with soft attention, RR-interval rhythm
stream, LSTM across neighbouring beats) from the ECG Arrhythmia Detector project. It labels
each heartbeat of a single-lead ECG with an AAMI EC57 class: N (normal and bundle branch
block), S (supraventricular ectopic), V (ventricular ectopic), F (fusion), Q (paced/unknown).
The `realtime` mode is strictly causal; the `diagnostic` mode sees one beat ahead.
{adapted_text}
## Files

- `config.json`: the model configuration (validated before the weights are loaded).
- `model.safetensors`: fp32 weights; `model_int8.safetensors`: int8 weights with per-channel scales.
  Weights are safetensors only: loading this checkpoint cannot run code.
- `metrics.json`: written by `scripts/evaluate.py`; `loss_curve.png`, `val_confusion.png`: training plots.

## How to use

```python
from ecg_core import load_model
model = load_model("hf://{repo_id}")          # or a local folder / a shipped name
predictions = model.classify(signal_mv, fs, r_peaks)   # r_peaks at the input rate
```

Or point the app at it: `ECG_MODEL_LOCATION=hf://{repo_id} python app.py` (it falls back to the
committed checkpoints when the Hub cannot be reached, and says so).

## Intended use

Research and education: screening long recordings (Holter) for ventricular and
supraventricular ectopic beats, estimating their burden and runs, and studying how beat
classifiers generalise across patients and recorders. Any input rate is resampled to 128 Hz.

## Evaluation protocol

Inter-patient protocol of de Chazal et al. (2004) on the MIT-BIH Arrhythmia Database: trained
and selected on DS1 only (validation carved by record), reported on DS2 (22 records of patients
never seen in training); paced records 102, 104, 107, 217 left out. AAMI EC57 classes; Se =
TP/(TP+FN), +P = TP/(TP+FP). "reference" scores classify the annotated beats; "detected" scores
run our own QRS detector end to end (a detection matches a reference beat within 150 ms).
Random beat-level splits leak patients and are not used.

{table}

## Limitations

- **Not a medical device.** A research tool; it has not been clinically validated or cleared
  by any regulator and must not be used for diagnosis or treatment decisions.
- **Domain shift.** Trained on 47 patients recorded in 1975-1979 (MIT-BIH, 360 Hz, mostly lead
  MLII). Other leads, recorders, sampling rates, filters and populations lower accuracy,
  S beats most. Adapt and re-evaluate on your own data (`scripts/adapt.py`).
- **Noise.** Muscle artefact and electrode motion (see the MIT-BIH Noise Stress Test results)
  cause missed and false beats and false V labels; noisy spans are flagged by the app.
- F and Q are rare in the training data and their scores are unreliable.
{extra_sections}
## Data attribution and citation

Trained and evaluated on PhysioNet databases (MIT-BIH Arrhythmia, MIT-BIH Noise Stress Test,
MIT-BIH Supraventricular Arrhythmia), distributed under the Open Data Commons Attribution
License v1.0. Please cite PhysioNet and the databases when you use this model:

{CITATION}
"""
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n{body}")


def validate_model_card(path: str | Path) -> dict[str, Any]:
    """Parse a card with huggingface_hub's own tools, offline; return its metadata as a dict.

    ``ModelCard.load`` parses the YAML block into ``ModelCardData``, which parses the
    ``model-index`` back into ``EvalResult``s and raises ValueError when it is malformed.
    (``ModelCard.validate`` asks the Hub's server and so is only used before a real upload.)
    """
    from huggingface_hub import ModelCard

    card = ModelCard.load(Path(path))
    data = card.data.to_dict()
    for key in ("license", "tags"):
        if not data.get(key):
            raise ValueError(f"Model card {path} has no {key!r} in its metadata.")
    return data


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
