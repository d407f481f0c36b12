"""The one job skeleton every Ray Data stage runs on.

A job is a list of named row stages (pure async functions) that one generic actor UDF
(`actor.StageActor`) runs over blocks of rows, with the per-actor resources it owns
(sandbox, grader, teachers), ending in one sink that writes write-once parts through one
run-folder layout (`pipeline.runtime.storage.RunFolder`). `run.run_job` owns reading
blocks, the actor pool, the teachers' lifecycle and resume. Generation, back-translation
and evaluation differ only in their stages, resources and typed summaries.
"""
