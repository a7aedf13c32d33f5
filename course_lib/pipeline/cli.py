"""``llmcourse``: the course's command line.

    llmcourse workspace [DIR]              copy the lessons into DIR (default workspace/) to work in
    llmcourse release [LESSON ...]         regenerate notebooks/ from solutions/
    llmcourse check NOTEBOOK               grade your own copy of a lesson (a table of points)
    llmcourse grade ASSIGNMENT             autograde every submission under submitted/
    llmcourse export ASSIGNMENT [CSV]      scores with each submission's status (graded/failed/missing)
    llmcourse pretrain [--out DIR]         rebuild the course's pretrained model (lessons 05-08 use it)
    llmcourse finetune [--out DIR]         rebuild the instruction-tuned model (lessons 06 and 08 use it)
    llmcourse align [--out DIR]            rebuild the PPO- and DPO-tuned models (lesson 08's report card)
    llmcourse cot [--out DIR]              rebuild the addition models with and without written steps (lesson 08)

Errors are one line on stderr and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_lib.pipeline.notebooks import NotebookError, find_course_root


def _course_root(explicit: str | None) -> Path:
    root = Path(explicit) if explicit else find_course_root(Path.cwd())
    if root is None or not (root / "nbgrader_config.py").exists():
        raise NotebookError("no course folder here: run this inside the course (where nbgrader_config.py is) "
                            "or pass --root")
    return root.resolve()


def _with_steps(recipe, steps: int | None):
    """``recipe`` shortened to ``steps`` optimizer steps (a quick try), warmup kept below them."""
    if steps is None:
        return recipe
    import dataclasses
    return dataclasses.replace(recipe, max_steps=steps, warmup_steps=min(recipe.warmup_steps, max(steps - 1, 0)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llmcourse", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    workspace = commands.add_parser("workspace", help="copy lessons to a folder of your own (never overwrites)")
    workspace.add_argument("folder", nargs="?", default="workspace")
    workspace.add_argument("--root", help="course folder (default: found from the current folder)")

    release = commands.add_parser("release", help="regenerate the student release from solutions/")
    release.add_argument("lessons", nargs="*", help="lesson folders, e.g. 01_fundamentals (default: all)")
    release.add_argument("--root", help="course folder (default: found from the current folder)")

    check = commands.add_parser("check", help="grade your own copy of a lesson")
    check.add_argument("notebook", help="path to your .ipynb")
    check.add_argument("--reference", help="the course's copy to take tests from (default: found)")
    check.add_argument("--timeout", type=int, default=120, help="seconds per cell (default 120)")

    grade = commands.add_parser("grade", help="autograde a class: every submitted/<student>/ASSIGNMENT")
    grade.add_argument("assignment")
    grade.add_argument("--student", action="append", help="only these students (repeatable)")
    grade.add_argument("--timeout", type=float, default=1800, help="seconds per submission (default 1800)")
    grade.add_argument("--memory-gb", type=float, default=4.0, help="address-space limit per submission")
    grade.add_argument("--workers", type=int, help="submissions graded at once (default: cores, as memory allows)")
    grade.add_argument("--again", action="store_true", help="regrade submissions already graded from the same files")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run kernels without the sandbox (only for notebooks you trust)")
    grade.add_argument("--root", help="course folder (default: found from the current folder)")

    export = commands.add_parser("export", help="write grades with statuses to a CSV")
    export.add_argument("assignment")
    export.add_argument("csv", nargs="?", help="output file (default: grades-ASSIGNMENT.csv)")
    export.add_argument("--root", help="course folder (default: found from the current folder)")

    pretrain = commands.add_parser("pretrain", help="rebuild the pretrained model that lessons 05-08 load")
    pretrain.add_argument("--out", help="folder to write (default: the one shipped in the package)")
    pretrain.add_argument("--steps", type=int, help="optimizer steps (default: the recipe's; fewer for a quick try)")

    finetune = commands.add_parser("finetune", help="rebuild the instruction-tuned model that lessons 06 and 08 load")
    finetune.add_argument("--out", help="folder to write (default: the one shipped in the package)")
    finetune.add_argument("--steps", type=int, help="optimizer steps (default: the recipe's; fewer for a quick try)")

    cot = commands.add_parser("cot", help="rebuild lesson 08's addition models (steps written out vs answer only)")
    cot.add_argument("--out", help="folder to write (default: the one shipped in the package)")
    cot.add_argument("--steps", type=int, help="optimizer steps (default: the recipe's; fewer for a quick try)")

    align = commands.add_parser("align", help="rebuild the PPO- and DPO-tuned models that lesson 08 grades")
    align.add_argument("--out", help="folder to write (default: the one shipped in the package)")

    args = parser.parse_args(argv)
    try:
        if args.command == "workspace":
            from course_lib.pipeline.workspace import make_workspace
            for path in make_workspace(_course_root(args.root), args.folder):
                print(f"copied {path}")
        elif args.command == "release":
            from course_lib.pipeline.release import generate_release
            for path in generate_release(_course_root(args.root), args.lessons or None):
                print(f"wrote {path}")
        elif args.command == "check":
            from course_lib.pipeline.self_grade import self_grade
            report = self_grade(args.notebook, reference=args.reference, timeout=args.timeout)
            return 0 if not report.problem else 1
        elif args.command == "grade":
            from course_lib.pipeline.class_grade import grade_class
            statuses = grade_class(_course_root(args.root), args.assignment, args.student,
                                   timeout_s=args.timeout, memory_gb=args.memory_gb, workers=args.workers,
                                   again=args.again, sandbox=False if args.no_sandbox else None)
            failed = [s for s in statuses if s.status != "graded"]
            print(f"{len(statuses) - len(failed)} graded, {len(failed)} failed or missing")
        elif args.command == "export":
            from course_lib.pipeline.class_grade import export_grades
            out = export_grades(_course_root(args.root), args.assignment,
                                args.csv or f"grades-{args.assignment}.csv")
            print(f"wrote {out}")
        elif args.command == "pretrain":
            from course_lib.pretrained import ASSETS, RECIPE, build_pretrained
            recipe = _with_steps(RECIPE, args.steps)
            out = args.out or ASSETS
            card = build_pretrained(out, recipe)
            print(f"wrote {out}: {card['parameters']:,} parameters, validation loss {card['val_loss']:.3f} "
                  f"(a uniform guess: {card['uniform_loss']:.3f}), {card['minutes']} minutes")
        elif args.command == "finetune":
            from course_lib.finetuning.instruct_model import ASSETS, RECIPE, build_instruct
            recipe = _with_steps(RECIPE, args.steps)
            out = args.out or ASSETS
            card = build_instruct(out, recipe)
            greedy, sampled = card["held_out_greedy"], card["held_out_sampled"]
            print(f"wrote {out}: on held-out instructions, follow rate {greedy['follow_rate']:.2f} (greedy) and "
                  f"{sampled['follow_rate']:.2f} (sampled), stop rate {sampled['stop_rate']:.2f} (sampled); "
                  f"stories loss {card['stories_val_loss']:.3f}; {card['minutes']} minutes")
        elif args.command == "cot":
            from course_lib.evaluation.cot_model import ASSETS, RECIPE, build_cot
            recipe = _with_steps(RECIPE, args.steps)
            out = args.out or ASSETS
            card = build_cot(out, recipe)
            steps, answer = card["accuracy"]["steps"]["greedy"], card["accuracy"]["answer"]["greedy"]
            print(f"wrote {out}: greedy exact match by digits, steps written {steps}, answer only {answer}; "
                  f"{card['minutes']} minutes")
        elif args.command == "align":
            from course_lib.alignment.aligned_models import ASSETS, build_aligned
            out = args.out or ASSETS
            card = build_aligned(out)
            summary = ", ".join(f"{name}: gold {c['gold']:+.2f}, KL {c['kl']:.2f}" for name, c in card["scorecards"].items())
            print(f"wrote {out}: {summary}; {card['minutes']} minutes")
    except (NotebookError, ValueError, RuntimeError, FileNotFoundError) as error:
        message = str(error).strip().splitlines()
        print(f"llmcourse {args.command}: {message[0] if message else type(error).__name__}", file=sys.stderr)
        for line in message[1:6]:
            print(f"  {line}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
