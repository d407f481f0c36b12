"""Synthetic problem families: seeded generators with independent ground truth, and their readers.

A *family* is a kind of textbook exercise (quadratic equations, determinants, CRT, age
problems, ...). It has several phrasings (templates with `[[field]]` slots; the mathematics
sits in `$...$` LaTeX as in a real problem set), a sampler that draws parameters from a
`random.Random` and computes the answer *by construction* (roots chosen before expanding,
closed-form formulas, brute force) — never through the toolkit — and a reader that parses a
problem text back into what it states.

`generate_problems` makes reproducible problem sets. `recognise` is the reading half: it
turns a problem text into a `SolvingPlan` (what is given, the plan in words, and a policy
that maps the tool results obtained so far to the next tool call or to the final answer).
The symbolic teacher (`pipeline.teachers.symbolic`) drives that policy against the real
toolkit, so its traces are only as right as the tools' results; it never sees the ground
truth.

Every question asks for one well-defined value ("the sum of the solutions", "the larger
root", "the smallest positive integer ..."), so `Problem.answer` is a single LaTeX value.

Layout: `base` holds the machinery (plans, steps, templates, the registry, the generator and
the recogniser), `common` the helpers families in several domains use, and `phrasings` the
wording of every family; one module per domain, as in `toolkit.tools` and
`pipeline.derivations`, holds its families' make / read / policy functions. The LaTeX they write and read is `pipeline.latex`, shared with the
derivations.
"""

from __future__ import annotations

from pipeline.latex import ReadError, code, equation_code, from_tex, tex, tex_to_code, value
from pipeline.synthetic.base import (
    FAMILIES,
    Answer,
    Call,
    Draft,
    Family,
    SolvingPlan,
    Step,
    Template,
    family_names,
    family_problems,
    generate_problems,
    recognise,
    register,
)
from pipeline.synthetic.calculus import DERIVATIVE, INTEGRAL, LIMIT, SUMMATION
from pipeline.synthetic.combinatorics import COUNTING
from pipeline.synthetic.equations import LINEAR_SYSTEM, QUADRATIC, RATIONAL
from pipeline.synthetic.geometry import COORDINATE, TRIANGLE
from pipeline.synthetic.inequalities import INEQUALITY
from pipeline.synthetic.linear_algebra import DETERMINANT, EIGEN
from pipeline.synthetic.number_theory import CRT, MODULAR
from pipeline.synthetic.word_problems import WORD

# The order is part of the output: `generate_problems` goes round-robin over it, so moving a
# family changes every seeded problem set (and which family a problem id names).
register(
    QUADRATIC, RATIONAL, LINEAR_SYSTEM, INEQUALITY, DERIVATIVE, INTEGRAL, LIMIT, SUMMATION,
    DETERMINANT, EIGEN, MODULAR, CRT, COUNTING, TRIANGLE, COORDINATE, WORD,
)

__all__ = [
    "COORDINATE", "COUNTING", "CRT", "DERIVATIVE", "DETERMINANT", "EIGEN", "FAMILIES", "INEQUALITY",
    "INTEGRAL", "LIMIT", "LINEAR_SYSTEM", "MODULAR", "QUADRATIC", "RATIONAL", "SUMMATION", "TRIANGLE",
    "WORD", "Answer", "Call", "Draft", "Family", "ReadError", "SolvingPlan", "Step", "Template", "code",
    "equation_code", "family_names", "family_problems", "from_tex", "generate_problems", "recognise", "tex", "tex_to_code", "value",
]
