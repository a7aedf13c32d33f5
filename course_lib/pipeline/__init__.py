"""The course's notebook pipeline on top of nbgrader.

- ``release``: regenerate the student release notebooks/ from the instructor source solutions/.
- ``self_grade``: a learner grades their own copy of a lesson and gets a per-exercise table.
- ``class_grade``: an instructor autogrades a whole class; a bad submission never stops the batch.

Command line: ``llmcourse release|check|grade|export`` (see ``llmcourse --help``).
"""
from course_lib.pipeline.notebooks import NotebookError
from course_lib.pipeline.self_grade import self_grade

__all__ = ["NotebookError", "self_grade"]
