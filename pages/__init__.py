"""Dash pages (registered with ``dash.register_page``); thin: layouts and callbacks call components."""
