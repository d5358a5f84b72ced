"""Secure aggregation protocol (pure logic, no network): sums, masking, dropouts, shares."""

from __future__ import annotations

import numpy as np
import pytest
from Crypto.Protocol.SecretSharing import _Element

from synalgo.secure_aggregation import SecAggClient, SecAggError, SecAggParams, SecAggServer
from synalgo.secure_aggregation.shares import combine, split

CONTEXT = b"project/expt/run|round 1"
LENGTH = 2000


def keys_shared(values: dict[str, np.ndarray], params: SecAggParams
                ) -> tuple[dict[str, SecAggClient], SecAggServer]:
    """A client per participant and the server, past the key and share stages."""
    length = len(next(iter(values.values())))
    clients = {pid: SecAggClient(pid, CONTEXT, params) for pid in values}
    server = SecAggServer(CONTEXT, params, length)
    for pid, client in clients.items():
        server.receive_keys(pid, client.advertise())
    roster = server.roster_message()
    for pid, client in clients.items():
        server.receive_shares(pid, client.share_keys(roster))
    return clients, server


def run_protocol(values: dict[str, np.ndarray], params: SecAggParams,
                 drop_after_keys: set[str] = frozenset(),
                 drop_after_masked: set[str] = frozenset(),
                 masked_out: dict[str, np.ndarray] | None = None
                 ) -> tuple[np.ndarray, list[str]]:
    """One round over in-memory messages; `drop_*`: participants that stop answering."""
    clients, server = keys_shared(values, params)
    for pid, client in clients.items():
        if pid in drop_after_keys:
            continue
        masked = client.masked_input(server.shares_message(pid), values[pid])
        if masked_out is not None:
            masked_out[pid] = masked.copy()
        server.receive_masked(pid, masked)
    request = server.unmask_message()
    for pid in request["alive"]:
        if pid not in drop_after_masked:
            server.receive_unmask(pid, clients[pid].unmask(request))
    return server.result()


def updates(n: int, seed: int = 0, scale: float = 0.5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"w{index:02d}": rng.normal(0, scale, LENGTH) for index in range(n)}


def test_unmasked_sum_equals_the_float_sum_within_a_step_per_coordinate() -> None:
    values = updates(5)
    params = SecAggParams.for_clients(5)
    total, survivors = run_protocol(values, params)
    plain = sum(values.values())
    assert survivors == sorted(values)
    # each participant's stochastic rounding moves a coordinate by less than one step
    assert np.max(np.abs(total - plain)) < 5 * params.step
    assert abs(float(np.mean(total - plain))) < params.step  # unbiased


def test_values_are_clipped_to_the_range() -> None:
    values = {"a": np.full(10, 100.0), "b": np.full(10, -0.5)}
    total, _ = run_protocol(values, SecAggParams.for_clients(2, clip=1.0))
    assert np.allclose(total, 0.5, atol=1e-5)


def test_masked_vectors_differ_from_the_update_and_look_uniform() -> None:
    values = updates(3, scale=0.01)
    params = SecAggParams.for_clients(3)
    masked: dict[str, np.ndarray] = {}
    run_protocol(values, params, masked_out=masked)
    for pid, vector in masked.items():
        assert vector.dtype == np.uint32
        from synalgo.secure_aggregation.quantise import quantise
        plain = quantise(values[pid], params)
        assert np.mean(vector == plain) < 0.01
        # chi-square on the top 4 bits: 16 bins, 15 degrees of freedom
        counts = np.bincount(vector >> 28, minlength=16)
        expected = vector.size / 16
        chi_square = float(np.sum((counts - expected) ** 2 / expected))
        assert chi_square < 37.7  # p = 0.001
        # the plain quantised update is far from uniform on the same test
        plain_counts = np.bincount(plain >> 28, minlength=16)
        assert float(np.sum((plain_counts - expected) ** 2 / expected)) > 1000


@pytest.mark.parametrize("stage", ["keys", "masked"])
def test_dropping_up_to_n_minus_threshold_still_gives_the_survivors_sum(stage: str) -> None:
    values = updates(6, seed=1)
    params = SecAggParams.for_clients(6)  # threshold 4
    dropped = {"w01", "w04"}
    if stage == "keys":
        total, survivors = run_protocol(values, params, drop_after_keys=dropped)
        assert survivors == sorted(set(values) - dropped)
        plain = sum(values[pid] for pid in survivors)
    else:
        total, survivors = run_protocol(values, params, drop_after_masked=dropped)
        # dropping after the masked input: their inputs are in the sum, they just don't help
        assert survivors == sorted(values)
        plain = sum(values.values())
    assert np.max(np.abs(total - plain)) < len(survivors) * params.step


def test_dropping_more_than_n_minus_threshold_fails_with_a_clear_error() -> None:
    values = updates(6, seed=2)
    params = SecAggParams.for_clients(6)
    with pytest.raises(SecAggError, match="masked input: 3 participants answered, the "
                                          "threshold is 4"):
        run_protocol(values, params, drop_after_keys={"w00", "w02", "w03"})
    with pytest.raises(SecAggError, match="unmasking: 3 participants answered"):
        run_protocol(values, params, drop_after_masked={"w00", "w02", "w03"})


def test_a_client_refuses_a_peer_listed_as_both_alive_and_dropped() -> None:
    params = SecAggParams.for_clients(3)
    values = updates(3)
    clients, server = keys_shared(values, params)
    for pid, client in clients.items():
        client.masked_input(server.shares_message(pid), values[pid])
    with pytest.raises(SecAggError, match="w01 listed as both alive and dropped"):
        clients["w00"].unmask({"alive": ["w00", "w01", "w02"], "dropped": ["w01"]})
    with pytest.raises(SecAggError, match="exactly the participants that shared keys"):
        clients["w00"].unmask({"alive": ["w00", "w01"], "dropped": []})


def test_a_client_refuses_shares_sealed_for_another_session() -> None:
    params = SecAggParams.for_clients(2)
    first = SecAggClient("a", CONTEXT, params)
    second = SecAggClient("b", b"another round", params)
    server = SecAggServer(CONTEXT, params, 4)
    server.receive_keys("a", first.advertise())
    server.receive_keys("b", second.advertise())
    roster = server.roster_message()
    server.receive_shares("a", first.share_keys(roster))
    server.receive_shares("b", second.share_keys(roster))
    with pytest.raises(SecAggError, match="the shares from b do not decrypt for a"):
        first.masked_input(server.shares_message("a"), np.zeros(4))


def _evaluate_at(points: list[tuple[int, bytes]], x: int) -> bytes:
    """The value at `x` of the polynomial through `points` (Lagrange over GF(2^128))."""
    total = _Element(0)
    for i, (xi, yi) in enumerate(points):
        term = _Element(yi)
        for j, (xj, _) in enumerate(points):
            if i != j:
                term = term * (_Element(x) + _Element(xj)) * (_Element(xi) + _Element(xj)).inverse()
        total = total + term
    return total.encode()


def test_t_minus_one_shares_reveal_nothing_and_t_reconstruct() -> None:
    secret = bytes(range(32))
    shares = split(secret, 3, 5)
    assert combine(shares[1:4], 3, "secret") == secret
    assert combine(shares, 3, "secret") == secret
    with pytest.raises(SecAggError, match="secret: 2 shares, 3 are needed"):
        combine(shares[:2], 3, "secret")
    # two shares fit every candidate secret equally: for any guess there is a third share
    # completing them to that guess, so they carry no information about the secret
    known = shares[:2]
    for guess in (bytes(32), b"\xff" * 32, secret):
        completion = b"".join(
            _evaluate_at([(0, guess[half:half + 16])] + [(i, v[half:half + 16])
                                                        for i, v in known], 5)
            for half in (0, 16))
        assert combine(known + [(5, completion)], 3, "secret") == guess


def test_values_that_would_overflow_the_modulus_are_refused() -> None:
    with pytest.raises(SecAggError, match=r"1025 participants x 2\^secagg_bits \(22\)"):
        SecAggParams.for_clients(1025, bits=22)
    with pytest.raises(SecAggError, match="secagg_bits"):
        SecAggParams.for_clients(3, bits=31)
    SecAggParams.for_clients(3, bits=30)
    with pytest.raises(SecAggError, match="secagg_threshold 4"):
        SecAggParams.for_clients(3, threshold=4)


def test_default_threshold() -> None:
    from synalgo.secure_aggregation import default_threshold
    assert [default_threshold(n) for n in (1, 2, 3, 6, 8, 16)] == [2, 2, 2, 4, 6, 11]


def test_combining_with_cached_coefficients_matches_the_library_for_every_helper_set() -> None:
    from itertools import combinations

    from Crypto.Protocol.SecretSharing import Shamir

    secrets = [bytes([seed]) * 32 for seed in (1, 2)]
    for secret in secrets:  # the second secret reuses the first one's cached coefficients
        shares = split(secret, 3, 5)
        for chosen in combinations(shares, 3):
            library = b"".join(Shamir.combine([(index, value[start:start + 16])
                                               for index, value in chosen], ssss=False)
                               for start in (0, 16))
            assert combine(list(chosen), 3, "secret") == library == secret
