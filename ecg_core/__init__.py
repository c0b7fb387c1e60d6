"""ecg_core: beat-by-beat ECG arrhythmia analysis (no UI code here; the app imports this).

Entry points (DESIGN.md §4)::

    from ecg_core import read_record, detect_qrs, analyze, load_model
"""

from ecg_core.aami import AAMI_CLASSES, DS1, DS2
from ecg_core.classifier import BeatClassifier, BeatPredictions, load_model
from ecg_core.errors import ECGInputError
from ecg_core.flutter import detect_vf_spans
from ecg_core.hub import load_model_with_fallback
from ecg_core.io import read_record
from ecg_core.pipeline import Report, analyze
from ecg_core.preprocessing import CANONICAL_FS
from ecg_core.qrs import detect_qrs, detect_qrs_and_vf
from ecg_core.record import Annotations, Record
from ecg_core.synthetic import SyntheticSettings, synthesize

__all__ = [
    "AAMI_CLASSES",
    "BeatClassifier",
    "BeatPredictions",
    "CANONICAL_FS",
    "DS1",
    "DS2",
    "Annotations",
    "ECGInputError",
    "Record",
    "Report",
    "SyntheticSettings",
    "analyze",
    "detect_qrs",
    "detect_qrs_and_vf",
    "detect_vf_spans",
    "load_model",
    "load_model_with_fallback",
    "read_record",
    "synthesize",
]
