"""The HTML report: one self-contained page with every section and inlined plots."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex

from generators import trends
from generators.dataset import read_stage
from generators.report import DIRECTION_COLOURS, plot_window, write_report
from test_export import small_dataset


@pytest.fixture(scope="module")
def page(prefect_server, tmp_path_factory) -> tuple[Path, str]:
    root = small_dataset(tmp_path_factory)
    steps = []
    path = write_report(root, progress=steps.append)
    assert steps[0] == "reading" and steps[-1] == "writing"
    return root, path.read_text()


def test_page_is_self_contained(page):
    _, html = page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) > 10
    for data in images[:5]:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"


def test_page_has_every_section(page):
    root, html = page
    for heading in ("Validation", "Distributions", "Stage 1 examples", "Stage 2 examples"):
        assert f"<h2>{heading}" in html
    for activity in set(read_stage(root, 1, columns=["activity"])["activity"].to_pylist()):
        assert f"<h3>{activity} " in html
    assert "Pass rate" in html
    validation = html.split("<h2>Validation")[1].split("<h2>")[0]
    assert "dataset check" in validation and "Great Expectations suites" in validation


def test_plot_draws_one_line_per_detected_segment(page):
    root, _ = page
    for row in read_stage(root, 1).slice(0, 5).to_pylist():
        fig = plot_window(row)
        signal, *segments = fig.axes[0].get_lines()
        plt.close(fig)
        expected = trends.detect(np.asarray(row["series"][0], np.float64), row["sample_rate_hz"],
                                 row["trend_method"], **json.loads(row["trend_params"]))
        assert len(segments) == len(expected)
        for line, seg in zip(segments, expected):
            assert to_hex(line.get_color()) == DIRECTION_COLOURS[seg.direction]
            np.testing.assert_allclose(line.get_xdata(), [seg.start_s, seg.end_s])
        np.testing.assert_allclose(signal.get_ydata(), row["series"][0], rtol=1e-6)


def test_cli_report_writes_the_page(page, tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    root, _ = page
    result = CliRunner().invoke(app, ["report", str(root), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.html").read_text().startswith("<!doctype html>")
