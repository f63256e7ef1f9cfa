"""Scarce world supply shared among players: contracts first, then one of three rules on what is left.

Every function works on whole arrays: capacity ``(...,)`` and requests ``(..., player)``, where ``...`` is any
leading shape (months, draws). No loop over months, draws or players.

Rules (``RULES``):

- ``pro-rata``: what is left after contracts goes to the remaining requests in proportion to their size.
- ``shares``: weighted max-min fairness (water-filling): each player gets ``min(request, share * level)`` with one
  level for all players, chosen so the capacity is used up or every request is met; a player that needs less than
  its share leaves the rest to the others.
- ``market``: a uniform-price auction of what is left: requests are served in order of their bid, highest first,
  equal bids pro-rata among themselves; the clearing price is the lowest bid served when the capacity binds (no
  price when it does not: the resource is not scarce).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from fab2token.scenario.race import RULES  # the rules a race file may name

__all__ = ["RULES", "contracts_first", "pro_rata", "water_fill", "auction", "allocate"]


Array = NDArray[np.float64]


def _scale(capacity: Array, total: Array) -> Array:
    """min(1, capacity / total), 1 where nothing is asked for."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(total > capacity, capacity / np.where(total > 0, total, 1.0), 1.0)


def contracts_first(capacity: Array, request: Array, contract: Array) -> tuple[Array, Array]:
    """Grants of the contracted volumes (each at most its request; scaled down pro-rata when contracts together
    exceed the capacity) and the capacity left after them."""
    owed = np.minimum(contract, request)
    granted = owed * _scale(capacity, owed.sum(axis=-1))[..., None]
    return granted, np.maximum(capacity - granted.sum(axis=-1), 0.0)


def pro_rata(capacity: Array, request: Array) -> Array:
    """Each request scaled by the same factor, min(1, capacity / total request)."""
    return request * _scale(capacity, request.sum(axis=-1))[..., None]


def water_fill(capacity: Array, request: Array, share: Array) -> Array:
    """Weighted max-min fair grants: ``min(request, share * level)`` summing to ``min(capacity, total request)``.

    Players are sorted by request / share; at the k-th of them the level equals its ratio and the grants sum to
    ``S_k = sum of the requests up to k + ratio_k * sum of the shares after k``. The level lies in the first
    interval where ``S_k`` reaches the capacity, found for every leading index at once.
    """
    share = np.broadcast_to(np.asarray(share, dtype=float), request.shape)
    ratio = request / share
    order = np.argsort(ratio, axis=-1, kind="stable")
    r = np.take_along_axis(ratio, order, axis=-1)
    d = np.take_along_axis(request, order, axis=-1)
    w = np.take_along_axis(share, order, axis=-1)
    served_before = np.cumsum(d, axis=-1) - d  # requests of the players below k, all met
    shares_from = np.flip(np.cumsum(np.flip(w, axis=-1), axis=-1), axis=-1)  # shares of k and above
    reach = served_before + d + r * (shares_from - w)  # S_k
    cap = np.asarray(capacity, dtype=float)[..., None]
    k = np.argmax(reach >= cap, axis=-1)[..., None]  # first k whose level uses the capacity up
    level = (cap - np.take_along_axis(served_before, k, axis=-1)) / np.take_along_axis(shares_from, k, axis=-1)
    level = np.where((reach >= cap).any(axis=-1, keepdims=True), level, np.inf)  # enough for everyone
    return np.minimum(request, share * level)


def auction(capacity: Array, request: Array, bid: Array) -> tuple[Array, Array]:
    """Grants by bid, highest first, ties pro-rata; and the clearing price (NaN where the capacity does not bind).

    For each player, the requests of higher bidders come first; its group of equal bids shares what they leave.
    """
    bid = np.broadcast_to(np.asarray(bid, dtype=float), request.shape)
    higher = bid[..., None, :] > bid[..., :, None]  # [..., i, j]: j bids more than i
    equal = bid[..., None, :] == bid[..., :, None]
    before = (higher * request[..., None, :]).sum(axis=-1)
    group = (equal * request[..., None, :]).sum(axis=-1)
    cap = np.asarray(capacity, dtype=float)[..., None]
    left = np.clip(cap - before, 0.0, group)
    with np.errstate(divide="ignore", invalid="ignore"):
        granted = np.where(group > 0, request * left / np.where(group > 0, group, 1.0), 0.0)
    binds = request.sum(axis=-1) > np.asarray(capacity, dtype=float) * (1 + 1e-12)
    served = granted > 0
    lowest = np.where(served, bid, np.inf).min(axis=-1)
    price = np.where(binds & served.any(axis=-1), lowest, np.nan)
    return granted, price


def allocate(
    rule: str, capacity: Array, request: Array, contract: Array, share: Array, bid: Array
) -> tuple[Array, Array]:
    """Contracts first, then ``rule`` on what is left.

    Parameters
    ----------
    rule : str
        ``pro-rata``, ``shares`` (max-min fair by share: water-filling) or ``market`` (a uniform-price auction).
    capacity : numpy.ndarray
        The pool's capacity, ``(...)`` (months, draws: any leading shape).
    request, contract, share, bid : numpy.ndarray
        Each player's request, contracted volume, share and bid, ``(..., player)``.

    Returns
    -------
    tuple of numpy.ndarray
        The grants ``(..., player)`` and the clearing price ``(...)`` (NaN unless the rule is ``market`` and the
        capacity binds).

    Raises
    ------
    ValueError
        An unknown rule.
    """
    capacity = np.maximum(np.asarray(capacity, dtype=float), 0.0)
    request = np.maximum(np.asarray(request, dtype=float), 0.0)
    contracted, left = contracts_first(capacity, request, np.broadcast_to(contract, request.shape))
    rest = request - contracted
    price = np.full(np.shape(capacity), np.nan)
    if rule == "pro-rata":
        more = pro_rata(left, rest)
    elif rule == "shares":
        more = water_fill(left, rest, share)
    elif rule == "market":
        more, price = auction(left, rest, bid)
    else:
        raise ValueError(f"unknown allocation rule {rule!r}; one of {', '.join(RULES)}")
    return contracted + more, price
