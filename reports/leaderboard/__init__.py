"""``evalr leaderboard RUNS_ROOT --out SITE_DIR``: a static leaderboard site over run directories.

The site opens from ``file://`` and any static host (GitHub Pages) as it is: every page is
self-contained (inline CSS and JS, data in the page, no fetch), ranks models per task, metric
and protocol with tie groups from paired tests over shared problems, and is rebuilt
incrementally (only runs whose files changed are rendered again) and atomically.

Modules: ``catalog`` (what runs there are and what state each is in), ``inputs`` (content
hashes of the inputs, the record that makes rebuilds incremental), ``ranking`` (comparable runs,
newest per model, paired tests, rank intervals and tie groups), ``pages`` (rendering),
``sitedir`` (building beside the site and swapping it in), ``build`` (the whole build) and
``cli`` (the click command). Importing this package imports nothing heavy.
"""
