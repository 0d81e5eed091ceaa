"""Built-in reference model: learn a dataset's text from its signal, beside a shuffled control."""

from validation.reference_model.run import AlignmentReport, verify
from validation.reference_model.settings import PRESETS, VerifySettings, settings_for

__all__ = ["AlignmentReport", "PRESETS", "VerifySettings", "settings_for", "verify"]
