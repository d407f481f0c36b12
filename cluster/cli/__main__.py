"""`python -m cluster.cli ...` (what `tooldistill submit` runs on the cluster)."""

from cluster.cli import app

app()
