"""The geometry of the pages' server-side SVG bar charts (usage, revenue): round axis, bars, ticks."""

from dataclasses import dataclass

WIDTH, HEIGHT = 720, 260
RIGHT, TOP, BOTTOM = 12, 16, 30  # room around the plot; the left margin depends on the axis labels


def _steps():  # noqa: ANN202 - 1, 2, 5, 10, 20, 25, 50, 100, 250, 500, then 1, 2, 5 × 10^k from 1,000
    yield from (1, 2, 5, 10, 20, 25, 50, 100, 250, 500)
    power = 1000
    while True:
        yield from (power, 2 * power, 5 * power)
        power *= 10


def scale(highest: int) -> tuple[int, int]:
    """A round top for the y axis, at least one step above the highest value, and that step."""
    for step in _steps():
        if highest <= step * 5:
            return max(step * ((highest // step) + 1), step), step
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Plot:
    """Bars of `count` values under the axis top `top`, with `left` pixels kept for the y labels."""

    count: int
    top: int
    left: int

    @property
    def base(self) -> float:
        return HEIGHT - BOTTOM

    @property
    def slot(self) -> float:
        return (WIDTH - self.left - RIGHT) / self.count

    def y(self, value: int) -> float:
        plot_h = HEIGHT - TOP - BOTTOM
        return round(TOP + plot_h - plot_h * value / self.top, 1)

    def bar(self, index: int, value: int) -> dict:
        """x, y, width and height of the index-th bar."""
        return {
            "x": round(self.left + index * self.slot + self.slot * 0.15, 1),
            "y": self.y(value),
            "width": round(self.slot * 0.7, 1),
            "height": round(self.base - self.y(value), 1),
        }

    def center(self, index: int) -> float:
        return round(self.left + index * self.slot + self.slot / 2, 1)

    def frame(self) -> dict:
        """What the template draws the frame with."""
        return {"width": WIDTH, "height": HEIGHT, "left": self.left, "right": WIDTH - RIGHT, "base": self.base}
