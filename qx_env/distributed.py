"""Work spread over a Ray cluster: connect to one (or start a local one bound to loopback) and map a
function over shards as Ray tasks, the results in shard order, with a progress bar of finished shards.

A local cluster started here binds to loopback (127.0.0.1) and starts no dashboard; an ``address``
joins an existing cluster instead (then every path a task reads or writes must be on storage every
node sees). Ray is an optional dependency (the ``dist`` extra): it is imported only when used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from qx_env.errors import QxError

LOOPBACK = "127.0.0.1"


def _loopback_only() -> None:
    """Ray on Linux replaces a loopback node address by the machine's reachable IP unless clusters are
    switched off, as it does on macOS and Windows; switch them off for this local node (the environment
    variable for the processes Ray starts, Ray's constant for this one, which read it at import)."""
    import ray._private.ray_constants as constants

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    constants.ENABLE_RAY_CLUSTER = False


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast, naming the address, when nothing listens there (Ray itself retries for minutes)."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        if address == "auto":
            return
        raise QxError(f"Ray address {address!r} should be host:port (or ray://host:port, or auto)")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise QxError(f"cannot reach a Ray cluster at {address}: {exc.strerror or exc}") from None


def _keep_the_jvm_signal_handlers() -> None:
    """Ray's driver installs a failure signal handler for SIGSEGV; the JVM of this process (keyword
    search) uses SIGSEGV itself once its code is compiled, so with Ray's handler in place the process
    crashes. Ray's own switch turns the handler off (read at import, hence the constant too)."""
    import ray._private.ray_constants as constants

    os.environ["RAY_DISABLE_FAILURE_SIGNAL_HANDLER"] = "1"
    constants.RAY_DISABLE_FAILURE_SIGNAL_HANDLER = True


def start_ray(address: str = "", cpus: int | None = None):
    """Connect to the cluster at ``address``, or start a local one bound to loopback (with ``cpus``
    CPUs, default all); returns the ``ray`` module. Already connected: the connection is kept."""
    try:
        import ray
    except ImportError:
        raise QxError("Ray is not installed: pip install 'qx-env[dist]' (or ray>=2.9)") from None

    if ray.is_initialized():
        return ray
    _keep_the_jvm_signal_handlers()
    try:
        if address:
            _check_reachable(address)
            ray.init(address=address, log_to_driver=False)
        else:
            _loopback_only()
            ray.init(num_cpus=cpus, include_dashboard=False, _node_ip_address=LOOPBACK, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        # something listens there but Ray did not connect: token authentication is the usual cause
        hint = " (a cluster with token authentication needs RAY_AUTH_MODE=token here too)" if address else ""
        raise QxError(f"cannot reach a Ray cluster at {address or 'a new local one'}: {exc}{hint}") from None
    return ray


def cluster_cpus(address: str = "") -> int:
    """The CPUs of the cluster (connecting as :func:`start_ray` does): the shards that keep every worker busy."""
    return max(1, int(start_ray(address).cluster_resources().get("CPU", 1)))


def split_evenly(items: Sequence, shards: int) -> list[list]:
    """``items`` in at most ``shards`` contiguous runs whose lengths differ by at most one (none empty)."""
    shards = max(1, min(shards, len(items)))
    size, extra = divmod(len(items), shards)
    bounds = [i * size + min(i, extra) for i in range(shards + 1)]
    return [list(items[bounds[i]:bounds[i + 1]]) for i in range(shards) if bounds[i] < bounds[i + 1]]


def map_shards(function: Callable[..., Any], shards: Sequence, *shared: Any, address: str = "",
               desc: str = "ray shards", progress: bool = True) -> list:
    """``[function(shard, *shared) for shard in shards]``, each call a Ray task (on the cluster at
    ``address``, or a local one). ``shared`` arguments go to the object store once for all tasks.
    ``function`` must be importable by the workers (a module-level function of an installed module).
    A task's :class:`~qx_env.errors.QxError` is raised here as it is; other errors as Ray wraps them."""
    from tqdm.auto import tqdm

    ray = start_ray(address)
    task = ray.remote(function)
    stored = [ray.put(value) for value in shared]
    pending = [task.remote(shard, *stored) for shard in shards]
    order = list(pending)
    try:
        with tqdm(total=len(pending), desc=desc, disable=not progress) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                ray.get(done)  # the first failing shard stops the map
                bar.update(len(done))
        return ray.get(order)
    except ray.exceptions.RayTaskError as exc:
        for task_ref in pending:
            ray.cancel(task_ref)
        if isinstance(exc.cause, QxError):
            raise exc.cause from None
        raise
