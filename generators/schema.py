"""The explicit Arrow schemas of the written tables (one for QA rows, one for rejects)."""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = "2"
"""Raised whenever a column is added, renamed or retyped (2: ``channel_axes``)."""

#: One row per question–answer pair. Stage 1 rows hold one channel, stage 2 rows all.
#: ``series`` is channel-major: ``series[c]`` is the window's samples of ``channel_names[c]``.
QA_SCHEMA = pa.schema(
    [
        pa.field("row_id", pa.string(), nullable=False),
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("stage", pa.int8(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("subject", pa.string(), nullable=False),
        pa.field("recording_id", pa.string(), nullable=False),
        pa.field("window_id", pa.string(), nullable=False),
        pa.field("window_start", pa.int64(), nullable=False),
        pa.field("window_end", pa.int64(), nullable=False),
        pa.field("sample_rate_hz", pa.float32(), nullable=False),
        pa.field("activity", pa.string(), nullable=False),
        pa.field("activity_id", pa.int32(), nullable=False),
        pa.field("next_activity", pa.string(), nullable=True),
        pa.field("change_index", pa.int32(), nullable=True),
        pa.field("channel_names", pa.list_(pa.string()), nullable=False),
        pa.field("channel_units", pa.list_(pa.string()), nullable=False),
        pa.field("channel_locations", pa.list_(pa.string()), nullable=False),
        pa.field("channel_modalities", pa.list_(pa.string()), nullable=False),
        pa.field("channel_axes", pa.list_(pa.string()), nullable=False),
        pa.field("series", pa.list_(pa.list_(pa.float32())), nullable=False),
        pa.field("qa_type", pa.string(), nullable=False),
        pa.field("question", pa.string(), nullable=False),
        pa.field("answer", pa.string(), nullable=False),
        pa.field("facts", pa.string(), nullable=False),  # JSON
        pa.field("template_id", pa.string(), nullable=False),
        pa.field("template_version", pa.string(), nullable=False),
        pa.field("trend_method", pa.string(), nullable=False),
        pa.field("trend_params", pa.string(), nullable=False),  # JSON
        pa.field("seed", pa.int64(), nullable=False),
        pa.field("generator_version", pa.string(), nullable=False),
    ]
)

#: Rejected rows: the QA columns plus which check failed and why.
REJECTED_SCHEMA = QA_SCHEMA.append(pa.field("check", pa.string(), nullable=False)).append(
    pa.field("reason", pa.string(), nullable=False)
)
