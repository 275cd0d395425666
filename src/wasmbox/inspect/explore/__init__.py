"""``wasmbox explore``: record a run, then step through it in a browser, forwards and backwards.

The pieces, each with one job:

* :mod:`.recorder` is an :class:`~wasmbox.runtime.observer.Observer` that
  turns a run into per-step deltas (it never keeps whole stacks per step);
* :mod:`.recording` is the recorded run and its file format (``--save``),
  cut into chunks of steps that each start from a checkpoint;
* :mod:`.queries` answers what the page asks of a recording: a chunk, a
  window of linear memory at a step, the next step that matches a search;
* :mod:`.source` is the text the page shows and each instruction's line in it;
* :mod:`.server` serves the page and those queries on 127.0.0.1 behind a
  per-run token; :mod:`.page` builds the page (served, or one self-contained
  ``--html`` file with the recording embedded);
* ``assets/`` holds the page's own HTML, CSS and JavaScript (no framework,
  nothing fetched from elsewhere).
"""
