"""Browser helpers: real mouse gestures on the Explore map."""

from __future__ import annotations

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from components import ids

MAP = f"#{ids.EXPLORE_MAP} .js-plotly-plot"

_POINT_JS = """
var gd = document.querySelector(arguments[0]);
var fl = gd._fullLayout, tr = gd._fullData[arguments[1]];
return [fl.xaxis.l2p(tr.x[arguments[2]]) + fl._size.l, fl.yaxis.l2p(tr.y[arguments[2]]) + fl._size.t,
        gd.getBoundingClientRect().width, gd.getBoundingClientRect().height];
"""


def map_element(duo):
    """The plotly div of the Explore map, scrolled into the middle of the window."""
    duo.wait_for_element(MAP, timeout=20)
    duo.driver.execute_script("document.querySelector(arguments[0]).scrollIntoView({block: 'center'})", MAP)
    return duo.driver.find_element(By.CSS_SELECTOR, MAP)


def point_offset(duo, trace: int = 0, point: int = 0) -> tuple[int, int, float, float]:
    """Pixel offset of a point from the map's top-left corner, and the map's size."""
    x, y, w, h = duo.driver.execute_script(_POINT_JS, MAP, trace, point)
    return int(round(x)), int(round(y)), w, h


def hover_point(duo, trace: int = 0, point: int = 0) -> None:
    """Move the mouse onto a point of the map (selenium 4.2 offsets are from the top-left)."""
    el = map_element(duo)
    x, y, _, _ = point_offset(duo, trace, point)
    ActionChains(duo.driver).move_to_element_with_offset(el, 1, 1).pause(0.2).move_to_element_with_offset(
        el, x, y).perform()


def lasso(duo, fraction: float = 0.35) -> None:
    """Draw a lasso (a closed polygon) around the middle of the map."""
    el = map_element(duo)
    _, _, w, h = point_offset(duo)
    cx, cy = w / 2, h / 2
    dx, dy = w * fraction, h * fraction
    corners = [(cx - dx, cy - dy), (cx + dx, cy - dy), (cx + dx, cy + dy), (cx - dx, cy + dy), (cx - dx, cy - dy + 2)]
    chain = ActionChains(duo.driver).move_to_element_with_offset(el, int(corners[0][0]), int(corners[0][1]))
    chain = chain.click_and_hold()
    for x, y in corners[1:]:
        chain = chain.move_to_element_with_offset(el, int(x), int(y)).pause(0.05)
    chain.release().perform()


def click_point(duo, trace: int = 0, point: int = 0) -> None:
    """Click a point of the map."""
    el = map_element(duo)
    x, y, _, _ = point_offset(duo, trace, point)
    ActionChains(duo.driver).move_to_element_with_offset(el, x, y).pause(0.2).click().perform()


_CENTRAL_JS = """
var gd = document.querySelector(arguments[0]);
var fl = gd._fullLayout, best = [0, 0], bestD = Infinity;
var cx = fl._size.w / 2, cy = fl._size.h / 2;
gd._fullData.forEach(function (tr, t) {
  for (var j = 0; j < tr.x.length; j++) {
    var dx = fl.xaxis.l2p(tr.x[j]) - cx, dy = fl.yaxis.l2p(tr.y[j]) - cy, d = dx * dx + dy * dy;
    if (d < bestD) { bestD = d; best = [t, j]; }
  }
});
return best;
"""


def central_point(duo) -> tuple[int, int]:
    """(trace, point) of the point nearest the middle of the map (away from legend and mode bar)."""
    map_element(duo)
    trace, point = duo.driver.execute_script(_CENTRAL_JS, MAP)
    return int(trace), int(point)
