"""Geometry families: triangles given by their sides, and coordinate geometry.

- `triangle`: sides from a list of Heronian triangles or drawn at random (any valid
  triangle); the area (Heron), circumradius, inradius or an altitude (via the area).
- `coordinate_geometry`: the distance between two lattice points, the area of a lattice
  triangle (shoelace), or the coordinate sum of two lines' intersection, both lines drawn
  through a chosen point.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any

import sympy as sp

from pipeline.latex import ReadError, code, equation_code, from_tex, tex, value
from pipeline.synthetic.base import Call, Draft, Family, Policy, SolvingPlan
from pipeline.synthetic.common import X, Y, answer, arith, int_fields

# --------------------------------------------------------------------------- triangle geometry

_HERONIAN = [(13, 14, 15), (5, 5, 6), (5, 5, 8), (3, 4, 5), (6, 8, 10), (7, 15, 20), (9, 10, 17), (10, 13, 13),
             (5, 12, 13), (8, 15, 17), (11, 13, 20), (4, 13, 15), (9, 12, 15), (12, 16, 20)]


def _triangle_make(rng: random.Random, ask: str) -> Draft:
    if rng.random() < 0.5:
        sides = list(rng.choice(_HERONIAN))
        rng.shuffle(sides)
    else:
        while True:
            sides = [rng.randint(2, 15) for _ in range(3)]
            a, b, c = sorted(sides)
            if a + b > c:
                break
    a, b, c = (sp.Integer(v) for v in sides)
    s = (a + b + c) / 2
    area = sp.sqrt(s * (s - a) * (s - b) * (s - c))
    answer = {
        "area": area,
        "circumradius": a * b * c / (4 * area),
        "inradius": area / s,
        "altitude": 2 * area / a,
    }[ask]
    answer = sp.radsimp(answer)
    return Draft({"a": str(a), "b": str(b), "c": str(c)}, {"sides": sides}, answer)


def _triangle_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    given = int_fields(f)
    steps = {
        "area": ["Compute the area from the three sides (Heron's formula) with `triangle_area_from_sides`."],
        "circumradius": ["Compute the circumradius $R = abc/(4K)$ from the sides with `circumradius`."],
        "inradius": ["Compute the inradius $r = K/s$ from the sides with `inradius`."],
        "altitude": ["Compute the area $K$ with `triangle_area_from_sides`.",
                     f"The altitude to the side ${given['a']}$ is $2K/{given['a']}$: evaluate it with `simplify_expression`."],
    }[ask]
    return given, steps


def _triangle_policy(plan: SolvingPlan) -> Policy:
    g, ask = plan.given, plan.ask
    sides = {"a": str(g["a"]), "b": str(g["b"]), "c": str(g["c"])}
    tool = {"area": "triangle_area_from_sides", "altitude": "triangle_area_from_sides",
            "circumradius": "circumradius", "inradius": "inradius"}[ask]
    say = {
        "area": plan.pick("g0", ["I use Heron's formula on the three sides.", "Let me compute the area from the side lengths."]),
        "altitude": "The altitude follows from the area, so I compute the area first (Heron's formula).",
        "circumradius": plan.pick("g0", ["I compute the circumradius from the three sides.",
                                         "The circumscribed circle's radius is $abc/(4K)$; the tool computes it from the sides."]),
        "inradius": plan.pick("g0", ["I compute the inradius from the three sides.",
                                     "The inscribed circle's radius is the area over the semiperimeter; I let the tool compute it."]),
    }[ask]
    result = yield Call(tool, sides, say=say)
    if ask != "altitude":
        return answer(result, f"The {ask} is")
    area = value(result)
    altitude = yield arith(f"2*({code(area)})/{g['a']}", say=f"The area is $K = {tex(area)}$, so the altitude is $2K/{g['a']}$.")
    return answer(altitude, f"The altitude to the side of length ${g['a']}$ is")


TRIANGLE = Family("triangle", "a triangle given by its sides: area, circumradius, inradius, an altitude",
                  tools=("triangle_area_from_sides", "circumradius", "inradius", "simplify_expression"), make=_triangle_make, read=_triangle_read, policy=_triangle_policy)


# --------------------------------------------------------------------------- coordinate geometry


def _point(p: Sequence[int]) -> str:
    return f"({p[0]}, {p[1]})"


def _read_point(text: str) -> list[str]:
    m = re.fullmatch(r"\s*\(\s*(-?\d+)\s*,\s*(-?\d+)\s*\)\s*", text)
    if not m:
        raise ReadError(f"not a point: {text!r}")
    return [m.group(1), m.group(2)]


def _coordinate_make(rng: random.Random, ask: str) -> Draft:
    if ask == "distance":
        while True:
            p, q = [rng.randint(-9, 9) for _ in range(2)], [rng.randint(-9, 9) for _ in range(2)]
            if p != q:
                break
        answer = sp.sqrt((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2)
        return Draft({"P": _point(p), "Q": _point(q)}, {"P": p, "Q": q}, answer)
    if ask == "triangle_area":
        while True:
            pts = [[rng.randint(-8, 8) for _ in range(2)] for _ in range(3)]
            (x1, y1), (x2, y2), (x3, y3) = pts
            twice = x1 * (y2 - y3) + x2 * (y3 - y1) + x3 * (y1 - y2)
            if twice != 0:
                break
        return Draft({"P": _point(pts[0]), "Q": _point(pts[1]), "R": _point(pts[2])}, {"vertices": pts},
                     sp.Rational(abs(twice), 2))
    # two lines through a chosen point (p, q)
    p, q = rng.randint(-6, 6), rng.randint(-6, 6)
    m1 = rng.choice([-3, -2, -1, 1, 2, 3, 4])
    while True:
        a, b = rng.choice([v for v in range(-5, 6) if v]), rng.choice([v for v in range(-5, 6) if v])
        if a + m1 * b != 0:  # not parallel to y = m1 x + ...
            break
    line1 = sp.Eq(Y, m1 * X + (q - m1 * p))
    line2 = sp.Eq(a * X + b * Y, a * p + b * q)
    lines = [line1, line2]
    rng.shuffle(lines)
    return Draft({"l1": tex(lines[0]), "l2": tex(lines[1])}, {"point": [p, q]}, sp.Integer(p + q))


def _coordinate_read(f: dict[str, str], ask: str) -> tuple[dict[str, Any], list[str]]:
    if ask == "intersection_sum":
        lines = [from_tex(f["l1"]), from_tex(f["l2"])]
        if not all(isinstance(line, sp.Equality) and line.free_symbols <= {X, Y} for line in lines):
            raise ReadError("not lines in x and y")
        given = {"line1": equation_code(lines[0]), "line2": equation_code(lines[1])}
        return given, ["Intersect the two lines with `line_intersection`.",
                       "Add the two coordinates of the intersection point with `simplify_expression`."]
    given = {k: _read_point(v) for k, v in f.items()}
    if ask == "distance":
        return given, ["Compute the distance between the two points with `distance`."]
    return given, ["Compute the triangle's area from its vertices (shoelace formula) with `triangle_area_from_vertices`."]


def _coordinate_policy(plan: SolvingPlan) -> Policy:
    g, ask = plan.given, plan.ask
    if ask == "distance":
        distance = yield Call("distance", {"point1": g["P"], "point2": g["Q"]}, say=plan.pick("p0", [
            "I compute the Euclidean distance between the points.",
            "The distance formula gives the answer; let me compute it exactly.",
        ]))
        return answer(distance, "The distance is")
    if ask == "triangle_area":
        area = yield Call("triangle_area_from_vertices", {"vertex1": g["P"], "vertex2": g["Q"], "vertex3": g["R"]},
                          say=plan.pick("p0", ["I apply the shoelace formula to the three vertices.",
                                               "Let me compute the area from the coordinates."]))
        return answer(area, "The triangle's area is")
    point = yield Call("line_intersection", {"line1": g["line1"], "line2": g["line2"]}, say=plan.pick("p0", [
        "First I find where the two lines meet.",
        "Let me intersect the lines.",
    ]))
    if not isinstance(point, list) or len(point) != 2:
        raise ReadError(f"unexpected intersection {point!r}")
    px, py = value(point[0]), value(point[1])
    total = yield arith(f"({code(px)}) + ({code(py)})",
                        say=f"The lines meet at $\\left({tex(px)}, {tex(py)}\\right)$. Now I add the coordinates.")
    return answer(total, "The coordinates add up to")


COORDINATE = Family("coordinate_geometry", "distance between points, intersection of two lines, area of a triangle from its vertices",
                    tools=("distance", "line_intersection", "triangle_area_from_vertices", "simplify_expression"), make=_coordinate_make, read=_coordinate_read, policy=_coordinate_policy)
