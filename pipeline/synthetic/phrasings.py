"""How each synthetic family's problems are worded: its phrasings, by what they ask.

`[[field]]` slots are filled by the family's `make` and read back by its `read` (the
mathematics sits in `$...$` LaTeX, as in a real problem set). The order is part of the
output: a family draws a template by its index (asks in the order written, texts in theirs),
so moving or inserting a phrasing changes every seeded problem set; add new ones at the end
of an ask's list only when a changed set is acceptable.
"""

from __future__ import annotations

PHRASINGS: dict[str, dict[str, list[str]]] = {
    # ---------------------------------------------------------------------- equations
    "quadratic": {
        "sum": [
            "Find the sum of all solutions of the equation $[[eq]]$.",
            "What is the sum of the roots of $[[eq]]$?",
        ],
        "larger": [
            "Solve $[[eq]]$. What is the larger of its two solutions?",
            "The equation $[[eq]]$ has two real roots. Find the greater one.",
        ],
        "sum_squares": [
            "Let $r$ and $s$ be the solutions of $[[eq]]$. Compute $r^2 + s^2$.",
        ],
        "product": [
            "If $p$ and $q$ are the roots of $[[eq]]$, what is $pq$?",
        ],
        "difference": [
            "Find the positive difference between the two solutions of $[[eq]]$.",
        ],
    },
    "rational_equation": {
        "solve": [
            "Solve for $x$: $[[eq]]$.",
            "Find the real number $x$ that satisfies $[[eq]]$.",
            "What value of $x$ satisfies the equation $[[eq]]$?",
        ],
        "sum": [
            "Find the sum of all real solutions of $[[eq]]$.",
            "What is the sum of the real numbers $x$ for which $[[eq]]$?",
        ],
        "larger": [
            "Find the largest real solution of $[[eq]]$.",
        ],
    },
    "linear_system": {
        "target": [
            "Solve the system $[[system]]$ and find $[[target]]$.",
            "If $[[system]]$, what is the value of $[[target]]$?",
            "The numbers $[[unknowns]]$ satisfy $[[system]]$. Compute $[[target]]$.",
            "Given the linear system $[[system]]$, determine $[[target]]$.",
        ],
    },
    # ---------------------------------------------------------------------- inequalities
    "inequality": {
        "count": [
            "How many integers $x$ satisfy $[[ineq]]$?",
            "Find the number of integer solutions of the inequality $[[ineq]]$.",
        ],
        "sum_int": [
            "What is the sum of all integers $x$ such that $[[ineq]]$?",
            "Compute the sum of the integer solutions of $[[ineq]]$.",
        ],
        "length": [
            "The solution set of $[[ineq]]$ is an interval. What is its length?",
            "Solve $[[ineq]]$ and give the length of the solution interval.",
        ],
    },
    # ---------------------------------------------------------------------- calculus
    "derivative": {
        "value": [
            "Let $f(x) = [[f]]$. Find $f'([[a]])$.",
            "Compute the derivative of $[[f]]$ with respect to $x$, evaluated at $x = [[a]]$.",
            "What is the slope of the tangent line to the curve $y = [[f]]$ at $x = [[a]]$?",
            "If $g(x) = [[f]]$, what is $g'([[a]])$?",
        ],
    },
    "definite_integral": {
        "value": [
            r"Evaluate $\int_{[[lo]]}^{[[hi]]} \left([[f]]\right) dx$.",
            "Compute the definite integral of $[[f]]$ from $x = [[lo]]$ to $x = [[hi]]$.",
            r"Find the exact value of $\displaystyle\int_{[[lo]]}^{[[hi]]} \left([[f]]\right) \, dx$.",
        ],
        "average": [
            "What is the average value of $f(x) = [[f]]$ on the interval $[[lo]] \\le x \\le [[hi]]$?",
            "Find the mean value of $[[f]]$ over $[[lo]] \\le x \\le [[hi]]$.",
        ],
    },
    "limit": {
        "value": [
            r"Evaluate $\lim_{x \to [[p]]} [[f]]$.",
            "Find the limit of $[[f]]$ as $x$ approaches $[[p]]$.",
            r"Compute $\displaystyle\lim_{x\to [[p]]} \left([[f]]\right)$.",
            r"What value does $[[f]]$ approach as $x \to [[p]]$?",
        ],
    },
    "summation": {
        "value": [
            r"Compute $\sum_{k=[[lo]]}^{[[hi]]} [[term]]$.",
            r"Find the value of the sum $\displaystyle\sum_{k=[[lo]]}^{[[hi]]} \left([[term]]\right)$.",
            r"Evaluate $\sum_{k=[[lo]]}^{[[hi]]} [[term]]$ exactly.",
            r"What is $\sum\limits_{k=[[lo]]}^{[[hi]]} [[term]]$ equal to?",
        ],
    },
    # ---------------------------------------------------------------------- linear algebra
    "determinant": {
        "value": [
            "Compute the determinant of the matrix $[[M]]$.",
            r"Find $\det [[M]]$.",
            "What is the determinant of $A = [[M]]$?",
        ],
        "singular": [
            "For which value of $t$ is the matrix $[[M]]$ singular?",
            "Find the value of $t$ for which $[[M]]$ is not invertible.",
            r"Determine $t$ such that $\det [[M]] = 0$.",
        ],
    },
    "eigenvalues": {
        "largest": [
            "Find the largest eigenvalue of the matrix $[[M]]$.",
            "What is the greatest eigenvalue of $A = [[M]]$?",
        ],
        "smallest": [
            "Find the smallest eigenvalue of $[[M]]$.",
        ],
        "sum_squares": [
            r"Let $\lambda_1, \dots, \lambda_n$ be the eigenvalues of $[[M]]$, counted with multiplicity. "
            r"Compute $\lambda_1^2 + \cdots + \lambda_n^2$.",
            "Compute the sum of the squares of the eigenvalues of $[[M]]$.",
        ],
    },
    # ---------------------------------------------------------------------- number theory
    "modular": {
        "inverse": [
            "Find the multiplicative inverse of $[[a]]$ modulo $[[m]]$.",
            r"Find the integer $x$ with $0 \le x < [[m]]$ such that $[[a]] x \equiv 1 \pmod{[[m]]}$.",
        ],
        "power": [
            "What is the remainder when $[[a]]^{[[e]]}$ is divided by $[[m]]$?",
            r"Compute $[[a]]^{[[e]]} \bmod [[m]]$.",
        ],
        "congruence": [
            r"Find the least nonnegative integer $x$ such that $[[a]] x \equiv [[b]] \pmod{[[m]]}$.",
            r"Solve the congruence $[[a]] x \equiv [[b]] \pmod{[[m]]}$, giving the smallest nonnegative solution.",
        ],
    },
    "crt": {
        "smallest": [
            "Find the smallest positive integer $x$ such that [[congruences_text]].",
            "What is the least positive integer that leaves a remainder of [[remainders_text]]?",
            "When the eggs in a basket are counted [[groups_text]]. What is the smallest possible number of eggs in the basket?",
            "Determine the smallest positive $x$ satisfying [[congruences_text]] simultaneously.",
        ],
    },
    # ---------------------------------------------------------------------- combinatorics
    "counting": {
        "choose": [
            "In how many ways can a committee of $[[k]]$ people be chosen from a group of $[[n]]$?",
            "How many $[[k]]$-element subsets does a set with $[[n]]$ elements have?",
            r"Compute $\binom{[[n]]}{[[k]]}$.",
        ],
        "derangement": [
            "How many permutations of $[[n]]$ objects leave no object in its original position?",
            "$[[n]]$ people leave their hats at a party and get them back in a random order. "
            "In how many ways can this happen so that nobody gets their own hat?",
        ],
        "at_least_one": [
            "A club has $[[w]]$ women and $[[m]]$ men. How many committees of $[[k]]$ members contain at least one woman?",
            "From $[[w]]$ women and $[[m]]$ men a team of $[[k]]$ is picked. "
            "In how many ways can it be picked if it must include at least one woman?",
        ],
        "podium": [
            "In how many ways can first, second and third prizes be awarded to $[[n]]$ contestants "
            "if nobody wins more than one prize?",
        ],
        "arrange": [
            "How many ordered arrangements of $[[k]]$ books can be made from a collection of $[[n]]$ different books?",
        ],
    },
    # ---------------------------------------------------------------------- geometry
    "triangle": {
        "area": [
            "A triangle has side lengths $[[a]]$, $[[b]]$ and $[[c]]$. Find its area.",
            "What is the area of the triangle with sides $a = [[a]]$, $b = [[b]]$, $c = [[c]]$?",
        ],
        "circumradius": [
            "Find the circumradius of a triangle whose sides measure $[[a]]$, $[[b]]$ and $[[c]]$.",
            "A triangle with side lengths $[[a]]$, $[[b]]$, $[[c]]$ is inscribed in a circle. What is the radius of the circle?",
        ],
        "inradius": [
            "Find the radius of the circle inscribed in a triangle with sides $[[a]]$, $[[b]]$ and $[[c]]$.",
        ],
        "altitude": [
            "A triangle has sides of length $[[a]]$, $[[b]]$ and $[[c]]$. How long is the altitude to the side of length $[[a]]$?",
        ],
    },
    "coordinate_geometry": {
        "distance": [
            "Find the distance between the points $[[P]]$ and $[[Q]]$.",
            "How far apart are the points $A = [[P]]$ and $B = [[Q]]$?",
        ],
        "intersection_sum": [
            "The lines $[[l1]]$ and $[[l2]]$ intersect at the point $(a, b)$. Find $a + b$.",
            "Find the sum of the coordinates of the intersection point of the lines $[[l1]]$ and $[[l2]]$.",
        ],
        "triangle_area": [
            "Find the area of the triangle with vertices $[[P]]$, $[[Q]]$ and $[[R]]$.",
            "What is the area of triangle $ABC$ with $A = [[P]]$, $B = [[Q]]$, $C = [[R]]$?",
        ],
    },
    # ---------------------------------------------------------------------- word problems
    "word_problem": {
        "ages_child": [
            "[[name]] is $[[k]]$ times as old as her son. In $[[n]]$ years, she will be $[[m]]$ times as old as her son. "
            "How old is her son now?",
            "[[name]] is $[[k]]$ times as old as her daughter. After $[[n]]$ years she will be only $[[m]]$ times as old "
            "as her daughter. How old is the daughter today?",
        ],
        "ages_parent": [
            "[[name]]'s age is $[[k]]$ times her son's age. In $[[n]]$ years, her age will be $[[m]]$ times his. "
            "How old is [[name]] now?",
        ],
        "mixture": [
            r"How many liters of a $[[p1]]\%$ acid solution must [[name]] add to $[[v]]$ liters of a $[[p2]]\%$ acid "
            r"solution to obtain a $[[p3]]\%$ acid solution?",
            r"[[name]] has $[[v]]$ liters of a $[[p2]]\%$ saline solution. How many liters of a $[[p1]]\%$ saline "
            r"solution should she add to make a $[[p3]]\%$ solution?",
        ],
        "meeting": [
            "Two trains start $[[d]]$ km apart and travel toward each other at $[[v1]]$ km/h and $[[v2]]$ km/h. "
            "After how many hours do they meet?",
            "Two cyclists ride toward each other from towns $[[d]]$ km apart, one at $[[v1]]$ km/h and the other at "
            "$[[v2]]$ km/h. How many hours pass before they meet?",
        ],
        "work": [
            "[[name]] can paint a fence in $[[a]]$ hours, and her friend can paint it in $[[b]]$ hours. "
            "Working together, how many hours do they need?",
            "Pipe A fills a tank in $[[a]]$ hours and pipe B fills it in $[[b]]$ hours. "
            "How many hours does it take to fill the tank with both pipes open?",
        ],
    },
}
