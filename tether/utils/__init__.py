"""Small helpers shared by every layer; they import nothing else of tether's."""

from tether.utils.module_loading import import_string, install_hint
from tether.utils.functional import LazyProxy
from tether.utils.text import close_matches, snake_case

__all__ = ["LazyProxy", "import_string", "install_hint", "close_matches", "snake_case"]
