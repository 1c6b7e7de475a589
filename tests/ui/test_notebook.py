"""The walkthrough notebook runs top to bottom in a real Jupyter kernel; any cell error fails."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.ui.conftest import DemoMemory

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "walkthrough.ipynb"
pytestmark = pytest.mark.slow


def test_walkthrough_notebook_runs_top_to_bottom(ui_demo: DemoMemory, mlflow_server: object, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # the session's MLflow server already holds the demo organization (written by the ui_demo fixture)
    monkeypatch.setenv("XMEM_NOTEBOOK_MLFLOW", mlflow_server.url)  # type: ignore[attr-defined]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    nbformat.write(notebook, tmp_path / "walkthrough-executed.ipynb")
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "understood as: search" in text and "second pass: new 0 changed 0" in text
    assert "holds champion" in text
    assert "compared with: as asked" in text and "dataset_swap" in text  # the ranked diff of the two versions
    charts = [o for o in outputs if "vegaEmbed" in str(o.get("data", {}).get("text/html", ""))
              or any(k.startswith("application/vnd.vegalite") for k in o.get("data", {}))]
    assert len(charts) == 2, [list(o.get("data", {})) for o in outputs]
