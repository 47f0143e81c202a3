"""The Dagster code location `pipelines.definitions`: the defs folder (resources, jobs, schedules, sensors)
merged with the asset graph of the top-level `assets` package."""

from pathlib import Path

import dagster as dg

import assets
from pipelines.collector import freeze_loaded

defs = dg.Definitions.merge(
    dg.load_from_defs_folder(path_within_project=Path(__file__).parent / "defs"),
    dg.Definitions(
        assets=dg.load_assets_from_package_module(assets),
        asset_checks=dg.load_asset_checks_from_package_module(assets),
        # What the UI uses to materialise a selection of assets: in one process, like `nightly_awards`. The
        # multiprocess default pays the code location's imports once per step (42 s for one asset here).
        executor=dg.in_process_executor,
    ),
)

freeze_loaded()  # pipelines/collector.py: the loaded code location is never walked by the collector again
