"""Answer grading, shared by the correctness filter, the judge, rephrase validation and
evaluation: extract a model's final answer, normalise it, and compare it with the gold.

Two layers:

* pure, in-process functions (`extract_boxed`, `extract_answer`, `normalise_answer`,
  `answers_equal`, `grade`). They have **no time limit**: SymPy can spin for ever on a
  hostile answer, so never call them on untrusted text without a deadline around them.
* `Grader`, which runs `grade` in the project's process sandbox (`toolkit.sandbox`), so a
  comparison that hangs or crashes is killed at its deadline and graded
  `equal=False, reason="timeout"`. It never raises and never hangs; it is safe from
  threads, asyncio and Ray actors.

Extraction (`extract_answer`): anything after a chat-template token (`<|im_end|>`) is cut;
then the last `\\boxed{}` (boxes side by side make one list), unless Minerva's "Final Answer:
The final answer is X. I hope it is correct." follows it; then answer phrases ("the answer
is", "Answer: $X$", "Answer \\[ X \\]", "#### X"); then the last math span or number of the
text's final sentence. A phrase that is a sentence (`The largest $n$ is 34`) gives the value
it states.

The comparison, in order (the first that decides wins):

0. a prediction that still contains a sum, product, integral, limit or derivative
   (`\\sum`, `\\int`, `\\lim`, `\\frac{d}{dx}`, `Integral(`, ...) is not a computed answer:
   unequal, reason `unevaluated` (unless the gold is written with one too);
1. string equality after normalisation (`$`, `\\left`, thin spaces, `\\text{}`, units,
   `%`, degrees, thousands separators, zero padding, `x = ...`, markdown bold, ...);
2. plain words (`Sunday`, `even`) compare case-insensitively as words, never as products
   of symbols (which would make `no` equal `on`);
3. multiple-choice letters (`\\text{(C)}`, `(C) 12`, `C`);
4. equations with the same left-hand side (`f(n) = n`) compare their right-hand sides;
5. numbers: exact numbers (integers, fractions, radicals, factorials, pi) compare
   exactly, so `1/2004!` never equals `1/2006!`; a decimal or scientific-notation value
   compares with a relative tolerance of 1e-4 (Minerva), except against an integer gold;
   a decimal comma (`2,74`) reads as a decimal point against a decimal gold; intervals,
   tuples, sets and matrices with decimal entries compare entry by entry the same way;
6. everything else (expressions, intervals, tuples, sets, matrices, relations) goes to
   math-verify, with its signal-based timeouts disabled (they break outside the main
   thread; the sandbox is the deadline).

Modules: `extract` (find the answer), `normalise` (canonical strings), `compare` (the
comparison above; in-process, no deadline), `grader` (`Grader`: the comparison in the
tool sandbox), `worker_tools` (the grading tool the sandbox workers load).
"""

from toolkit.grading.compare import (
    REL_TOL,
    GradeResult,
    answers_equal,
    compare_answers,
    grade,
    unevaluated_operator,
)
from toolkit.grading.extract import (
    extract_answer,
    extract_boxed,
    lenient_answer,
    match_braces,
    strip_chat_tokens,
)
from toolkit.grading.grader import Grader
from toolkit.grading.normalise import normalise_answer

__all__ = [
    "REL_TOL",
    "GradeResult",
    "Grader",
    "answers_equal",
    "compare_answers",
    "extract_answer",
    "extract_boxed",
    "grade",
    "lenient_answer",
    "match_braces",
    "normalise_answer",
    "strip_chat_tokens",
    "unevaluated_operator",
]
