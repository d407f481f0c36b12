"""The `tooldistill` command line, assembled from its command groups.

    toolkit.py   tools, call, grade, toolkit-demo   (the SymPy toolkit and its grader)
    stages.py    generate, backtranslate, train, eval   (one stage, one config)
    run.py       run, report, demo                  (a whole run in one folder)
    submit.py    submit                             (a run sent to a Ray cluster)
    benchmarks.py  benchmarks                       (the registered evaluation sets)

Commands are registered in the order `tooldistill --help` lists them.
"""

from __future__ import annotations

import typer

from cluster.cli import benchmarks, run, stages, submit, toolkit

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Distil tool knowledge into small language models.")

app.command()(toolkit.tools)
app.command()(toolkit.call)
app.command()(stages.generate)
app.command("eval")(stages.eval_)
app.command()(toolkit.grade)
app.command()(benchmarks.benchmarks)
app.command()(stages.backtranslate)
app.command()(stages.train)
app.command()(run.run)
app.command()(run.report)
app.command()(submit.submit)
app.command()(run.demo)
app.command("toolkit-demo")(toolkit.toolkit_demo)

__all__ = ["app"]
