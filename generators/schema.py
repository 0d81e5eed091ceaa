"""The explicit Arrow schemas of the written tables (one for QA rows, one for rejects; each
with its label columns nullable for a dataset without labels)."""

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

#: The columns that name a window's activity label.
LABEL_COLUMNS = ("activity", "activity_id")


def unlabelled(schema: pa.Schema) -> pa.Schema:
    """``schema`` with its ``LABEL_COLUMNS`` nullable: the schema of a dataset built from
    recordings without activity labels (stage 1 only), whose rows hold null there.

    A labelled dataset keeps ``QA_SCHEMA`` (non-nullable labels): the nullability of a
    field is written into every Parquet part, so one shared nullable schema would change
    the bytes of every labelled dataset.
    """
    for name in LABEL_COLUMNS:
        i = schema.get_field_index(name)
        schema = schema.set(i, schema.field(i).with_nullable(True))
    return schema


UNLABELLED_QA_SCHEMA = unlabelled(QA_SCHEMA)
UNLABELLED_REJECTED_SCHEMA = unlabelled(REJECTED_SCHEMA)


def schemas(labelled: bool) -> tuple[pa.Schema, pa.Schema]:
    """The (QA rows, rejected rows) schemas of a dataset with or without activity labels."""
    return ((QA_SCHEMA, REJECTED_SCHEMA) if labelled
            else (UNLABELLED_QA_SCHEMA, UNLABELLED_REJECTED_SCHEMA))


def is_labelled(schema: pa.Schema) -> bool:
    """Whether a table or part with this schema belongs to a labelled dataset (its
    ``activity`` is not nullable, or it has no such column)."""
    return "activity" not in schema.names or not schema.field("activity").nullable
