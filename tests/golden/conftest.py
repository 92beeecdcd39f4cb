"""Prints the golden replay summary at the end of the run."""

from summary import render


def pytest_terminal_summary(terminalreporter):
    text = render()
    if text:
        terminalreporter.section("golden summary")
        for line in text.split("\n"):
            terminalreporter.write_line(line)
