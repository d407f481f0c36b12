"""Geometry tools, called exactly as a model calls them, against answers worked out by hand."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sympy as sp

from tests.toolkit.helpers import error_of, result_of, same
from toolkit.parse import parse_equation
from toolkit.registry import execute, select_tools

TOOLS = {
    "distance", "midpoint", "slope", "line_through_points", "line_intersection",
    "line_circle_intersection", "triangle_area_from_vertices", "triangle_area_from_sides",
    "triangle_angles_from_sides", "circumradius", "inradius", "polygon_area",
    "angle_between_vectors", "vector_projection", "circle_through_points", "point_line_distance",
}


class Eqn(str):
    """An expected equation: equal when lhs - rhs agree (so the form, not only the line, is checked)."""


ERROR = object()  # the call must fail with a tool_error (and a hint)
R2 = "sqrt(2)/2"


def angle(radians: str, degrees: str | int) -> dict[str, Any]:
    return {"radians": radians, "degrees": degrees}


def matches(got: Any, expected: Any) -> bool:
    """Like `same`, but an expected dict need only list the keys it checks, and Eqn compares equations."""
    if isinstance(expected, Eqn):
        a, b = parse_equation(got), parse_equation(str(expected))
        return sp.simplify((a.lhs - a.rhs) - (b.lhs - b.rhs)) == 0
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(k in got and matches(got[k], v) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(got, list) and len(got) == len(expected) and all(map(matches, got, expected))
    if isinstance(expected, str) and not expected[:1].isdigit() and expected.isalpha() and expected.islower():
        return got == expected  # a word: "secant", "clockwise", "right"
    return same(got, expected)


CASES: list[tuple[str, dict[str, Any], Any]] = [
    # distance
    ("distance", {"point1": ["1", "2"], "point2": ["4", "6"]}, "5"),
    ("distance", {"point1": [0, 0, 0], "point2": [1, 2, 2]}, "3"),
    ("distance", {"point1": "(1, 1)", "point2": "(2, 2)"}, "sqrt(2)"),  # points as strings
    ("distance", {"point1": ["a", "0"], "point2": ["0", "0"]}, "Abs(a)"),  # symbolic: real coordinates
    ("distance", {"point1": [3, 3], "point2": [3, 3]}, "0"),  # edge: coincident points
    ("distance", {"point1": [0, 0], "point2": [1, 1, 1]}, ERROR),  # 2-D with 3-D
    # midpoint
    ("midpoint", {"point1": ["1", "2"], "point2": ["4", "7"]}, ["5/2", "9/2"]),
    ("midpoint", {"point1": [0, 0, 0], "point2": [2, -4, 6]}, [1, -2, 3]),
    ("midpoint", {"point1": [1, 2], "point2": [1, 2, 3]}, ERROR),
    # slope
    ("slope", {"point1": ["1", "2"], "point2": ["3", "8"]}, "3"),
    ("slope", {"point1": [0, 0], "point2": [2, -1]}, "-1/2"),
    ("slope", {"point1": [0, 5], "point2": [7, 5]}, "0"),  # edge: horizontal
    ("slope", {"point1": [1, 2], "point2": [1, 8]}, ERROR),  # vertical: x = 1
    ("slope", {"point1": [1, 2], "point2": [1, 2]}, ERROR),  # coincident
    # line_through_points
    (
        "line_through_points",
        {"point1": ["1", "3"], "point2": ["2", "5"]},
        {"equation": Eqn("y = 2x + 1"), "slope": "2", "y_intercept": "1",
         "general_form": Eqn("2x - y + 1 = 0"), "coefficients": {"a": 2, "b": -1, "c": 1}},
    ),
    (
        "line_through_points",
        {"point1": ["1/2", "3"], "point2": ["2", "7/3"]},
        {"equation": Eqn("y = -4x/9 + 29/9"), "slope": "-4/9", "general_form": Eqn("4x + 9y - 29 = 0")},
    ),
    (
        "line_through_points",
        {"point1": [1.5, 2.5], "point2": [3, 4]},  # decimals are read exactly
        {"equation": Eqn("y = x + 1"), "coefficients": {"a": 1, "b": -1, "c": 1}},
    ),
    (
        "line_through_points",  # edge: vertical line
        {"point1": [1, 3], "point2": [1, 5]},
        {"equation": Eqn("x = 1"), "general_form": Eqn("x - 1 = 0"), "coefficients": {"a": 1, "b": 0, "c": -1}},
    ),
    ("line_through_points", {"point1": [2, 2], "point2": [2, 2]}, ERROR),
    # line_intersection
    ("line_intersection", {"line1": "y = 2x + 1", "line2": "x + y = 4"}, [1, 3]),
    ("line_intersection", {"line1": "3x + 4y = 10", "line2": "2x - y - 3 = 0"}, [2, 1]),
    ("line_intersection", {"line1": "x = 3", "line2": "y = -2"}, [3, -2]),  # edge: vertical and horizontal
    ("line_intersection", {"line1": "y = 2x + 1", "line2": "y = 2x + 3"}, ERROR),  # parallel
    ("line_intersection", {"line1": "y = 2x + 1", "line2": "4x - 2y + 2 = 0"}, ERROR),  # same line
    ("line_intersection", {"line1": "y = x^2", "line2": "x = 3"}, ERROR),  # not a line
    # line_circle_intersection
    (
        "line_circle_intersection",
        {"line": "y = x", "center": [0, 0], "radius": "1"},
        {"relation": "secant", "points": [[f"-{R2}", f"-{R2}"], [R2, R2]], "distance_from_center": 0},
    ),
    (
        "line_circle_intersection",
        {"line": "3x + 4y = 0", "center": [0, 0], "radius": "5"},
        {"relation": "secant", "points": [[-4, 3], [4, -3]]},
    ),
    (
        "line_circle_intersection",
        {"line": "x = 3", "center": [1, 2], "radius": "2.5"},
        {"relation": "secant", "points": [[3, "1/2"], [3, "7/2"]], "distance_from_center": 2},
    ),
    (
        "line_circle_intersection",  # edge: tangent
        {"line": "y = 5", "center": [0, 0], "radius": "5"},
        {"relation": "tangent", "points": [[0, 5]], "distance_from_center": 5},
    ),
    (
        "line_circle_intersection",
        {"line": "x + y = 2", "center": [0, 0], "radius": "sqrt(2)"},
        {"relation": "tangent", "points": [[1, 1]]},
    ),
    (
        "line_circle_intersection",  # edge: no intersection
        {"line": "y = 6", "center": [0, 0], "radius": "5"},
        {"relation": "none", "points": [], "distance_from_center": 6},
    ),
    ("line_circle_intersection", {"line": "y = x", "center": [0, 0], "radius": "0"}, ERROR),
    ("line_circle_intersection", {"line": "y = x", "center": [0, 0], "radius": "I"}, ERROR),
    ("line_circle_intersection", {"line": "y = x", "center": [0, 0], "radius": "r"}, ERROR),  # undecidable
    # triangle_area_from_vertices
    ("triangle_area_from_vertices", {"vertex1": [0, 0], "vertex2": [3, 0], "vertex3": [0, 4]}, "6"),
    ("triangle_area_from_vertices", {"vertex1": [1, 1], "vertex2": [4, 5], "vertex3": [-2, 3]}, "9"),
    ("triangle_area_from_vertices", {"vertex1": [1, 0, 0], "vertex2": [0, 1, 0], "vertex3": [0, 0, 1]}, "sqrt(3)/2"),
    ("triangle_area_from_vertices", {"vertex1": [0, 0], "vertex2": [1, 1], "vertex3": [2, 2]}, "0"),  # collinear
    ("triangle_area_from_vertices", {"vertex1": [0, 0], "vertex2": [1, 0], "vertex3": [0, 1, 0]}, ERROR),
    # triangle_area_from_sides
    ("triangle_area_from_sides", {"a": "3", "b": "4", "c": "5"}, "6"),
    ("triangle_area_from_sides", {"a": 13, "b": 14, "c": 15}, "84"),
    ("triangle_area_from_sides", {"a": "1", "b": "1", "c": "1"}, "sqrt(3)/4"),
    ("triangle_area_from_sides", {"a": "sqrt(2)", "b": "sqrt(3)", "c": "sqrt(5)"}, "sqrt(6)/2"),
    ("triangle_area_from_sides", {"a": "s", "b": "s", "c": "s"}, "sqrt(3) s^2/4"),  # symbolic
    ("triangle_area_from_sides", {"a": "1", "b": "2", "c": "5"}, ERROR),  # triangle inequality
    ("triangle_area_from_sides", {"a": "1", "b": "2", "c": "3"}, ERROR),  # degenerate (flat)
    ("triangle_area_from_sides", {"a": "-3", "b": "4", "c": "5"}, ERROR),
    # triangle_angles_from_sides
    (
        "triangle_angles_from_sides",
        {"a": "1", "b": "1", "c": "1"},
        {"A": angle("pi/3", 60), "B": angle("pi/3", 60), "C": angle("pi/3", 60), "classification": "acute"},
    ),
    (
        "triangle_angles_from_sides",
        {"a": "3", "b": "4", "c": "5"},
        {"A": angle("acos(4/5)", "180 acos(4/5)/pi"), "B": angle("acos(3/5)", "180 acos(3/5)/pi"),
         "C": angle("pi/2", 90), "classification": "right"},
    ),
    (
        "triangle_angles_from_sides",
        {"a": "1", "b": "sqrt(3)", "c": "2"},
        {"A": angle("pi/6", 30), "B": angle("pi/3", 60), "C": angle("pi/2", 90)},
    ),
    (
        "triangle_angles_from_sides",
        {"a": "1", "b": "1", "c": "sqrt(3)"},
        {"A": angle("pi/6", 30), "B": angle("pi/6", 30), "C": angle("2pi/3", 120), "classification": "obtuse"},
    ),
    ("triangle_angles_from_sides", {"a": "2", "b": "2", "c": "4"}, ERROR),
    # circumradius
    ("circumradius", {"a": "3", "b": "4", "c": "5"}, "5/2"),
    ("circumradius", {"a": "1", "b": "1", "c": "1"}, "sqrt(3)/3"),
    ("circumradius", {"a": 13, "b": 14, "c": 15}, "65/8"),
    ("circumradius", {"a": "a", "b": "a", "c": "a"}, "a/sqrt(3)"),  # symbolic equilateral
    ("circumradius", {"a": "1", "b": "1", "c": "3"}, ERROR),
    # inradius
    ("inradius", {"a": "3", "b": "4", "c": "5"}, "1"),
    ("inradius", {"a": "5", "b": "12", "c": "13"}, "2"),
    ("inradius", {"a": "1", "b": "1", "c": "1"}, "sqrt(3)/6"),
    ("inradius", {"a": "3k", "b": "4k", "c": "5k"}, "k"),  # symbolic: lengths are positive
    ("inradius", {"a": "0", "b": "1", "c": "1"}, ERROR),
    # polygon_area
    (
        "polygon_area",
        {"vertices": [["0", "0"], ["1", "0"], ["1", "1"], ["0", "1"]]},
        {"area": "1", "orientation": "counterclockwise", "perimeter": "4"},
    ),
    (
        "polygon_area",  # clockwise, as one string, first vertex repeated at the end
        {"vertices": "[(0, 0), (0, 1), (1, 1), (1, 0), (0, 0)]"},
        {"area": "1", "orientation": "clockwise"},
    ),
    (
        "polygon_area",  # concave pentagon
        {"vertices": [[0, 0], [4, 0], [4, 3], [2, 1], [0, 3]]},
        {"area": "8", "orientation": "counterclockwise"},
    ),
    ("polygon_area", {"vertices": [[0, 0], [4, 0], [0, 3]]}, {"area": "6", "perimeter": "12"}),
    ("polygon_area", {"vertices": [[0, 0], [1, 1], [1, 0], [0, 1]]}, ERROR),  # edge: self-intersecting
    ("polygon_area", {"vertices": [[0, 0], [1, 0], [2, 0]]}, ERROR),  # collinear
    ("polygon_area", {"vertices": [[0, 0], [1, 0]]}, ERROR),  # too few vertices
    # angle_between_vectors
    ("angle_between_vectors", {"u": ["1", "0"], "v": ["1", "1"]}, {**angle("pi/4", 45), "cosine": R2}),
    ("angle_between_vectors", {"u": ["1", "sqrt(3)"], "v": ["1", "0"]}, angle("pi/3", 60)),
    ("angle_between_vectors", {"u": [1, 2, 2], "v": [2, 1, -2]}, {**angle("pi/2", 90), "cosine": 0}),
    ("angle_between_vectors", {"u": [1, 0], "v": [-3, 0]}, angle("pi", 180)),  # edge: opposite
    ("angle_between_vectors", {"u": [1, 0], "v": [0, 0]}, ERROR),  # zero vector
    # vector_projection
    (
        "vector_projection",
        {"u": ["3", "4"], "v": ["1", "0"]},
        {"projection": [3, 0], "scalar_projection": "3", "orthogonal_component": [0, 4]},
    ),
    (
        "vector_projection",
        {"u": [1, 2, 3], "v": [1, 1, 1]},
        {"projection": [2, 2, 2], "scalar_projection": "2 sqrt(3)", "orthogonal_component": [-1, 0, 1]},
    ),
    (
        "vector_projection",  # edge: orthogonal vectors
        {"u": [2, 1], "v": [-1, 2]},
        {"projection": [0, 0], "scalar_projection": "0", "orthogonal_component": [2, 1]},
    ),
    ("vector_projection", {"u": [1, 2], "v": [0, 0]}, ERROR),
    # circle_through_points
    (
        "circle_through_points",
        {"point1": [0, 0], "point2": [4, 0], "point3": [0, 3]},
        {"center": [2, "3/2"], "radius": "5/2", "equation": Eqn("(x - 2)^2 + (y - 3/2)^2 = 25/4")},
    ),
    (
        "circle_through_points",
        {"point1": [1, 0], "point2": [-1, 0], "point3": [0, 1]},
        {"center": [0, 0], "radius": "1", "equation": Eqn("x^2 + y^2 = 1"), "general_form": Eqn("x^2 + y^2 - 1 = 0")},
    ),
    (
        "circle_through_points",
        {"point1": [1, 1], "point2": [2, 4], "point3": [5, 3]},
        {"center": [3, 2], "radius": "sqrt(5)"},
    ),
    ("circle_through_points", {"point1": [0, 0], "point2": [1, 1], "point3": [2, 2]}, ERROR),  # collinear
    ("circle_through_points", {"point1": [0, 0], "point2": [0, 0], "point3": [1, 2]}, ERROR),  # coincident
    # point_line_distance
    (
        "point_line_distance",
        {"point": ["0", "0"], "line": "3x + 4y - 5 = 0"},
        {"distance": "1", "foot_of_perpendicular": ["3/5", "4/5"]},
    ),
    (
        "point_line_distance",
        {"point": [0, 0], "line": "y = x + 2"},
        {"distance": "sqrt(2)", "foot_of_perpendicular": [-1, 1]},
    ),
    ("point_line_distance", {"point": [1, 1], "line": "y = 2"}, {"distance": "1", "foot_of_perpendicular": [1, 2]}),
    (
        "point_line_distance",  # edge: the point is on the line
        {"point": [1, 3], "line": "y = 2x + 1"},
        {"distance": "0", "foot_of_perpendicular": [1, 3]},
    ),
    ("point_line_distance", {"point": [1, 2, 3], "line": "y = 2"}, ERROR),  # 3-D point
    ("point_line_distance", {"point": [1, 2], "line": "t = 3"}, ERROR),  # no x or y
]


def _case_id(case: tuple[str, dict[str, Any], Any]) -> str:
    name, args, expected = case
    return f"{name}-{'error' if expected is ERROR else 'ok'}-{args}"


@pytest.mark.parametrize(("name", "args", "expected"), CASES, ids=[_case_id(c) for c in CASES])
def test_known_answers(name, args, expected):
    if expected is ERROR:
        error = error_of(name, args)
        assert error["type"] == "tool_error", error
        assert error["message"] and error["hint"], error
    else:
        got = result_of(name, args)
        assert matches(got, expected), f"{name}({args}) = {got}, expected {expected}"


def test_every_tool_has_cases_including_an_edge_case():
    for tool_name in TOOLS:
        cases = [c for c in CASES if c[0] == tool_name]
        assert len(cases) >= 3, tool_name
        assert any(c[2] is ERROR for c in cases), tool_name


def test_vertical_slope_error_names_the_line():
    error = error_of("slope", {"point1": [4, 1], "point2": [4, -7]})
    assert "x = 4" in error["message"] and "x = 4" in error["hint"]


def test_parallel_and_identical_lines_are_told_apart():
    assert "parallel" in error_of("line_intersection", {"line1": "y = 2x + 1", "line2": "y = 2x + 3"})["message"]
    assert "same line" in error_of("line_intersection", {"line1": "y = x", "line2": "2y = 2x"})["message"]


def test_irrational_angles_come_with_decimal_degrees():
    angles = result_of("triangle_angles_from_sides", {"a": 3, "b": 4, "c": 5})
    assert angles["B"]["degrees_approx"] == pytest.approx(53.130102, abs=1e-6)
    assert "degrees_approx" not in angles["C"]  # 90 is exact already


def test_results_agree_across_tools():
    """The 3-4-5 triangle from its sides, its vertices and its circumscribed circle."""
    assert same(result_of("triangle_area_from_vertices", {"vertex1": [0, 0], "vertex2": [4, 0], "vertex3": [0, 3]}),
                result_of("triangle_area_from_sides", {"a": 3, "b": 4, "c": 5}))
    circle = result_of("circle_through_points", {"point1": [0, 0], "point2": [4, 0], "point3": [0, 3]})
    assert same(circle["radius"], result_of("circumradius", {"a": 3, "b": 4, "c": 5}))
    line = result_of("line_through_points", {"point1": [0, 1], "point2": [2, 5]})
    assert same(result_of("line_intersection", {"line1": line["equation"], "line2": "x = 2"}), [2, 5])
    assert same(result_of("line_intersection", {"line1": line["general_form"], "line2": "y = 1"}), [0, 1])


def test_tools_are_registered_and_documented():
    tools = {t.name: t for t in select_tools(categories=["geometry"])}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description, tool.name
        schema = tool.openai_schema()["function"]["parameters"]
        assert schema["required"], tool.name
        for param in tool.params:
            assert param.description.strip(), (tool.name, param.name)
            assert schema["properties"][param.name]["description"] == param.description


def test_calls_are_fast():
    execute("distance", {"point1": [0, 0], "point2": [1, 1]})  # warm SymPy's caches
    slowest = 0.0
    for name, args, _ in CASES:
        start = time.perf_counter()
        execute(name, args)
        slowest = max(slowest, time.perf_counter() - start)
    assert slowest < 2.0, slowest
