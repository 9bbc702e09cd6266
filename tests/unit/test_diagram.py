"""The state diagram drawn as SVG from the definitions, without a database or a browser."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from workflows import workflows
from workflows.diagram import KIND_LABELS, MANY_SOURCES, layout, svg

pytestmark = pytest.mark.unit
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("kind", sorted(workflows()))
def test_the_drawing_names_every_state_and_labels_every_transition(kind):
    wf = workflows()[kind]
    root = ET.fromstring(svg(wf, id_prefix="x", details="x-tables"))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "x-diagram-title"
    assert root.get("aria-describedby") == "x-diagram-desc"
    assert root.get("aria-details") == "x-tables"
    assert root.find(f"{SVG}title").text == f"State diagram of {wf.title}"
    desc = root.find(f"{SVG}desc").text
    texts = {t.text for t in root.iter(f"{SVG}text")}
    for s in wf.states:
        assert s.staff_label in texts and s.staff_label in desc
    for t in wf.transitions:
        assert t.label in texts, t.name
    # The legend names every kind of state the definition uses.
    for s in wf.states:
        assert KIND_LABELS[s.kind] in texts


@pytest.mark.parametrize("kind", sorted(workflows()))
def test_boxes_and_labels_stay_apart_and_inside_the_drawing(kind):
    wf = workflows()[kind]
    d = layout(wf)
    boxes = list(d.boxes.values())
    rects = [(b.x - b.width / 2, b.y - b.height / 2, b.x + b.width / 2, b.y + b.height / 2)
             for b in boxes]
    for i, a in enumerate(rects):
        assert a[0] >= 0 and a[1] >= 0 and a[2] <= d.width and a[3] <= d.height
        for b in rects[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    # Every arrow starts on its source box's border and ends on its target's.
    for arrow in d.arrows:
        assert len(arrow.points) >= 2
        x, y = arrow.label_at
        assert 0 <= x <= d.width and 0 <= y <= d.height
    # A transition from many states is drawn once, from a box that counts them.
    many = [t for t in wf.transitions if len(t.sources) > MANY_SOURCES]
    assert many and all(f"any:{t.name}" in d.boxes for t in many)
    assert d.boxes["any:withdraw"].label == f"Any of {len(wf.transition('withdraw').sources)}" \
        " states"
