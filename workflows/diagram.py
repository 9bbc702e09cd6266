"""The state diagram of a workflow definition, laid out in layers (Sugiyama, by grandalf) and
drawn as accessible SVG: states coloured by kind with a legend, transitions labelled, and a
title and description for people who do not see it. Pure: no Flask, no files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout

from workflows.engine import StateKind, Transition, Workflow


def N_(text: str) -> str:
    """Mark ``text`` for translation; the page that draws the diagram translates it."""
    return text


#: a transition from more states than this is drawn once, from a box naming how many
MANY_SOURCES = 3
#: fill and border of each kind of state; the text on them is dark enough for WCAG AA
KIND_COLOURS: dict[StateKind, tuple[str, str]] = {
    StateKind.DRAFT: ("#f3f2f1", "#505a5f"),
    StateKind.REVIEW: ("#d2e2f1", "#1d70b8"),
    StateKind.APPLICANT_ACTION: ("#fff7bf", "#8a6d00"),
    StateKind.WAITING: ("#e7dcef", "#4c2c92"),
    StateKind.ACTIVE: ("#cce2d8", "#00703c"),
    StateKind.SUCCESS: ("#b7dcc6", "#005a30"),
    StateKind.CLOSED: ("#e6e6e6", "#6f777b"),
}
#: what each kind means, as the legend says it
KIND_LABELS: dict[StateKind, str] = {
    StateKind.DRAFT: N_("Draft"),
    StateKind.REVIEW: N_("Staff decision"),
    StateKind.APPLICANT_ACTION: N_("Applicant must act"),
    StateKind.WAITING: N_("Waiting"),
    StateKind.ACTIVE: N_("Cooperation running"),
    StateKind.SUCCESS: N_("Ended, goal reached"),
    StateKind.CLOSED: N_("Ended early"),
}
CHAR_WIDTH = 7.2  # of the 13px sans-serif the labels use, on average
NODE_HEIGHT = 38
EDGE_FONT = 11
STEP_FONT = 11
STEP_LINE = 14
MARGIN = 24


@dataclass
class Box:
    """A state (or a group of source states) where the layout put it: centre, size, kind."""

    key: str
    label: str
    kind: StateKind | None  # None: the "any of N states" box of a widely shared transition
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0
    height: float = NODE_HEIGHT
    steps: list[str] = field(default_factory=list)  # actions that stay here, and who takes them


@dataclass
class Arrow:
    """One or more transitions between two boxes, as the path the layout routed."""

    source: str
    target: str
    labels: list[str]  # two lines per transition: what it is, who may take it
    points: list[tuple[float, float]] = field(default_factory=list)
    label_at: tuple[float, float] = (0.0, 0.0)  # centre of the label, clear of the others


@dataclass
class Diagram:
    """The laid-out diagram: boxes, arrows and the size of the drawing."""

    boxes: dict[str, Box]
    arrows: list[Arrow]
    width: float
    height: float


class _View:
    """What grandalf reads of a vertex (its size) and writes back (its place, a path)."""

    def __init__(self, w: float = 0.0, h: float = 0.0):
        self.w, self.h = w, h
        self.xy = (0.0, 0.0)
        self.pts: list[tuple[float, float]] = []

    def setpath(self, pts: list[tuple[float, float]]) -> None:
        self.pts = pts


def _say(gettext: Callable[[str], str], text: str, **values: object) -> str:
    """``text`` in the reader's language (``gettext`` translates only), filled in."""
    return gettext(text) % values


def _box_width(text: str) -> float:
    return max(90.0, len(text) * CHAR_WIDTH + 24)


def _label(t: Transition, roles: Callable[[Transition], str], gettext: Callable[[str], str]
           ) -> list[str]:
    return [gettext(t.label), f"({roles(t)})"]


def layout(wf: Workflow, gettext: Callable[[str], str] = str,
           roles: Callable[[Transition], str] | None = None) -> Diagram:
    """Place every state and route every transition of ``wf``, top to bottom from its initial
    state; a transition from many states is drawn once, from a box that says how many."""
    roles = roles or (lambda t: "/".join(r.value for r in t.roles))
    boxes = {s.name: Box(s.name, gettext(s.staff_label), s.kind) for s in wf.states}
    pairs: dict[tuple[str, str], Arrow] = {}
    for t in wf.transitions:
        sources = list(t.sources)
        if len(sources) > MANY_SOURCES:
            key = f"any:{t.name}"
            boxes[key] = Box(key, _say(gettext, N_("Any of %(n)s states"), n=len(sources)), None)
            sources = [key]
        for source in sources:
            if source == t.target:
                # A step that stays in its state has no arrow: the box itself names it.
                boxes[source].steps += _label(t, roles, gettext)
                continue
            arrow = pairs.setdefault((source, t.target), Arrow(source, t.target, []))
            arrow.labels += _label(t, roles, gettext)
    for box in boxes.values():
        box.width = max(_box_width(box.label), *(len(s) * STEP_FONT * 0.56 + 16
                                                 for s in box.steps), 0)
        box.height = NODE_HEIGHT + STEP_LINE * len(box.steps)

    vertices = {key: Vertex(key) for key in boxes}
    for key, v in vertices.items():
        v.view = _View(boxes[key].width, boxes[key].height)
    edges = []
    for (source, target), arrow in pairs.items():
        e = Edge(vertices[source], vertices[target], data=arrow)
        e.view = _View()
        edges.append(e)
    graph = Graph(list(vertices.values()), edges)
    # Each connected part (the main flow, then each ending reached from many states) is laid
    # out alone and placed to the right of the previous one, tops aligned.
    left = float(MARGIN)
    for part in sorted(graph.C, key=lambda c: wf.initial not in {v.data for v in c.sV}):
        sugiyama = SugiyamaLayout(part)
        sugiyama.xspace, sugiyama.yspace = 48, 96
        initial = [v for v in part.sV if v.data == wf.initial]
        sugiyama.init_all(roots=initial or None)
        sugiyama.draw()
        xs = [v.view.xy[0] - v.view.w / 2 for v in part.sV]
        ys = [v.view.xy[1] - v.view.h / 2 for v in part.sV]
        dx, dy = left - min(xs), MARGIN - min(ys)
        for v in part.sV:
            box = boxes[v.data]
            box.x, box.y = v.view.xy[0] + dx, v.view.xy[1] + dy
        for e in part.sE:
            e.data.points = [(x + dx, y + dy) for x, y in e.view.pts]
        left = max(boxes[v.data].x + boxes[v.data].width / 2 for v in part.sV) + 60
    arrows = [e.data for e in edges]
    _separate_opposites(arrows)
    for a in arrows:
        a.points = _clipped(a.points, boxes[a.source], boxes[a.target])
    _place_labels(arrows, boxes)
    # Labels may reach beyond the boxes: the drawing is moved and sized to hold everything.
    rects = [(b.x - b.width / 2, b.y - b.height / 2, b.x + b.width / 2, b.y + b.height / 2)
             for b in boxes.values()]
    rects += [(a.label_at[0] - _label_width(a) / 2, a.label_at[1] - _label_height(a) / 2,
               a.label_at[0] + _label_width(a) / 2, a.label_at[1] + _label_height(a) / 2)
              for a in arrows if a.points]
    dx = MARGIN - min(r[0] for r in rects)
    dy = MARGIN - min(r[1] for r in rects)
    for b in boxes.values():
        b.x, b.y = b.x + dx, b.y + dy
    for a in arrows:
        a.points = [(x + dx, y + dy) for x, y in a.points]
        a.label_at = (a.label_at[0] + dx, a.label_at[1] + dy)
    width = max(r[2] for r in rects) + dx + MARGIN
    return Diagram(boxes, arrows, width, max(r[3] for r in rects) + dy + MARGIN)


def _separate_opposites(arrows: list[Arrow]) -> None:
    """Two arrows between the same boxes in opposite directions are drawn side by side."""
    ends = {(a.source, a.target) for a in arrows}
    for a in arrows:
        if (a.target, a.source) in ends:
            shift = 9.0 if a.source < a.target else -9.0
            a.points = [(x + shift, y) for x, y in a.points]


def _clipped(points: list[tuple[float, float]], source: Box, target: Box
             ) -> list[tuple[float, float]]:
    """The path from the edge of the source box to the edge of the target box."""
    if len(points) < 2:
        return points
    return [_border(source, points[0], points[1]), *points[1:-1],
            _border(target, points[-1], points[-2])]


def _border(box: Box, inside: tuple[float, float], toward: tuple[float, float]
            ) -> tuple[float, float]:
    """Where the segment from ``inside`` (in the box) to ``toward`` leaves the box."""
    (x0, y0), (x1, y1) = inside, toward
    dx, dy = x1 - x0, y1 - y0
    if dx == 0 and dy == 0:
        return inside
    half_w, half_h = box.width / 2, box.height / 2
    left, right = box.x - half_w, box.x + half_w
    top, bottom = box.y - half_h, box.y + half_h
    t = 1.0
    if dx:
        t = min(t, max((left - x0) / dx, (right - x0) / dx))
    if dy:
        t = min(t, max((top - y0) / dy, (bottom - y0) / dy))
    return (x0 + dx * max(t, 0.0), y0 + dy * max(t, 0.0))


def _label_width(a: Arrow) -> float:
    return max(len(line) for line in a.labels) * EDGE_FONT * 0.56 + 8


def _label_height(a: Arrow) -> float:
    return 13.0 * len(a.labels) + 4


def _along(points: list[tuple[float, float]], fraction: float) -> tuple[float, float]:
    """The point ``fraction`` of the way along a path."""
    lengths = [((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
               for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False)]
    rest = sum(lengths) * fraction
    for ((x0, y0), (x1, y1)), length in zip(zip(points, points[1:], strict=False), lengths,
                                             strict=True):
        if rest <= length and length:
            f = rest / length
            return (x0 + (x1 - x0) * f, y0 + (y1 - y0) * f)
        rest -= length
    return points[-1]


Rect = tuple[float, float, float, float]


def _overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _place_labels(arrows: list[Arrow], boxes: dict[str, Box]) -> None:
    """Put each label on its arrow where it covers no box and no label placed before it:
    first half way, then further along or beside the line."""
    taken: list[Rect] = [(b.x - b.width / 2 - 2, b.y - b.height / 2 - 2,
                          b.x + b.width / 2 + 2, b.y + b.height / 2 + 2)
                         for b in boxes.values()]
    for a in sorted(arrows, key=lambda a: -len(a.labels)):
        if not a.points:
            continue
        w, h = _label_width(a), _label_height(a)
        best: tuple[float, float, float, Rect] | None = None
        for f in (0.5, 0.35, 0.65, 0.22, 0.78):
            for side in (0.0, 1.0, -1.0, 2.0, -2.0):
                x, y = _along(a.points, f)
                x += side * (w / 2 + 6)
                rect = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
                # The least covered spot wins; the first clear one ends the search.
                covered = sum(_area(rect, r) for r in taken) + abs(side) * 0.01
                if best is None or covered < best[0]:
                    best = (covered, x, y, rect)
                if covered < 1:
                    break
            if best and best[0] < 1:
                break
        assert best is not None
        a.label_at = (best[1], best[2])
        taken.append(best[3])


def _area(a: Rect, b: Rect) -> float:
    if not _overlaps(a, b):
        return 0.0
    return (min(a[2], b[2]) - max(a[0], b[0])) * (min(a[3], b[3]) - max(a[1], b[1]))


def svg(wf: Workflow, *, id_prefix: str = "wf", gettext: Callable[[str], str] = str,
        roles: Callable[[Transition], str] | None = None, details: str | None = None) -> str:
    """The diagram as an inline SVG element: ``role="img"`` named by its ``<title>``, summed up
    by its ``<desc>``; ``details`` is the id of the element that says it all in words (the
    tables), referenced with ``aria-details``."""
    d = layout(wf, gettext, roles)
    legend_y = d.height + 8
    kinds = [k for k in KIND_LABELS if any(b.kind is k for b in d.boxes.values())]
    legend_h = 28 + 24 * ((len(kinds) + 2) // 3)
    width, height = round(max(d.width, 3 * 210 + 2 * MARGIN)), round(legend_y + legend_h)
    title_id, desc_id = f"{id_prefix}-diagram-title", f"{id_prefix}-diagram-desc"
    desc = _say(gettext, N_("States from first to last: %(states)s. Arrows are the actions "
                            "that move a case from one state to another, each with who may "
                            "take it."),
                states=", ".join(gettext(s.staff_label) for s in wf.states))
    title = _say(gettext, N_("State diagram of %(title)s"), title=gettext(wf.title))
    legend_title = gettext(N_("Kinds of state"))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-diagram" role="img" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'aria-labelledby="{title_id}" aria-describedby="{desc_id}"'
           + (f' aria-details="{escape(details)}"' if details else "") + ">",
           f'<title id="{title_id}">{escape(title)}</title>',
           f'<desc id="{desc_id}">{escape(desc)}</desc>',
           '<defs><marker id="' + id_prefix + '-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
           'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
           '<path d="M0,0 L10,5 L0,10 z" fill="#0b0c0c"/></marker></defs>',
           '<g font-family="Arial, Helvetica, sans-serif">']
    for a in d.arrows:
        path = " ".join(("M" if i == 0 else "L") + f"{x:.1f},{y:.1f}"
                        for i, (x, y) in enumerate(a.points))
        out.append(f'<path d="{path}" fill="none" stroke="#0b0c0c" stroke-width="1.3" '
                   f'marker-end="url(#{id_prefix}-arrow)"/>')
    for a in d.arrows:
        mx, my = a.label_at
        w, h = _label_width(a), _label_height(a)
        out.append(f'<rect x="{mx - w / 2:.1f}" y="{my - h / 2:.1f}" width="{w:.1f}" '
                   f'height="{h:.0f}" rx="3" fill="#ffffff" fill-opacity="0.92"/>')
        for i, line in enumerate(a.labels):
            y = my - h / 2 + 13 * i + 12
            weight = ' font-weight="bold"' if i % 2 == 0 else ""
            out.append(f'<text x="{mx:.1f}" y="{y:.1f}" font-size="{EDGE_FONT}"{weight} '
                       f'text-anchor="middle" fill="#0b0c0c">{escape(line)}</text>')
    for b in d.boxes.values():
        fill, stroke = KIND_COLOURS.get(b.kind, ("#ffffff", "#505a5f")) if b.kind else \
            ("#ffffff", "#505a5f")
        dash = ' stroke-dasharray="5 3"' if b.kind is None else ""
        width_ = 3 if b.kind and b.kind.terminal else 1.5
        out.append(f'<rect x="{b.x - b.width / 2:.1f}" y="{b.y - b.height / 2:.1f}" '
                   f'width="{b.width:.1f}" height="{b.height}" rx="6" fill="{fill}" '
                   f'stroke="{stroke}" stroke-width="{width_}"{dash}/>')
        top = b.y - b.height / 2
        out.append(f'<text x="{b.x:.1f}" y="{top + NODE_HEIGHT / 2 + 4.5:.1f}" font-size="13" '
                   f'text-anchor="middle" fill="#0b0c0c">{escape(b.label)}</text>')
        for i, step in enumerate(b.steps):
            weight = ' font-weight="bold"' if i % 2 == 0 else ""
            out.append(f'<text x="{b.x:.1f}" y="{top + NODE_HEIGHT - 4 + STEP_LINE * i:.1f}" '
                       f'font-size="{STEP_FONT}"{weight} text-anchor="middle" '
                       f'fill="#0b0c0c">{escape(step)}</text>')
    out.append(f'<text x="{MARGIN}" y="{legend_y + 14}" font-size="13" font-weight="bold" '
               f'fill="#0b0c0c">{escape(legend_title)}</text>')
    for i, kind in enumerate(kinds):
        x = MARGIN + 210 * (i % 3)
        y = legend_y + 24 + 24 * (i // 3)
        fill, stroke = KIND_COLOURS[kind]
        width_ = 3 if kind.terminal else 1.5
        out.append(f'<rect x="{x}" y="{y}" width="22" height="16" rx="3" fill="{fill}" '
                   f'stroke="{stroke}" stroke-width="{width_}"/>')
        out.append(f'<text x="{x + 30}" y="{y + 12.5}" font-size="12" fill="#0b0c0c">'
                   f'{escape(gettext(KIND_LABELS[kind]))}</text>')
    out.append("</g></svg>")
    return "\n".join(out)
