"""The run fields of secure aggregation and the combinations it refuses.

`secure_aggregation` (bool), `secagg_clip` (each update coordinate is clipped to
[-secagg_clip, secagg_clip]), `secagg_bits` (quantisation bits), `secagg_threshold` (shares
that reconstruct a secret; null: max(2, ceil(2N/3))). With secure aggregation the TTP sees
only the sum of the updates, so whatever needs one Worker's update is refused, and the
default `update_clip` "auto" (a bound from the round's per-update norms) is turned off.
"""

from __future__ import annotations

from typing import Any

from synalgo.secure_aggregation.errors import SecAggError
from synalgo.secure_aggregation.params import MODULUS_BITS, SecAggParams

FIELDS = ("secure_aggregation", "secagg_clip", "secagg_bits", "secagg_threshold")


def check_fields(run: dict[str, Any]) -> dict[str, str]:
    """Type and range errors of the secure-aggregation fields, by field."""
    errors = {}
    if not isinstance(run.get("secure_aggregation"), bool):
        errors["secure_aggregation"] = "must be a boolean"
    clip = run.get("secagg_clip")
    if isinstance(clip, bool) or not isinstance(clip, int | float) or not 0 < clip < 1e6:
        errors["secagg_clip"] = "must be a number > 0 and < 1e6"
    bits = run.get("secagg_bits")
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits < MODULUS_BITS:
        errors["secagg_bits"] = f"must be an integer between 1 and {MODULUS_BITS - 1}"
    threshold = run.get("secagg_threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int)
                                  or threshold < 2):
        errors["secagg_threshold"] = "must be an integer >= 2 or null (max(2, ceil(2N/3)))"
    return errors


def conflicts(run: dict[str, Any]) -> list[str]:
    """What a run with `secure_aggregation` combines that needs one Worker's update."""
    found = []
    if run.get("aggregator", "mean") != "mean":
        found.append(f"aggregator {run['aggregator']!r} needs every Worker's update; the TTP "
                     "only learns their sum: use 'mean'")
    clip = run.get("update_clip")
    if clip is not None and clip != "auto":
        found.append("a numeric update_clip bounds each Worker's update on the TTP, which "
                     "never sees one: use secagg_clip (each Worker clips its own update)")
    if run.get("algorithm") == "FedGKT":
        found.append("FedGKT sends features and logits, not model updates, to the TTP")
    if run.get("contribution") is True:
        found.append("contribution scoring needs every Worker's update")
    if run.get("update_compression", "none") != "none":
        found.append(f"update_compression {run['update_compression']!r}: secure aggregation "
                     "quantises updates on its own, use 'none'")
    dp = run.get("dp")
    if isinstance(dp, dict) and dp.get("mode") == "central":
        found.append("central DP clips each Worker's update on the TTP; use dp mode 'worker'")
    return found


def check_run(run: dict[str, Any], errors: dict[str, str]) -> dict[str, str]:
    """The secure-aggregation errors of a normalised run; turns the default update_clip
    "auto" off (in place) when secure aggregation is on."""
    problems = {name: message for name, message in check_fields(run).items()
                if name not in errors}
    if run.get("secure_aggregation") is not True or problems:
        return problems
    found = conflicts(run)
    if found:
        return {"secure_aggregation": "cannot be combined with: " + "; ".join(found)}
    if run.get("update_clip") == "auto":
        run["update_clip"] = None
    return {}


def round_params(run: dict[str, Any], n_clients: int) -> SecAggParams:
    """The protocol parameters for `n_clients` Workers; `SecAggError` naming the fields
    when they cannot work (the sum could overflow, the threshold exceeds the Workers)."""
    try:
        return SecAggParams.for_clients(n_clients, run.get("secagg_threshold"),
                                        float(run["secagg_clip"]), int(run["secagg_bits"]))
    except SecAggError as error:
        raise SecAggError(f"secure aggregation with {n_clients} Workers: {error}") from None
