"""The kernel side of the emulated links: veth pairs, routes, static neighbours and the
rate limiter (`tbf`) of each link.

Link `i` runs hub `wan<i>` = `h<i>` (hub-side router) -> tun `th<i>` ~ forwarder ~ tun
`ts<i>` (site-side router) -> `s<i>` = site `wan0`. The two routers forward at the IP layer,
so the packets they queue no longer belong to the sender's socket and the sender's TCP sees
a router's queue, not its own. Each router's tun carries a `tbf`: the link's rate and its
drop-tail queue of `queue_bytes`; the forwarder (`link.py`) adds the one-way delay after it.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

from tests.support.wide_area.namespaces import ip

SUBNET = "10.213"
GSO_BYTES = 65536 + 2 * 1500  # the largest segmentation-offload packet the bucket must hold


def mac(index: int, end: int) -> str:
    """A locally administered MAC address for end `end` (1..4) of link `index`."""
    return f"02:53:{index >> 8:02x}:{index & 0xFF:02x}:00:{end:02x}"


@dataclass(frozen=True)
class LinkPlan:
    """The names and addresses of link `index` between `hub` and `site` via two routers."""

    index: int
    hub: str
    hub_router: str
    site_router: str
    site: str

    @property
    def hub_address(self) -> str:
        """The hub's address on this link."""
        return f"{SUBNET}.{self.index}.1"

    @property
    def site_address(self) -> str:
        """The site's address."""
        return f"{SUBNET}.{self.index}.2"

    @property
    def hub_tun(self) -> tuple[str, str]:
        """(namespace, device) of the tun that carries hub-to-site packets to the forwarder."""
        return self.hub_router, f"th{self.index}"

    @property
    def site_tun(self) -> tuple[str, str]:
        """(namespace, device) of the tun that carries site-to-hub packets to the forwarder."""
        return self.site_router, f"ts{self.index}"


def join_ends(plan: LinkPlan, mtu: int) -> None:
    """The two veth pairs of a link (hub to its router, site router to the site), addressed,
    with routes towards the link and static neighbours (no ARP)."""
    i = plan.index
    ip("link", "add", f"wan{i}", "netns", plan.hub, "address", mac(i, 1), "mtu", str(mtu),
       "type", "veth", "peer", "name", f"h{i}", "netns", plan.hub_router,
       "address", mac(i, 2), "mtu", str(mtu))
    ip("link", "add", f"s{i}", "netns", plan.site_router, "address", mac(i, 3), "mtu", str(mtu),
       "type", "veth", "peer", "name", "wan0", "netns", plan.site, "address", mac(i, 4),
       "mtu", str(mtu))
    for namespace, device, own, peer, peer_mac in (
            (plan.hub, f"wan{i}", plan.hub_address, plan.site_address, mac(i, 2)),
            (plan.site, "wan0", plan.site_address, plan.hub_address, mac(i, 3))):
        ip("-n", namespace, "addr", "add", f"{own}/32", "dev", device)
        ip("-n", namespace, "link", "set", device, "up")
        ip("-n", namespace, "route", "add", f"{peer}/32", "dev", device, "src", own)
        ip("-n", namespace, "neigh", "add", peer, "lladdr", peer_mac, "dev", device,
           "nud", "permanent")
    for namespace, device, address, address_mac in (
            (plan.hub_router, f"h{i}", plan.hub_address, mac(i, 1)),
            (plan.site_router, f"s{i}", plan.site_address, mac(i, 4))):
        ip("-n", namespace, "link", "set", device, "up")
        ip("-n", namespace, "route", "add", f"{address}/32", "dev", device)
        ip("-n", namespace, "neigh", "add", address, "lladdr", address_mac, "dev", device,
           "nud", "permanent")


def shape_tuns(plan: LinkPlan, rate_bps: float, queue_bytes: int) -> None:
    """Route each direction into its router's tun (once the forwarder has opened them) and
    give each tun the link's rate and drop-tail queue."""
    for (namespace, device), towards in ((plan.hub_tun, plan.site_address),
                                         (plan.site_tun, plan.hub_address)):
        ip("-n", namespace, "route", "add", f"{towards}/32", "dev", device)
        tc("-n", namespace, "qdisc", "replace", "dev", device, "root", "tbf",
           "rate", f"{int(rate_bps)}bit", "burst", str(GSO_BYTES), "limit",
           str(max(queue_bytes, GSO_BYTES)))


def tc(*args: str) -> str:
    """Run `tc *args`; its output, or `RuntimeError` with tc's own message."""
    result = subprocess.run(["tc", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"tc {' '.join(args)}: {result.stderr.strip() or result.returncode}")
    return result.stdout


def queue_drops(namespace: str, device: str) -> int:
    """Packets the rate limiter of `device` dropped because its queue was full."""
    stats = json.loads(tc("-n", namespace, "-s", "-j", "qdisc", "show", "dev", device))
    return sum(entry.get("drops", 0) for entry in stats if entry.get("kind") == "tbf")
