"""Teachers: one async protocol (`base.Teacher`), several implementations."""
