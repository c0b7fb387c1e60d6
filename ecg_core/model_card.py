"""The model card of a checkpoint on the Hugging Face Hub: metadata from metrics.json, text,
and an offline check with huggingface_hub's own card tools. Used by ecg_core.hub and the app.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def adaptation_markdown_table(cv_paths: list[Path]) -> str:
    """One Markdown row per cross-validation file of ``scripts/adapt.py --cv-json`` (sorted by
    name): the method and its settings, the leads adapted on, then V and S Se/+P in %,
    zero-shot -> adapted, on records the model was not adapted on: the network alone on the
    annotated beats of one lead, and end to end as the app runs (two leads, our own
    detections; "–" for files written before ``adapt.py`` scored that)."""
    rows = [
        "| method (settings) | leads | beats centred on | network alone: V Se / +P "
        "| network alone: S Se / +P | end to end: V Se / +P | end to end: S Se / +P |",
        "|---|---|---|---|---|---|---|",
    ]

    def pair(classes: dict[str, Any], label: str) -> str:
        row = classes.get(label, {})
        return f"{_fmt(row.get('se'))} / {_fmt(row.get('ppv'))}"

    def percent_pair(scores: dict[str, Any] | None, label: str) -> str:
        if not scores:
            return "–"
        return f"{scores[label]['se']:.2f} / {scores[label]['ppv']:.2f}"

    for path in sorted(cv_paths):
        cv = json.loads(Path(path).read_text())
        settings, methods = cv["settings"], cv["settings"]["methods"]
        details = []  # only what the method uses: AdaBN re-estimates statistics, no training
        if methods != ["adabn"]:
            details.append(f"freeze {settings['freeze']}")
        if "supervised" in methods:
            n = settings.get("labelled_beats_per_record")
            details.append(f"labelled beats {'all' if n == 0 else f'{n} per record'}")
        if methods != ["adabn"]:
            details.append(f"{settings['steps']} steps, lr {settings['lr']:g}")
        details.append(f"seed {settings.get('seed', 0)}, {len(cv['folds'])} folds")
        method = ", ".join(methods) + f" ({', '.join(details)})"
        forms = [("", "adapted_heldout")]
        if "n_s_only_heldout" in cv:  # scripts/adapt.py --n-s-only's form, scored alike
            forms.append((": N/S only, the shipped network's V, F, Q kept", "n_s_only_heldout"))
        zero, zero_e2e = cv["zero_shot"]["classes"], cv.get("zero_shot_end_to_end")
        for suffix, key in forms:
            adapted, adapted_e2e = cv[key]["classes"], cv.get(f"{key}_end_to_end")
            cells = [
                method + suffix,
                str(cv.get("leads", 1)),
                cv.get("positions") or "annotations",
                *(f"{pair(zero, c)} → {pair(adapted, c)}" for c in ("V", "S")),
                *(
                    f"{percent_pair(zero_e2e, c)} → {percent_pair(adapted_e2e, c)}"
                    if adapted_e2e
                    else "–"
                    for c in ("V", "S")
                ),
            ]
            rows.append("| " + " | ".join(cells) + " |")
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
    if config.get("ns_network"):
        adapted_text += (
            "\nIt keeps the base model's V, F and Q calls: its adapted network "
            "(`ns_model.safetensors`) only re-splits each beat's N and S probabilities "
            "(`ecg_core.classifier.resplit_n_s`), so a beat the base model calls V, F or Q keeps "
            "that call and one it calls N or S gets the adapted network's choice.\n"
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
    ns_files = (
        "\n- `ns_model.safetensors`, `ns_model_int8.safetensors`: the adapted N/S network."
        if config.get("ns_network")
        else ""
    )
    body = f"""
# {model_name}: ECG beat classifier (AAMI N/S/V/F/Q, {mode} mode)

A hybrid beat classifier (ResNet1D morphology stream with soft attention, RR-interval rhythm
stream, LSTM across neighbouring beats) from the ECG Arrhythmia Detector project. It labels
each heartbeat of an ECG lead with an AAMI EC57 class: N (normal and bundle branch
block), S (supraventricular ectopic), V (ventricular ectopic), F (fusion), Q (paced/unknown).
Where a record has a second lead, the project's pipeline runs it on both and averages the two
leads' probabilities per beat; the scores below were measured that way.
The `realtime` mode is strictly causal; the `diagnostic` mode sees one beat ahead.
{adapted_text}
## Files

- `config.json`: the model configuration (validated before the weights are loaded).
- `model.safetensors`: fp32 weights; `model_int8.safetensors`: int8 weights with per-channel scales.
  Weights are safetensors only: loading this checkpoint cannot run code.{ns_files}
- `metrics.json`: written by `scripts/evaluate.py`; `loss_curve.png`, `val_confusion.png`: training plots.

## How to use

```python
from ecg_core import load_model
model = load_model("hf://{repo_id}")          # or a local folder / a shipped name
predictions = model.classify(signal_mv, fs, r_peaks)   # r_peaks at the input rate
# two leads, (n_samples, 2), column 0 the lead the beats were detected on:
predictions = model.classify(two_leads_mv, fs, r_peaks)
```

Or point the app at it: `ECG_MODEL_LOCATION=hf://{repo_id} python app.py` (it falls back to the
committed checkpoints when the Hub cannot be reached, and says so).

## Intended use

Research and education: screening long recordings (Holter) for ventricular and
supraventricular ectopic beats, estimating their burden and runs, and studying how beat
classifiers generalise across patients and recorders. Any input rate is resampled to 128 Hz.

## Evaluation protocol

Inter-patient protocol of de Chazal et al. (2004) on the MIT-BIH Arrhythmia Database: trained
on DS1 only, training recipe chosen on DS1 and on a development subset of the MIT-BIH
Supraventricular Arrhythmia Database (never on DS2), reported on DS2 (22 records of patients
never seen in training); paced records 102, 104, 107, 217 left out. AAMI EC57 classes; Se =
TP/(TP+FN), +P = TP/(TP+FP). "reference" scores classify the annotated beats; "detected" scores
run our own QRS detector end to end (a detection matches a reference beat within 150 ms).
Random beat-level splits leak patients and are not used.

{table}

## Limitations

- **Not a medical device.** A research tool; it has not been clinically validated or cleared
  by any regulator and must not be used for diagnosis or treatment decisions.
- **Domain shift.** Trained on 22 patients recorded in 1975-1979 (MIT-BIH DS1, 360 Hz, lead
  MLII, the second lead and random mixtures of the two; one network distilled from a
  three-seed ensemble). Other leads, recorders, sampling rates, filters and populations lower accuracy,
  S beats most. Adapt and re-evaluate on your own data (`scripts/adapt.py`).
- **Noise.** Muscle artefact and electrode motion (see the MIT-BIH Noise Stress Test results)
  cause missed and false beats and false V labels; noisy spans are flagged by the app.
- F and Q are rare in the training data and their scores are unreliable. The models also
  label Q what looks like an artefact taken for a beat (the detector's false detections in
  the training records were labelled Q), so Q counts mix the two.
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
