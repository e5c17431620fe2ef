"""The keyframe text of a schedule, Deforum's syntax: ``frame:(value), frame:(value), ...`` (see
:mod:`dreamvideo.schedules` for what the values may be). Only the parsing; the values are compiled by
:mod:`dreamvideo.expressions`."""

from __future__ import annotations

from . import limits
from .expressions import KEYFRAME_EXAMPLE, Expression, SyntaxProblem, compile_expression


def skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def parse_keyframes(text: str, position: int, variables: dict) -> tuple[list[int], list[Expression]]:
    """Parse ``frame:(value), ...`` from `position` to the end: the frame numbers and each value compiled as
    an expression of ``variables``; 0-based positions in `SyntaxProblem`."""
    frames: list[int] = []
    values: list[Expression] = []
    position = skip_space(text, position)
    while True:
        if position >= len(text):
            if not frames:
                raise SyntaxProblem(position, "no keyframes", KEYFRAME_EXAMPLE)
            return frames, values
        start = position
        found = text[position]
        if found == "-" and position + 1 < len(text) and text[position + 1].isdigit():
            raise SyntaxProblem(start, "negative frame number", "frames count from 0")
        if not found.isdigit():
            what = {"(": "missing frame number and ':' before '('", ":": "missing frame number before ':'",
                    ",": "missing keyframe before ','", ")": "unbalanced parentheses: unmatched ')'"}
            raise SyntaxProblem(start, what.get(found, f"expected a frame number, found {found!r}"))
        while position < len(text) and text[position].isdigit():
            position += 1
        if position - start > len(str(limits.MAX_FRAMES)) or int(text[start:position]) > limits.MAX_FRAMES:
            raise SyntaxProblem(start, f"frame number {limits.shown(text[start:position])} is above the limit of "
                                       f"{limits.MAX_FRAMES:,} frames")
        frame = int(text[start:position])
        if position < len(text) and text[position] in ".eE":
            raise SyntaxProblem(start, "frame numbers are whole numbers")
        if frames and frame == frames[-1]:
            raise SyntaxProblem(start, f"duplicate frame number {frame}")
        if frames and frame < frames[-1]:
            raise SyntaxProblem(start, f"frame numbers must increase, but {frame} comes after {frames[-1]}")

        position = skip_space(text, position)
        if position >= len(text) or text[position] != ":":
            if position >= len(text):
                raise SyntaxProblem(position, f"missing ':' and value after frame number {frame}")
            if text[position] == "(":
                raise SyntaxProblem(position, f"missing ':' between frame number {frame} and '('")
            raise SyntaxProblem(position, f"expected ':' after frame number {frame}", KEYFRAME_EXAMPLE)
        position = skip_space(text, position + 1)
        if position >= len(text) or text[position] == ",":
            raise SyntaxProblem(position, f"missing value after '{frame}:'")
        if text[position] != "(":
            raise SyntaxProblem(position, f"expected '(' after '{frame}:'",
                                 f"write the value in parentheses, e.g. {frame}:(1.5)")
        opening = position
        depth = 0
        while position < len(text):
            depth += {"(": 1, ")": -1}.get(text[position], 0)
            if depth == 0:
                break
            position += 1
        if depth:
            raise SyntaxProblem(opening, "unbalanced parentheses: this '(' is never closed")
        inside = text[opening + 1:position]
        if not inside.strip():
            raise SyntaxProblem(opening, f"missing value in '{frame}:()'")
        frames.append(frame)
        values.append(compile_expression(inside, variables, offset=opening + 1))

        position = skip_space(text, position + 1)
        if position >= len(text):
            return frames, values
        if text[position] == ",":
            position = skip_space(text, position + 1)
            continue
        if text[position] == ")":
            raise SyntaxProblem(position, "unbalanced parentheses: unmatched ')'")
        if text[position].isdigit():
            raise SyntaxProblem(position, "missing ',' between keyframes")
        raise SyntaxProblem(position, f"unexpected {text[position]!r}", "separate keyframes with commas")
