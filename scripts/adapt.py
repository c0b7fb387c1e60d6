"""Adapt a shipped checkpoint to another database / recorder, or cross-validate doing so.

Cross-validation by record (adapt on the other folds' records, score the held-out ones;
writes zero-shot and adapted scores over all records to --cv-json, twice: the network on the
annotated beats of one lead, and end to end, each held-out record analysed as the app does
with two leads and our own detections; the second is the figure that matters):

    nice -n 10 python scripts/adapt.py --checkpoint diagnostic \\
        --data-dir ../shared/data/svdb-adapt --method adabn --cv-folds 5 --cv-json cv_adabn.json
    nice -n 10 python scripts/adapt.py --checkpoint diagnostic \\
        --data-dir ../shared/data/svdb-adapt --method adabn,supervised --freeze cnn \\
        --labelled-beats 300 --cv-folds 5 --cv-json cv_sup.json

Adapt on every record and write a checkpoint (config.json, model.safetensors,
model_int8.safetensors, adaptation.json, metrics.json with the cross-validated estimate from
--cv-json and the MIT-BIH DS2 reference-beat scores when --mitdb-dir exists):

    nice -n 10 python scripts/adapt.py --checkpoint diagnostic \\
        --data-dir ../shared/data/svdb-adapt --method adabn,supervised \\
        --cv-json cv_sup.json --out checkpoints/svdb-adapted

``--n-s-only`` writes the checkpoint that keeps the base network's V, F and Q calls and lets
the adapted network decide only between N and S (``ns_model.safetensors`` beside the base
weights; ``ecg_core.classifier.resplit_n_s``). The CV always scores both forms.

By default the model adapts on both leads of each record (``--leads 2``), each lead a beat
sequence of its own, as the product classifies from two leads.

Methods (comma-separated): adabn (re-estimate BatchNorm statistics on unlabelled target
beats), self-train (fine-tune on confident pseudo-labels; no labels read), supervised
(fine-tune on --labelled-beats labelled beats per record, freezing --freeze).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate import product_totals  # noqa: E402

from ecg_core.aami import DS2, resolve_record_list  # noqa: E402
from ecg_core.adaptation import (  # noqa: E402
    FREEZE_CHOICES,
    AdaptSettings,
    adapt_model,
    predict_records,
    record_folds,
)
from ecg_core.classifier import (  # noqa: E402
    FP32_WEIGHTS,
    INT8_WEIGHTS,
    NS_FP32_WEIGHTS,
    NS_INT8_WEIGHTS,
    BeatClassifier,
    load_model,
    load_network,
    resplit_n_s,
)
from ecg_core.dataset import (  # noqa: E402
    BeatDataset,
    both_leads,
    build_beat_dataset,
    load_noise_records,
)
from ecg_core.errors import ECGInputError  # noqa: E402
from ecg_core.hub import resolve_checkpoint  # noqa: E402
from ecg_core.metrics import classification_metrics, percent_scores  # noqa: E402
from ecg_core.models import HybridBeatNet  # noqa: E402
from ecg_core.quantize import save_int8  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--checkpoint", default="diagnostic", help="shipped name, folder or hf://OWNER/NAME"
    )
    p.add_argument("--data-dir", required=True, help="target WFDB database (beat annotations)")
    p.add_argument("--records", default="all", help="'all' or a list '800,803'")
    p.add_argument("--annotator", default="atr")
    p.add_argument(
        "--positions",
        choices=("annotations", "detected"),
        default="annotations",
        help="target beat windows centred on the annotations, or on our detector's R peaks "
        "(the product's centring; beats it misses are left out)",
    )
    p.add_argument(
        "--lead", default=None, help="lead name or index (default: MLII / II / ECG1 ...)"
    )
    p.add_argument(
        "--leads",
        type=int,
        choices=(1, 2),
        default=2,
        help="adapt on that lead only (1) or on the record's other lead too (2, as the "
        "product classifies from two leads; needs no --lead)",
    )
    p.add_argument(
        "--method", default="adabn", help="comma-separated: adabn, self-train, supervised"
    )
    p.add_argument("--freeze", choices=FREEZE_CHOICES, default="cnn")
    p.add_argument(
        "--labelled-beats", type=int, default=300, help="labelled beats per record (0 = all)"
    )
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--pseudo-threshold", type=float, default=0.95)
    p.add_argument(
        "--source-fraction",
        type=float,
        default=0.0,
        help="share of fine-tuning batches from labelled source beats (--source-dir)",
    )
    p.add_argument("--source-dir", default=str(REPO_ROOT.parent / "shared" / "data" / "mitdb"))
    p.add_argument("--source-records", default="DS1", help="source records (never DS2)")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument(
        "--noise-dir",
        default=str(REPO_ROOT.parent / "shared" / "data" / "nstdb"),
        help="NSTDB folder for noise augmentation ('' for none)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--device", default="cpu", help="torch device of the fine-tuning steps, e.g. cuda"
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cv-folds", type=int, default=0, help="cross-validate by record with K folds")
    p.add_argument(
        "--cv-json",
        type=Path,
        default=None,
        help="CV: where to write the results; adapt: a CV result to put in metrics.json",
    )
    p.add_argument(
        "--fold-models",
        type=Path,
        default=None,
        help="CV: keep each fold's adapted network here (fold<k>.safetensors; what they were "
        "trained for in fold_models.json); a fold whose network is already there is loaded, "
        "not trained again, and a folder made for other folds or settings is refused",
    )
    p.add_argument(
        "--n-s-only",
        action="store_true",
        help="--out: write the checkpoint that keeps the base network's V, F and Q calls and "
        "lets the adapted network re-split N and S (ecg_core.classifier.resplit_n_s; the CV "
        "scores this combination as well, as n_s_only_*)",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="adapt on all records, write a checkpoint here"
    )
    p.add_argument(
        "--mitdb-dir",
        default=str(REPO_ROOT.parent / "shared" / "data" / "mitdb"),
        help="score the adapted checkpoint on MIT-BIH DS2 too ('' to skip)",
    )
    return p.parse_args(argv)


def beat_sequences(
    data_dir: Path, records: list[str], causal: bool, leads: int, lead=None, **kwargs
) -> BeatDataset:
    """The records' beats on one lead, or (``leads=2``) on their other lead as well, each
    lead its own beat sequence ``"<record>:other"`` (what :func:`adapt_model` trains on)."""
    if leads == 2 and lead is not None:
        raise SystemExit("--lead picks one lead: give it with --leads 1")
    if leads == 1:
        return build_beat_dataset(data_dir, records, causal=causal, lead=lead, **kwargs)
    return both_leads(data_dir, records, causal=causal, **kwargs)


def short_e2e(scores: dict) -> str:
    return " | ".join(
        f"{c} Se {scores[c]['se']:5.1f} +P {scores[c]['ppv']:5.1f} F1 {scores[c]['f1']:5.2f}"
        for c in ("V", "S")
    )


def settings_from(args: argparse.Namespace) -> AdaptSettings:
    """The command line's AdaptSettings; a contradiction in them is a one-line error."""
    methods = tuple(m.strip() for m in args.method.split(",") if m.strip())
    settings = AdaptSettings(
        methods=methods,
        freeze=args.freeze,
        labelled_beats_per_record=args.labelled_beats,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        pseudo_threshold=args.pseudo_threshold,
        source_fraction=args.source_fraction,
        augment=not args.no_augment,
        seed=args.seed,
        device=args.device,
    )
    try:
        return settings.validate()
    except ValueError as err:
        raise SystemExit(f"adapt.py: {err}") from None


def scores(labels: np.ndarray, probs: np.ndarray, database: str, records, mode: str) -> dict:
    """evaluate.py's JSON shape (DESIGN.md §4) for reference beats."""
    out = classification_metrics(labels, probs.argmax(axis=1))
    return {
        "database": database,
        "records": list(records),
        "beats": "reference",
        "mode": mode,
        **out,
    }


def short(result: dict) -> str:
    c = result["classes"]

    def pct(x):
        return "  -  " if x is None else f"{100 * x:5.1f}"

    return (
        f"V Se {pct(c['V']['se'])} +P {pct(c['V']['ppv'])} | "
        f"S Se {pct(c['S']['se'])} +P {pct(c['S']['ppv'])} | acc {pct(result['accuracy'])}"
    )


def progress_bar(desc: str):
    bar = tqdm(desc=desc, leave=False)

    def update(step: int, total: int, loss: float) -> None:
        bar.total = total
        bar.n = step
        bar.set_postfix(loss=f"{loss:.3f}")
        if step == total:
            bar.close()

    return update


def save_weights(model: torch.nn.Module, path: Path) -> None:
    save_file({k: t.contiguous() for k, t in model.state_dict().items()}, str(path))


def write_networks(out: Path, base: HybridBeatNet, adapted: HybridBeatNet, n_s_only: bool) -> None:
    """config.json and fp32 + int8 weights: of the adapted network, or (``n_s_only``) of the
    base network with the adapted one as its N/S network (``ns_model*.safetensors``)."""
    replace(base.cfg, ns_network=n_s_only).to_json(out / "config.json")
    if n_s_only:
        networks = [(base, FP32_WEIGHTS, INT8_WEIGHTS), (adapted, NS_FP32_WEIGHTS, NS_INT8_WEIGHTS)]
    else:
        networks = [(adapted, FP32_WEIGHTS, INT8_WEIGHTS)]
    for model, fp32_name, int8_name in networks:
        save_weights(model, out / fp32_name)
        save_int8(model, out / int8_name)


class FoldNetworks:
    """``--fold-models``: each CV fold's adapted network (``fold<k>.safetensors``) in a folder
    whose ``fold_models.json`` records what they were trained for (folds and settings); a
    folder made for anything else is refused rather than scored."""

    def __init__(self, folder: Path, made_for: dict):
        self.folder = folder
        self.made_for = json.loads(json.dumps(made_for))  # as it reads back from JSON
        record = folder / "fold_models.json"
        if record.is_file() and json.loads(record.read_text()) != self.made_for:
            raise SystemExit(
                f"{folder} holds fold networks of other folds or settings; give another folder"
            )

    def path(self, k: int) -> Path:
        return self.folder / f"fold{k}.safetensors"

    def load(self, k: int, cfg) -> HybridBeatNet | None:
        if not self.path(k).is_file():
            return None
        return load_network(self.path(k), cfg)

    def save(self, k: int, model: HybridBeatNet) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "fold_models.json").write_text(json.dumps(self.made_for, indent=1) + "\n")
        save_weights(model, self.path(k))


@dataclass
class Inputs:
    """What a cross-validation and an adaptation both start from."""

    base: HybridBeatNet  # the network adapted
    checkpoint_folder: Path
    data_dir: Path
    records: list[str]
    data: BeatDataset  # the target records' beats
    noise: np.ndarray | None  # NSTDB noise for augmentation
    source: BeatDataset | None  # labelled source beats mixed into fine-tuning batches

    @property
    def database(self) -> str:
        return self.data_dir.name


def load_inputs(args: argparse.Namespace, settings: AdaptSettings) -> Inputs:
    folder = resolve_checkpoint(args.checkpoint)
    base = load_model(folder).model
    cfg = base.cfg
    data_dir = Path(args.data_dir)
    records = resolve_record_list(args.records, [p.stem for p in data_dir.glob("*.hea")])
    data = beat_sequences(
        data_dir,
        records,
        causal=cfg.causal,
        leads=args.leads,
        lead=args.lead,
        annotator=args.annotator,
        positions=args.positions,
    )
    # rr_features may hold more columns than an older model uses (optional last ones)
    data.rr = data.rr[:, : cfg.n_rr]
    noise = None
    if settings.augment and args.noise_dir and Path(args.noise_dir).is_dir():
        noise = load_noise_records(args.noise_dir, causal=cfg.causal)
    source = None
    if settings.source_fraction > 0:
        source_dir = Path(args.source_dir)
        source_records = resolve_record_list(
            args.source_records, [p.stem for p in source_dir.glob("*.hea")]
        )
        source = beat_sequences(source_dir, source_records, causal=cfg.causal, leads=args.leads)
        source.rr = source.rr[:, : cfg.n_rr]
    return Inputs(base, folder, data_dir, records, data, noise, source)


def cross_validate(args: argparse.Namespace, settings: AdaptSettings, inputs: Inputs) -> dict:
    """Adapt on the other folds' records and score each held-out fold, three ways: zero-shot,
    the adapted network alone, and the base network with the adapted one's N/S split."""
    base, data, records, database = inputs.base, inputs.data, inputs.records, inputs.database
    cfg = base.cfg
    folds = record_folds(data, records, args.cv_folds)
    fold_networks = None
    if args.fold_models is not None:
        made_for = {"checkpoint": str(args.checkpoint), "database": database, "folds": folds}
        made_for |= {"positions": args.positions, "leads": args.leads}
        fold_networks = FoldNetworks(args.fold_models, made_for | {"settings": settings.to_dict()})
    beats0, labels0, probs0 = predict_records(base, data, records)
    zero_shot = scores(labels0, probs0, database, records, cfg.mode)
    zero_shot_probs = np.zeros((len(data.labels), probs0.shape[1]), np.float32)
    zero_shot_probs[beats0] = probs0  # by beat index, for each fold's records
    print(f"zero-shot, all records     : {short(zero_shot)}")
    paths = [inputs.data_dir / r for r in records]
    zero_shot_e2e = percent_scores(product_totals(load_model(inputs.checkpoint_folder), paths))
    print(f"zero-shot, end to end      : {short_e2e(zero_shot_e2e)}")
    held_labels, held_probs, held_n_s_probs, per_fold = [], [], [], []
    held_counts, held_n_s_counts = [], []
    for k, test in enumerate(folds):
        adapted = None if fold_networks is None else fold_networks.load(k, cfg)
        if adapted is not None:
            summary = {"network": f"{fold_networks.path(k)}: loaded, not trained in this run"}
            print(f"fold {k + 1}: the adapted network in {fold_networks.path(k)}")
        else:
            train = [r for r in records if r not in test]
            progress = progress_bar(f"fold {k + 1}")
            adapted, summary = adapt_model(
                base, data, train, settings, inputs.noise, progress=progress, source=inputs.source
            )
            if fold_networks is not None:
                fold_networks.save(k, adapted)
        beats, labels, probs = predict_records(adapted, data, test)
        probs_zs = zero_shot_probs[beats]
        test_paths = [inputs.data_dir / r for r in test]
        counts = product_totals(BeatClassifier(adapted, f"adapted, fold {k + 1}"), test_paths)
        n_s_only_model = BeatClassifier(base, f"N/S adapted, fold {k + 1}", ns_model=adapted)
        n_s_counts = product_totals(n_s_only_model, test_paths)
        held_counts.append(counts)
        held_n_s_counts.append(n_s_counts)
        fold = {
            "test_records": test,
            "adapted": scores(labels, probs, database, test, cfg.mode),
            "zero_shot": scores(labels, probs_zs, database, test, cfg.mode),
            "adapted_end_to_end": percent_scores(counts),
            "n_s_only_end_to_end": percent_scores(n_s_counts),
            **{k2: v for k2, v in summary.items() if k2 not in ("losses", "settings")},
        }
        per_fold.append(fold)
        held_labels.append(labels)
        held_probs.append(probs)
        held_n_s_probs.append(resplit_n_s(probs_zs, probs))
        print(
            f"fold {k + 1} {','.join(test)}: adapted {short(fold['adapted'])} "
            f"(zero-shot {short(fold['zero_shot'])})",
            flush=True,
        )
    labels = np.concatenate(held_labels)
    adapted_all = scores(labels, np.concatenate(held_probs), database, records, cfg.mode)
    print(f"adapted, held-out records  : {short(adapted_all)}")
    adapted_e2e = percent_scores(sum(held_counts))
    print(f"adapted, held-out, end to end: {short_e2e(adapted_e2e)}")
    n_s_only = scores(labels, np.concatenate(held_n_s_probs), database, records, cfg.mode)
    n_s_only_e2e = percent_scores(sum(held_n_s_counts))
    print(f"N/S only, held-out, end to end: {short_e2e(n_s_only_e2e)}")
    return {
        "checkpoint": str(args.checkpoint),
        "database": database,
        "records": records,
        "folds": folds,
        "settings": settings.to_dict(),
        "positions": args.positions,
        "leads": args.leads,
        "zero_shot": zero_shot,
        "adapted_heldout": adapted_all,
        # The records analysed as the app does (percent): the figure that matters.
        "zero_shot_end_to_end": zero_shot_e2e,
        "adapted_heldout_end_to_end": adapted_e2e,
        # The base network's V, F and Q with the adapted one's N/S split (--n-s-only).
        "n_s_only_heldout": n_s_only,
        "n_s_only_heldout_end_to_end": n_s_only_e2e,
        "per_fold": per_fold,
    }


def cv_estimate(args: argparse.Namespace, settings: AdaptSettings) -> dict | None:
    """The cross-validated scores of the checkpoint being written, from --cv-json (None when
    there is none): checked to come from the same settings, in the form being written."""
    if args.cv_json is None or not args.cv_json.is_file():
        return None
    cv = json.loads(args.cv_json.read_text())
    same_data = (cv.get("positions"), cv.get("leads", 1)) == (args.positions, args.leads)
    if cv.get("settings") != json.loads(json.dumps(settings.to_dict())) or not same_data:
        raise SystemExit(f"{args.cv_json} was run with other settings than these; re-run the CV")
    # What this checkpoint labels with: the adapted network, or the base one re-split by it.
    form = "n_s_only" if args.n_s_only else "adapted"
    if f"{form}_heldout" not in cv:
        raise SystemExit(f"{args.cv_json} has no scores of the N/S-only form; re-run the CV")
    return {
        "cv_json": str(args.cv_json),
        "folds": cv["folds"],
        "base_zero_shot": cv["zero_shot"],
        "adapted_heldout": cv[f"{form}_heldout"],
        "base_zero_shot_end_to_end": cv.get("zero_shot_end_to_end"),
        "adapted_heldout_end_to_end": cv.get(f"{form}_heldout_end_to_end"),
    }


def adapt_and_write(args: argparse.Namespace, settings: AdaptSettings, inputs: Inputs) -> None:
    """Adapt on every record; write the checkpoint with its metrics.json and adaptation.json."""
    base, cfg = inputs.base, inputs.base.cfg
    cv_summary = cv_estimate(args, settings)  # refused before training, not after
    adapted, summary = adapt_model(
        base,
        inputs.data,
        inputs.records,
        settings,
        inputs.noise,
        progress=progress_bar("adapt"),
        source=inputs.source,
    )
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_networks(out, base, adapted, n_s_only=args.n_s_only)
    metrics: dict = {}
    if cv_summary is not None:
        # Only this checkpoint's own scores go in metrics.json (and so in the card's
        # model-index); the base model's zero-shot scores, for comparison, and the end-to-end
        # figures (percent, S and V only, not evaluate.py-shaped) in adaptation.json.
        metrics[f"{inputs.database}_cv_heldout"] = cv_summary["adapted_heldout"]
    if args.mitdb_dir and Path(args.mitdb_dir).is_dir():
        ds2 = build_beat_dataset(args.mitdb_dir, list(DS2), causal=cfg.causal)
        ds2.rr = ds2.rr[:, : cfg.n_rr]
        _, labels, probs = predict_records(adapted, ds2, list(DS2))
        if args.n_s_only:
            probs = resplit_n_s(predict_records(base, ds2, list(DS2))[2], probs)
        metrics["mitdb_DS2_reference"] = scores(labels, probs, "mitdb", "DS2", cfg.mode)
        metrics["mitdb_DS2_reference"]["records"] = "DS2"
        print(f"adapted on MIT-BIH DS2     : {short(metrics['mitdb_DS2_reference'])}")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    losses = summary.get("losses")
    record = {
        "base_checkpoint": str(args.checkpoint),
        "database": inputs.database,
        "records": inputs.records,
        "n_s_only": args.n_s_only,
        **{k: v for k, v in summary.items() if k != "losses"},
        "final_loss": losses[-1] if losses else None,
        "cross_validation": cv_summary,
    }
    (out / "adaptation.json").write_text(json.dumps(record, indent=1) + "\n")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.cv_folds and args.cv_json is None:
        raise SystemExit("--cv-folds needs --cv-json FILE")
    if not args.cv_folds and args.out is None:
        raise SystemExit("give --cv-folds K --cv-json FILE (cross-validate) or --out DIR (adapt)")
    torch.set_num_threads(args.threads)
    settings = settings_from(args)
    start = time.perf_counter()
    inputs = load_inputs(args, settings)
    print(
        f"{inputs.checkpoint_folder.name} ({inputs.base.cfg.mode}) -> {inputs.database}: "
        f"{len(inputs.records)} records, {len(inputs.data)} beats; "
        f"methods {','.join(settings.methods)}"
    )
    if args.cv_folds:
        result = cross_validate(args, settings, inputs)
        result["seconds"] = time.perf_counter() - start
        args.cv_json.parent.mkdir(parents=True, exist_ok=True)
        args.cv_json.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.cv_json} ({result['seconds'] / 60:.1f} min)")
    else:
        adapt_and_write(args, settings, inputs)
        print(f"wrote {args.out} ({(time.perf_counter() - start) / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except ECGInputError as err:  # a record that cannot be read: one line, not a traceback
        raise SystemExit(f"adapt.py: {err}") from None
