"""The registry derives schemas from signatures; the CLI exposes the catalogue and single calls."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import jsonschema
import pytest
from typer.testing import CliRunner

from cluster.cli import app
from toolkit.registry import CATEGORIES, all_tools, openai_tools, select_tools

PAPER_TOOLS = [
    "simplify_expression", "expand_expression", "factor_expression", "solve_linear_system",
    "solve_nonlinear_system", "solve_univariate_inequality", "reduce_inequalities",
    "polynomial_representation", "polynomial_degree", "polynomial_coefficients", "solve_equation",
    "find_roots", "differentiate", "integrate", "definite_integral", "series_expansion",
    "compute_limit", "find_critical_points", "check_continuity", "compute_determinant",
    "compute_inverse", "compute_eigenvalues", "compute_eigenvectors", "compute_nullspace",
    "compute_rank", "compute_inner_product", "matrix_multiplication",
]


def test_catalogue_is_broad():
    tools = all_tools()
    assert len(tools) >= 45
    assert set(PAPER_TOOLS) <= set(tools)
    assert {t.category for t in tools.values()} >= set(CATEGORIES)


@pytest.mark.parametrize("name", sorted(all_tools()))
def test_schema_is_valid_and_documented(name):
    tool = all_tools()[name]
    schema = tool.openai_schema()
    assert schema["type"] == "function" and schema["function"]["name"] == name
    assert len(tool.description) > 10
    parameters = schema["function"]["parameters"]
    jsonschema.Draft202012Validator.check_schema(parameters)
    for prop in parameters["properties"].values():
        assert prop["description"]
    assert set(parameters["required"]) <= set(parameters["properties"])


def test_subsets_by_category_and_name():
    calculus = openai_tools(categories=["calculus"])
    assert calculus and all(all_tools()[t["function"]["name"]].category == "calculus" for t in calculus)
    named = openai_tools(names=["factor_expression", "differentiate"])
    assert [t["function"]["name"] for t in named] == ["factor_expression", "differentiate"]
    mixed = select_tools(categories=["geometry"], names=["factor_expression"])
    assert {t.category for t in mixed} == {"geometry", "algebra"}
    with pytest.raises(ValueError):
        select_tools(categories=["astrology"])
    with pytest.raises(ValueError):
        select_tools(names=["no_such_tool"])


def test_cli_tools_json():
    result = CliRunner().invoke(app, ["tools", "--json"])
    assert result.exit_code == 0
    entries = json.loads(result.stdout)
    assert len(entries) == len(all_tools())
    assert set(entries[0]) == {"name", "category", "description", "parameters"}


def test_cli_tools_table_and_category_filter():
    result = CliRunner().invoke(app, ["tools", "-c", "geometry"])
    n = len(select_tools(categories=["geometry"]))
    assert result.exit_code == 0 and f"{n} tools" in result.stdout and "algebra" not in result.stdout
    assert CliRunner().invoke(app, ["tools", "-c", "astrology"]).exit_code != 0


def test_cli_call_runs_through_the_sandbox():
    exe = shutil.which("tooldistill") or str(__import__("pathlib").Path(sys.executable).with_name("tooldistill"))
    done = subprocess.run([exe, "call", "factor_expression", '{"expression": "x^2 - 1"}'], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"] == "(x - 1)*(x + 1)"
    done = subprocess.run([exe, "call", "factor_expression", '{"expression": "open(1)"}'], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["type"] == "forbidden"
