"""Domain adaptation on real svdb-adapt beats: what each method may read and change.

The model is a freshly initialised network (seeded) so that the tests do not depend on the
shipped checkpoints; what is tested is the adaptation machinery, not accuracy (the
cross-validated figures come from scripts/adapt.py --cv-folds, see the README).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from ecg_core.adaptation import (
    SOURCE_SUFFIX,
    AdaptSettings,
    adapt_batchnorm,
    adapt_model,
    labelled_subset,
    predict_records,
    record_beats,
    record_folds,
    record_views,
)
from ecg_core.classifier import BeatClassifier, load_model
from ecg_core.dataset import OTHER_LEAD, build_beat_dataset, concat_datasets
from ecg_core.errors import ECGInputError
from ecg_core.hub import build_upload_folder, validate_checkpoint_dir
from ecg_core.models import HybridBeatNet, diagnostic_config
from ecg_core.quantize import save_int8

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import adapt as adapt_script  # noqa: E402

RECORDS = ["800", "865"]  # 865: 1818 S beats; 800: mostly N


@pytest.fixture(scope="module")
def svdb_beats(svdb_dir):
    return build_beat_dataset(svdb_dir, RECORDS, causal=False)


@pytest.fixture()
def model() -> HybridBeatNet:
    torch.manual_seed(0)
    return HybridBeatNet(diagnostic_config()).eval()


def _state(m: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


def test_record_folds_partition_and_spread_ectopy(svdb_dir) -> None:
    records = sorted((svdb_dir / "RECORDS").read_text().split())
    data = build_beat_dataset(svdb_dir, records, causal=False)
    folds = record_folds(data, records, 5)
    flat = [r for f in folds for r in f]
    assert sorted(flat) == records and len(set(flat)) == len(records)
    ectopic = [int(np.isin(data.labels[record_beats(data, f)], [1, 2]).sum()) for f in folds]
    assert min(ectopic) > 0.5 * max(ectopic), ectopic  # no fold without S/V beats
    assert record_folds(data, records, 5) == folds  # deterministic
    with pytest.raises(ValueError):
        record_folds(data, records, 1)


def test_adabn_sets_target_statistics_without_reading_labels(svdb_dir, svdb_beats, model) -> None:
    first_bn = model.encoder.stem[1]
    assert torch.allclose(first_bn.running_mean, torch.zeros_like(first_bn.running_mean))
    n = adapt_batchnorm(model, svdb_beats, RECORDS)
    assert n == len(svdb_beats)
    # The first BatchNorm now holds the mean of the first conv's output over all target beats.
    from ecg_core.features import morphology
    from ecg_core.training import core_windows

    idx = np.arange(len(svdb_beats))
    morph = morphology(core_windows(svdb_beats, idx), svdb_beats.templates, svdb_beats.scales)
    with torch.no_grad():
        conv_out = model.encoder.stem[0](torch.from_numpy(morph))
    expected = conv_out.mean(dim=(0, 2))
    assert torch.allclose(first_bn.running_mean, expected, atol=1e-4)

    torch.manual_seed(0)
    other = HybridBeatNet(diagnostic_config()).eval()
    scrambled = build_beat_dataset(svdb_dir, RECORDS, causal=False)
    scrambled.labels = np.random.default_rng(1).integers(0, 5, size=len(scrambled))
    adapt_batchnorm(other, scrambled, RECORDS)
    assert all(
        torch.equal(a, b)
        for a, b in zip(_state(model).values(), _state(other).values(), strict=True)
    )


def test_self_training_never_reads_reference_labels(svdb_dir, svdb_beats, model) -> None:
    settings = AdaptSettings(
        methods=("adabn", "self-train"), steps=3, batch_size=16, augment=False, pseudo_threshold=0.3
    )
    a, summary_a = adapt_model(model, svdb_beats, RECORDS, settings)
    scrambled = build_beat_dataset(svdb_dir, RECORDS, causal=False)
    scrambled.labels = np.zeros_like(scrambled.labels)
    b, summary_b = adapt_model(model, scrambled, RECORDS, settings)
    assert sum(summary_a["pseudo_labels"].values()) > 0
    assert summary_a["pseudo_labels"] == summary_b["pseudo_labels"]
    assert all(
        torch.equal(x, y) for x, y in zip(_state(a).values(), _state(b).values(), strict=True)
    )
    assert not torch.equal(_state(a)["head.1.weight"], _state(model)["head.1.weight"])  # it trained


@pytest.mark.parametrize("freeze", ["encoder", "cnn", "none"])
def test_supervised_fine_tuning_respects_freeze(svdb_beats, model, freeze) -> None:
    before = _state(model)
    settings = AdaptSettings(
        methods=("supervised",),
        freeze=freeze,
        steps=3,
        batch_size=16,
        labelled_beats_per_record=50,
        augment=False,
    )
    adapted, summary = adapt_model(model, svdb_beats, RECORDS, settings)
    after = _state(adapted)
    assert sum(summary["labelled_beats"].values()) == 100
    assert _state(model).keys() == before.keys()
    assert all(torch.equal(before[k], _state(model)[k]) for k in before)  # original untouched
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert "head.1.weight" in changed
    assert ("encoder.stem.0.weight" in changed) == (freeze == "none")
    assert ("encoder.project.1.weight" in changed) == (freeze in ("none", "cnn"))
    assert not any("running_" in k for k in changed)  # BatchNorm statistics stay put


def test_labelled_subset_caps_each_record(svdb_beats) -> None:
    rng = np.random.default_rng(0)
    chosen = labelled_subset(svdb_beats, RECORDS, 40, rng)
    assert chosen.size == 80 and np.all(np.diff(chosen) > 0)
    assert np.bincount(svdb_beats.record_ids[chosen]).tolist() == [40, 40]
    assert labelled_subset(svdb_beats, RECORDS, 0, rng).size == len(svdb_beats)


def test_labelled_subset_takes_the_same_beats_in_both_leads(svdb_dir, svdb_beats) -> None:
    other = build_beat_dataset(svdb_dir, RECORDS, causal=False, lead=OTHER_LEAD)
    both = concat_datasets([svdb_beats, other], ["", ":other"])
    assert record_views(both, RECORDS) == ["800", "800:other", "865", "865:other"]
    chosen = labelled_subset(both, RECORDS, 40, np.random.default_rng(0))
    assert np.bincount(both.record_ids[chosen]).tolist() == [40, 40, 40, 40]
    first, second = chosen[chosen < len(svdb_beats)], chosen[chosen >= len(svdb_beats)]
    assert np.array_equal(second - len(svdb_beats), first)  # the same annotated beats
    assert not np.array_equal(both.windows[first], both.windows[second])  # seen in two leads


@pytest.mark.slow  # ~35 s on the shared 2-core machine: CV over 2 records, then a full adapt
def test_adapt_script_writes_a_loadable_checkpoint(svdb_dir, tmp_path, model) -> None:
    base = tmp_path / "base"
    base.mkdir()
    model.cfg.to_json(base / "config.json")
    save_file(model.state_dict(), str(base / "model.safetensors"))
    save_int8(model, base / "model_int8.safetensors")
    out = tmp_path / "adapted"
    common = [
        "--checkpoint",
        str(base),
        "--data-dir",
        str(svdb_dir),
        "--records",
        ",".join(RECORDS),
        "--method",
        "adabn,supervised",
        "--batch-size",
        "8",
        "--labelled-beats",
        "20",
        "--noise-dir",
        "",
        "--mitdb-dir",
        "",
        "--source-fraction",
        "0.3",
        "--source-dir",
        str(svdb_dir),
        "--source-records",
        "877",
    ]
    cv_json = tmp_path / "cv.json"
    cv_args = ["--steps", "2", "--cv-folds", "2", "--fold-models", str(tmp_path / "folds")]
    assert adapt_script.main([*common, *cv_args, "--cv-json", str(cv_json)]) == 0
    cv = json.loads(cv_json.read_text())
    # Scored again from the kept fold networks, without training: the same figures.
    assert adapt_script.main([*common, *cv_args, "--cv-json", str(tmp_path / "again.json")]) == 0
    again = json.loads((tmp_path / "again.json").read_text())
    for key in ("adapted_heldout", "adapted_heldout_end_to_end", "n_s_only_heldout_end_to_end"):
        assert again[key] == cv[key], key
    assert all("loaded, not trained" in fold["network"] for fold in again["per_fold"])
    with pytest.raises(SystemExit, match="other folds or settings"):  # not these networks
        adapt_script.main([*common, *cv_args, "--seed", "1", "--cv-json", str(tmp_path / "x.json")])
    # The N/S-only combination keeps the base network's V, F and Q calls beat for beat.
    for c in "VFQ":
        for score in ("se", "ppv"):
            assert (
                cv["n_s_only_heldout"]["classes"][c][score] == cv["zero_shot"]["classes"][c][score]
            )
    assert sorted(r for f in cv["folds"] for r in f) == RECORDS
    n_beats = sum(cv["adapted_heldout"]["classes"][c]["n"] for c in "NSVFQ")
    assert n_beats == sum(cv["zero_shot"]["classes"][c]["n"] for c in "NSVFQ") > 4000
    # End to end, every held-out record analysed once: all annotated S and V beats counted.
    assert cv["leads"] == 2
    for c in "SV":
        n_annotated = cv["zero_shot"]["classes"][c]["n"]
        assert cv["zero_shot_end_to_end"][c]["n"] == n_annotated
        assert cv["adapted_heldout_end_to_end"][c]["n"] == n_annotated

    assert (
        adapt_script.main([*common, "--steps", "2", "--cv-json", str(cv_json), "--out", str(out)])
        == 0
    )
    validate_checkpoint_dir(out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["svdb-adapt_cv_heldout"] == cv["adapted_heldout"]
    adaptation = json.loads((out / "adaptation.json").read_text())
    assert adaptation["records"] == RECORDS
    summary = adaptation["cross_validation"]
    assert summary["adapted_heldout_end_to_end"] == cv["adapted_heldout_end_to_end"]
    classifier = load_model(out)
    data = build_beat_dataset(svdb_dir, RECORDS[:1], causal=False)
    _, _, probs = predict_records(classifier.model, data, RECORDS[:1])
    assert probs.shape == (len(data), 5) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert load_model(out, quantized=True).model is not None
    card_folder = build_upload_folder(out, tmp_path / "upload", "someone/ecg-svdb")
    assert (card_folder / "adaptation.json").is_file()

    # --n-s-only: the base network's weights, the adapted one as its N/S network.
    out_ns = tmp_path / "adapted_n_s"
    ns_args = ["--steps", "2", "--n-s-only", "--cv-json", str(cv_json), "--out", str(out_ns)]
    assert adapt_script.main([*common, *ns_args]) == 0
    validate_checkpoint_dir(out_ns)
    assert json.loads((out_ns / "config.json").read_text())["ns_network"] is True
    metrics = json.loads((out_ns / "metrics.json").read_text())
    assert metrics["svdb-adapt_cv_heldout"] == cv["n_s_only_heldout"]
    combined = load_model(out_ns)
    assert combined.ns_model is not None
    for name, tensor in combined.model.state_dict().items():
        assert torch.equal(tensor, model.state_dict()[name]), name
    assert load_model(out_ns, quantized=True).ns_model is not None
    upload = build_upload_folder(out_ns, tmp_path / "up_ns", "a/b")
    assert (upload / "ns_model.safetensors").is_file()
    assert "re-splits each beat's N and S" in (upload / "README.md").read_text()
    (out_ns / "ns_model.safetensors").unlink()
    with pytest.raises(ECGInputError, match="ns_model.safetensors"):
        validate_checkpoint_dir(out_ns)
    with pytest.raises(FileNotFoundError, match="ns_model.safetensors"):
        load_model(out_ns)

    # CV results from other settings must not be passed off as this checkpoint's estimate.
    for other_settings in (["--steps", "3"], ["--steps", "2", "--leads", "1"]):
        with pytest.raises(SystemExit, match="other settings"):
            adapt_script.main(
                [*common, *other_settings, "--cv-json", str(cv_json), "--out", str(tmp_path / "x")]
            )


def test_n_s_network_decides_only_between_n_and_s(svdb_dir) -> None:
    """A base network with an N/S network: every beat keeps the base network's call if it is
    V, F or Q, and otherwise gets the N/S network's choice between N and S."""
    from ecg_core.dataset import read_signal_and_beats

    model = load_model("diagnostic").model
    torch.manual_seed(0)
    other = HybridBeatNet(model.cfg).eval()  # untrained: its N/S split differs from the shipped
    signal, fs, samples, _ = read_signal_and_beats(svdb_dir / "865")
    beats = samples[:1500]
    segment = signal[: beats[-1] + 200]
    base_probs = BeatClassifier(model, "base").network_probabilities(segment, fs, beats)[0]
    other_probs = BeatClassifier(other, "other").network_probabilities(segment, fs, beats)[0]
    combined = BeatClassifier(model, "combined", ns_model=other)
    probs = combined.network_probabilities(segment, fs, beats)[0]
    base, labels = base_probs.argmax(1), probs.argmax(1)
    ectopic = np.isin(base, [2, 3, 4])  # V, F, Q
    assert 0 < ectopic.sum() < len(beats)  # an untrained network: both kinds occur
    assert np.array_equal(labels[ectopic], base[ectopic])
    assert np.array_equal(labels[~ectopic], other_probs[~ectopic, :2].argmax(1))
    assert not np.array_equal(labels[~ectopic], base[~ectopic])  # and it did re-split some
    assert np.allclose(probs.sum(1), 1, atol=1e-5)
    ratio = probs[:, 2:] / base_probs[:, 2:]  # V, F, Q: the base's, normalised again
    assert np.allclose(ratio, ratio[:, :1], rtol=1e-4)


def test_source_mixing_concatenates_and_trains(svdb_dir, svdb_beats, model) -> None:
    source = build_beat_dataset(svdb_dir, ["877"], causal=False)  # stands in for MIT-BIH DS1
    both = concat_datasets([svdb_beats, source], ["", SOURCE_SUFFIX])
    assert len(both) == len(svdb_beats) + len(source)
    assert list(both.records) == [*RECORDS, "877:source"]
    assert np.array_equal(both.labels[len(svdb_beats) :], source.labels)
    assert np.array_equal(both.windows[: len(svdb_beats)], svdb_beats.windows)
    settings = AdaptSettings(
        methods=("supervised",),
        steps=2,
        batch_size=8,
        augment=False,
        labelled_beats_per_record=20,
        source_fraction=0.5,
    )
    adapted, summary = adapt_model(model, svdb_beats, RECORDS, settings, source=source)
    assert len(summary["losses"]) == 2
    with pytest.raises(ValueError, match="source_fraction"):
        AdaptSettings(source_fraction=1.0).validate()
    with pytest.raises(ValueError, match="not a torch device"):
        AdaptSettings(device="gpu0").validate()


def test_shipped_adapted_checkpoint_is_complete_and_loads(mitdb_dir) -> None:
    folder = REPO_ROOT / "checkpoints" / "svdb-adapted"
    if not folder.is_dir():
        pytest.skip("no adapted checkpoint shipped")
    validate_checkpoint_dir(folder)
    info = json.loads((folder / "adaptation.json").read_text())
    metrics = json.loads((folder / "metrics.json").read_text())
    # The CV estimate in metrics.json is the held-out one recorded with the same settings.
    assert metrics["svdb-adapt_cv_heldout"] == info["cross_validation"]["adapted_heldout"]
    assert len(info["cross_validation"]["folds"]) >= 4
    classifier = load_model("svdb-adapted")
    from ecg_core.dataset import read_signal_and_beats

    signal, fs, samples, symbols = read_signal_and_beats(mitdb_dir / "119")
    beats = samples[np.isin(symbols, ["N", "V"])][:300]
    pred = classifier.classify(signal[: beats[-1] + 400], fs, beats)
    truth = np.asarray(symbols)[np.isin(symbols, ["N", "V"])][:300]
    agreement = np.mean(np.where(truth == "V", 2, 0) == pred.labels)
    assert agreement > 0.9, agreement


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--records", "nosuchrecord", "--method", "adabn"], "does not exist"),
        (["--method", "adabn,dance"], "Unknown adaptation method"),
    ],
)
def test_adapt_script_bad_input_is_one_line_not_a_traceback(tmp_path, options, message):
    import subprocess

    (tmp_path / "db").mkdir()
    argv = ["--data-dir", str(tmp_path / "db"), *options, "--out", str(tmp_path / "out")]
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "adapt.py"), *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
