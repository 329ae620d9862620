"""`python -m pipeline run ...` is the same as `newsbeam run ...`, and `newsbeam` starts here.

The command's modules (Beam among them) are imported when the command runs, not when this
module is: a page extraction process started by multiprocessing imports the program's main
module again before its work, and should not pay for Beam there."""

import sys


def main() -> int:
    from pipeline.cli import main as run_command_line

    return run_command_line()


if __name__ == "__main__":  # not when a child process imports the main module
    sys.exit(main())
