"""A real Ray cluster on this machine for the Ray executor's tests, shared by the module.

``ray.cluster_utils.Cluster`` starts the same processes as ``ray start`` (a GCS server, a
raylet and its worker processes per node) through Ray's own ``Node`` class, here a head node
and one worker node on loopback. It is used instead of the ``ray start`` command line because
the test then owns those processes and ``shutdown()`` stops exactly them: ``ray stop`` would
stop every Ray process on the machine. Each node declares one CPU; the drivers are separate
``evalr`` processes that connect with ``--ray-address``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Read by Ray when it is first imported: nodes bind loopback, nothing is reported anywhere.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    pytest.importorskip("ray", reason="ray is not installed (pip install 'evalr[ray]')")
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False, "node_ip_address": "127.0.0.1"},
    )
    try:
        cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        cluster.wait_for_nodes()
        yield cluster
    finally:
        cluster.shutdown()


@pytest.fixture(scope="session")
def ray_address(ray_cluster: Any) -> str:
    return str(ray_cluster.address)


def ray_logs(cluster: Any) -> list[Path]:
    """Every log file Ray wrote for this cluster."""
    session = Path(cluster.head_node.get_session_dir_path())
    return [p for p in (session / "logs").rglob("*") if p.is_file()]
