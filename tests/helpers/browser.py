"""What the browser tests do with a pointer: drag an element as a person would."""


def drag(page, locator, dx: float, dy: float) -> None:
    """Press on the middle of `locator`'s element, move `dx`, `dy` CSS pixels in steps, let go."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=8)
    page.mouse.up()
