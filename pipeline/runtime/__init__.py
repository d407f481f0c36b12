"""Run-time helpers every stage shares, below all of them: starting or joining Ray
(`ray_start`), resolving model names to local folders (`models`), and the storage layer
that reads and writes run folders on a local disk or an object store (`storage`)."""
