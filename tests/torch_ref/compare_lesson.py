"""Runs a lesson and its notebook (in PyTorch) and checks that the lesson prints what the notebook
prints: the same lines, numbers equal to the printed precision (a printed -0.0000 equals 0.0000).
Usage: compare_lesson.py LLM_JOURNEY_BINARY NN NOTEBOOK.py"""
import re
import subprocess
import sys

binary, number, notebook = sys.argv[1:4]
ours = subprocess.run([binary, "lesson", number], capture_output=True, text=True, check=True).stdout
theirs = subprocess.run(["/usr/bin/python3", notebook], capture_output=True, text=True, check=True).stdout


def normalise(line):
    return re.sub(r"-(0\.0+)\b", r"\1", line.strip())


our_lines = [normalise(l) for l in ours.splitlines()]
bad = 0
at = 0
for want in (normalise(l) for l in theirs.splitlines()):
    # the notebook's lines appear in the lesson's output, in order (the lesson adds headings)
    while at < len(our_lines) and our_lines[at] != want:
        at += 1
    if at == len(our_lines):
        print(f"missing or different: {want!r}")
        bad += 1
        at = 0
    else:
        print(f"ok: {want}")
sys.exit(1 if bad else 0)
