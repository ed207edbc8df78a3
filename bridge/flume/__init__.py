"""The Flume cloud side: transport, tokens, typed client, query windows and budget."""

from __future__ import annotations

import importlib
import sys
import threading
import types
from importlib.metadata import PackageNotFoundError, version

_SWAP = threading.Lock()


class _OnFirstUse(types.ModuleType):
    """A module's stand-in in sys.modules that imports it on first use.

    Its version is at hand without the import; any other name imports the module,
    which answers from then on.
    """

    __version__: str

    def __getattr__(self, attribute: str) -> object:
        # The import system's own questions (`__path__` on every `from x import y`)
        # are not uses: a module not yet loaded has no path, file or loader.
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        with _SWAP:  # one thread takes the stand-in out, the others find the module
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            module = importlib.import_module(self.__name__)
        return getattr(module, attribute)


def _defer(name: str, distribution: str) -> None:
    if name in sys.modules:
        return
    try:
        stand_in = _OnFirstUse(name)
        stand_in.__version__ = version(distribution)
    except PackageNotFoundError:
        return
    sys.modules[name] = stand_in


# `import requests` imports charset_normalizer (2.5 MiB of resident memory, measured by
# bench/rss_versus.py) only to guess the encoding of a text body that names none, with
# Response.text or .apparent_encoding. Flume answers JSON, which .json() decodes without
# it; the stand-in keeps the 2.5 MiB out of `run` and still imports it if ever asked.
_defer("charset_normalizer", "charset-normalizer")
