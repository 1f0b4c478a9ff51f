"""The min-cost maximum flow behind the team plan (team_plan.py holds the model and calls this).

Input: groups of interchangeable athletes (`sizes[g]` athletes each) and, per window, the
cost of each candidate slot by rank (`costs[r]`, strictly increasing with r) and the ranks
each group cannot take (`blocked[g]`). The network is::

    source -> pre class -> group in -> group out -> post class -> sink

- a **class** gathers the slots of one window that exactly the same groups may take (the
  slots no group is blocked from form class 0). Each slot is one arc source -> its class
  (capacity 1, the slot's cost; parallel arcs); class -> group arcs (capacity = the group's
  size, cost 0) exist only where the group may take the class's slots. Slots of one class
  are interchangeable for every group, so this is the plain graph with the slot -> athlete
  arcs shared instead of repeated;
- group in -> group out has capacity = the group's size: the flow through it is how many
  of the group's athletes get both sessions.

The maximum flow is the most athletes placed with both sessions; its minimum cost is the
best total of slot costs among those. OR-Tools' `solve_max_flow_with_min_cost` computes
exactly that pair.

Pruning, all exact. Let F = min(athletes, pre slots, post slots), a bound on the flow.
Because a slot's cost does not depend on who takes it and costs strictly increase with
rank, an optimal flow can always trade a used slot s for an unused, better-ranked slot s'
that the same group may take (same flow value, strictly lower cost). So in every optimal
flow:

1. no slot ranked after the F-th slot of class 0 is used (of the F class-0 slots before
   it, at most F - 1 are used, and every group may take them): those slots are dropped;
2. within a class, the used slots are the best ones, at most F: the rest are dropped;
3. a group uses only its own best F takeable slots: a class -> group arc is added only
   when the class holds one of them.

Every optimal flow of the full graph therefore lies in the pruned one, whose flows are
flows of the full graph: same maximum, same minimum cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Ints = NDArray[np.int64]


@dataclass(frozen=True)
class Side:
    """One window as the flow sees it: `costs[r]` is the cost of the slot of rank r
    (strictly increasing in r); `blocked[g]` the ranks group g may not take."""

    costs: Ints
    blocked: Sequence[frozenset[int]]


@dataclass(frozen=True)
class _Layout:
    """A window after pruning: the kept ranks (ascending), the class of each, and the
    (class, group) pairs that get an arc."""

    ranks: Ints
    classes: Ints
    count: int
    arc_class: Ints
    arc_group: Ints


def slot_costs(count: int, scale: int, terms: Sequence[int] | None) -> Ints:
    """`rank * scale + terms[rank]` for every rank (terms must stay below `scale`)."""
    costs = np.arange(count, dtype=np.int64) * scale
    return costs + np.asarray(terms, dtype=np.int64) if terms is not None else costs


def _blocking(side: Side) -> dict[int, list[int]]:
    """rank -> the groups (ascending) that may not take it, for ranks blocked by any."""
    found: dict[int, list[int]] = {}
    for group, ranks in enumerate(side.blocked):
        for rank in ranks:
            found.setdefault(rank, []).append(group)
    return found


def _cutoff(count: int, blocked_ranks: Sequence[int], bound: int) -> int:
    """The number of leading ranks worth keeping: up to and including the bound-th rank
    that no group is blocked from (pruning rule 1), or all of them."""
    universal = np.ones(count, dtype=bool)
    universal[list(blocked_ranks)] = False
    seen = np.cumsum(universal)
    if count == 0 or seen[-1] < bound:
        return count
    return int(np.searchsorted(seen, bound)) + 1


def _first_per_class(classes: Ints, bound: int) -> NDArray[np.bool_]:
    """True for the first `bound` ranks of each class (pruning rule 2)."""
    order = np.argsort(classes, kind="stable")
    ordered = classes[order]
    keep = np.empty(len(classes), dtype=bool)
    keep[order] = np.arange(len(classes)) - np.searchsorted(ordered, ordered) < bound
    return keep


def _arcs(classes: Ints, barred: NDArray[np.bool_], bound: int) -> tuple[Ints, Ints]:
    """(class, group) pairs whose class holds one of the group's best `bound` takeable
    kept slots (pruning rule 3), grouped by group."""
    arc_class, arc_group = [], []
    for group in range(barred.shape[1]):
        takeable = np.flatnonzero(~barred[classes, group])[:bound]
        used = np.unique(classes[takeable])
        arc_class.append(used)
        arc_group.append(np.full(len(used), group, dtype=np.int64))
    return np.concatenate(arc_class), np.concatenate(arc_group)


def _layout(side: Side, bound: int) -> _Layout:
    """Prune one window and sort its kept slots into classes."""
    blocking = _blocking(side)
    cutoff = _cutoff(len(side.costs), list(blocking), bound)
    ids: dict[tuple[int, ...], int] = {(): 0}
    classes = np.zeros(cutoff, dtype=np.int64)
    for rank, groups in blocking.items():
        if rank < cutoff:
            classes[rank] = ids.setdefault(tuple(groups), len(ids))
    barred = np.zeros((len(ids), len(side.blocked)), dtype=bool)
    for signature, class_id in ids.items():
        barred[class_id, list(signature)] = True
    keep = _first_per_class(classes, bound)
    arc_class, arc_group = _arcs(classes[keep], barred, bound)
    return _Layout(np.flatnonzero(keep), classes[keep], len(ids), arc_class, arc_group)


def _network(sizes: Ints, pre: _Layout, post: _Layout, pre_costs: Ints,
             post_costs: Ints) -> tuple[Ints, Ints, Ints, Ints, list[int]]:
    """The arcs as (tails, heads, capacities, costs) and where each block of arcs starts:
    source -> pre class (one per kept slot), pre class -> group in, group in -> group out,
    group out -> post class, post class -> sink (one per kept slot)."""
    groups = len(sizes)
    pre_node, in_node = 2, 2 + pre.count
    out_node, post_node = in_node + groups, in_node + 2 * groups
    blocks = [
        (np.zeros(len(pre.ranks), np.int64), pre_node + pre.classes, 1, pre_costs[pre.ranks]),
        (pre_node + pre.arc_class, in_node + pre.arc_group, sizes[pre.arc_group], 0),
        (in_node + np.arange(groups), out_node + np.arange(groups), sizes, 0),
        (out_node + post.arc_group, post_node + post.arc_class, sizes[post.arc_group], 0),
        (post_node + post.classes, np.ones(len(post.ranks), np.int64), 1,
         post_costs[post.ranks]),
    ]
    starts = list(np.cumsum([0] + [len(block[0]) for block in blocks]))
    arrays = [np.concatenate([np.broadcast_to(np.asarray(b[i], np.int64), b[0].shape)
                              for b in blocks]) for i in range(4)]
    return arrays[0], arrays[1], arrays[2], arrays[3], [int(s) for s in starts]


def _flows(tails: Ints, heads: Ints, caps: Ints, costs: Ints, supply: int) -> Ints:
    """The flow on every arc of a maximum flow of minimum cost from node 0 to node 1."""
    from ortools.graph.python import min_cost_flow  # ~0.2 s to import: only when planning

    solver = min_cost_flow.SimpleMinCostFlow()
    arcs = solver.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps, costs)
    solver.set_nodes_supplies(np.array([0, 1], np.int32), np.array([supply, -supply]))
    status = solver.solve_max_flow_with_min_cost()
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    return np.asarray(solver.flows(arcs), dtype=np.int64)


def _hand_out(layout: _Layout, slot_flow: Ints, pair_flow: Ints,
              groups: int) -> list[list[int]]:
    """The used slots of each class, best first, handed to the groups in group order as the
    class -> group flows say (any split is valid: a class's slots are interchangeable)."""
    used = layout.ranks[slot_flow > 0]
    used_classes = layout.classes[slot_flow > 0]
    queues = {int(c): list(map(int, used[used_classes == c])) for c in np.unique(used_classes)}
    taken = [0] * layout.count
    handed: list[list[int]] = [[] for _ in range(groups)]
    for c, g, f in zip(layout.arc_class.tolist(), layout.arc_group.tolist(),
                       pair_flow.tolist(), strict=True):
        if f:
            handed[g] += queues[c][taken[c]:taken[c] + f]
            taken[c] += f
    return handed


def solve(sizes: Sequence[int], pre: Side, post: Side) -> list[tuple[list[int], list[int]]]:
    """Per group, the ranks of the pre and the post slots its athletes get (equally many,
    ascending) in a maximum flow of minimum total cost; see the module docstring."""
    bound = min(sum(sizes), len(pre.costs), len(post.costs))
    if bound == 0:
        return [([], []) for _ in sizes]
    size_array = np.asarray(sizes, dtype=np.int64)
    pre_layout, post_layout = _layout(pre, bound), _layout(post, bound)
    *arcs, starts = _network(size_array, pre_layout, post_layout, pre.costs, post.costs)
    flow = _flows(*arcs, supply=bound)
    block = [flow[starts[i]:starts[i + 1]] for i in range(5)]
    pre_ranks = _hand_out(pre_layout, block[0], block[1], len(sizes))
    post_ranks = _hand_out(post_layout, block[4], block[3], len(sizes))
    return [(sorted(p), sorted(q)) for p, q in zip(pre_ranks, post_ranks, strict=True)]
