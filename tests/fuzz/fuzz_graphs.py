"""Hypothesis strategies of the fuzzer, composed from small generators: a shape, a module (a
family placed on any edge, or a registry case), a wiring (random DAGs with splits, concats and
conditions; deliberately wrong wirings) and a call (valid, or wrong in shape, dtype, count, kind).

Strategies draw *plans* (plain data), and ``build_*`` replays a plan into nodes, so that
construction errors happen inside the property, where they are checked, and failing examples
shrink to small plans.
"""

import math

import hypothesis.strategies as st
import torch
import torch.nn as nn
from cases import CASES
from fuzz_families import FAMILIES, subnet_for

import inn.framework as Ff
import inn.modules as Fm

VECTORS = st.tuples(st.integers(1, 6))
IMAGES = st.tuples(st.integers(1, 3), st.sampled_from([2, 4]), st.sampled_from([2, 4]))
SHAPES = st.one_of(VECTORS, IMAGES)

# Registry cases whose round trip and log-det are exact (the contract tests' 1e-9 cases).
EXACT_CASES = sorted(name for name, case in CASES.items()
                     if case.jacobian and case.atol <= 1e-9 and "gmm" not in name)


def _out_shape(family, shape):
    if family in ("haar", "irevnet"):
        return (4 * shape[0], shape[1] // 2, shape[2] // 2)
    if family == "flatten":
        return (math.prod(shape),)
    return shape


# -- random DAGs of families -------------------------------------------------------------------

@st.composite
def condition_plans(draw, shape, edges, own, conditions):
    """How a block on an edge of ``shape`` is conditioned: a new or shared ConditionNode, a
    FeedForwardNode over one, or another open edge (read, not consumed)."""
    if len(shape) == 1:
        cshape = (draw(st.integers(1, 3)),)
    else:
        cshape = (draw(st.integers(1, 2)), *shape[1:])
    kind = draw(st.sampled_from(["new", "shared", "feed_forward", "edge"]))
    if kind == "shared":
        same = [i for i, s in enumerate(conditions) if s == cshape]
        if same:
            return ("cond", draw(st.sampled_from(same)))
    if kind == "feed_forward" and len(shape) == 1:
        conditions.append((draw(st.integers(1, 3)),))
        return ("ff", len(conditions) - 1, cshape)
    if kind == "edge":
        readable = [i for i, (_, s) in enumerate(edges) if i != own and
                    (len(s) == len(shape) == 1 or (len(s) == len(shape) and s[1:] == shape[1:]))]
        if readable:
            return ("edge", draw(st.sampled_from(readable)))
    conditions.append(cshape)
    return ("cond", len(conditions) - 1)


@st.composite
def dag_plans(draw, max_steps=5):
    """A random DAG: inputs, then blocks, splits and concats on open edges, then outputs."""
    inputs = draw(st.lists(SHAPES, min_size=1, max_size=2))
    edges = [(("input", i), s) for i, s in enumerate(inputs)]  # (source, shape), open
    conditions: list = []
    ops = []
    for step in range(draw(st.integers(1, max_steps))):
        op = draw(st.sampled_from(["block", "block", "block", "split", "concat"]))
        if op == "split":
            splittable = [i for i, (_, s) in enumerate(edges) if s[0] >= 2]
            if splittable:
                i = draw(st.sampled_from(splittable))
                source, shape = edges.pop(i)
                k = draw(st.integers(1, shape[0] - 1))
                ops.append(("split", source, k))
                edges += [((step, 0), (k, *shape[1:])), ((step, 1), (shape[0] - k, *shape[1:]))]
                continue
        if op == "concat":
            pairs = [(i, j) for i in range(len(edges)) for j in range(len(edges))
                     if i != j and edges[i][1][1:] == edges[j][1][1:]]
            if pairs:
                i, j = draw(st.sampled_from(pairs))
                (a, sa), (b, sb) = edges[i], edges[j]
                edges = [e for k, e in enumerate(edges) if k not in (i, j)]
                ops.append(("concat", a, b))
                edges.append(((step, 0), (sa[0] + sb[0], *sa[1:])))
                continue
        i = draw(st.integers(0, len(edges) - 1))
        source, shape = edges[i]
        names = [n for n, f in FAMILIES.items() if f.applies(shape)]
        family = draw(st.sampled_from(names))
        cond = None
        if FAMILIES[family].needs_conditions or (FAMILIES[family].conditions
                                                 and draw(st.booleans())):
            cond = draw(condition_plans(shape, edges, i, conditions))
            if cond[0] == "edge":
                cond = ("edge", edges[cond[1]][0])  # refer to the edge, not its position
        ops.append(("block", source, family, draw(st.integers(0, 99)), cond))
        edges[i] = ((step, 0), _out_shape(family, shape))
    return {"inputs": inputs, "conditions": conditions, "ops": ops,
            "outputs": [source for source, _ in edges], "order_seed": draw(st.integers(0, 999))}


def build_dag(plan, fault=None):
    """Replay a plan into a node list (shuffled by ``order_seed``); ``fault`` miswires it."""
    nodes = [Ff.InputNode(*s, name=f"x{i}") for i, s in enumerate(plan["inputs"])]
    conds: dict = {}
    produced = {}

    def edge(source):
        return (nodes[source[1]], 0) if source[0] == "input" else (produced[source[0]], source[1])

    def condition_node(index, shape):
        if index not in conds:
            conds[index] = Ff.ConditionNode(*shape, name=f"c{index}")
        return conds[index]

    extra = []
    for step, op in enumerate(plan["ops"]):
        if op[0] == "split":
            produced[step] = Ff.Node(edge(op[1]), Fm.Split, {"section_sizes": op[2]},
                                     name=f"split{step}")
        elif op[0] == "concat":
            produced[step] = Ff.Node([edge(op[1]), edge(op[2])], Fm.Concat, {},
                                     name=f"concat{step}")
        else:
            _, source, family, seed, cond = op
            fam = FAMILIES[family]
            shape = edge(source)[0].output_dims[edge(source)[1]]
            conditions = None
            if cond is not None and cond[0] == "cond":
                conditions = condition_node(cond[1], plan["conditions"][cond[1]])
            elif cond is not None and cond[0] == "ff":
                base = condition_node(cond[1], plan["conditions"][cond[1]])
                conditions = Ff.FeedForwardNode(
                    base, cond[2], nn.Linear,
                    {"in_features": base.dims[0], "out_features": cond[2][0]}, name=f"ff{step}")
                extra.append(conditions)
            elif cond is not None:
                conditions = edge(cond[1])
            produced[step] = Ff.Node(edge(source), fam.cls, fam.kwargs(shape, seed),
                                     conditions=conditions, name=f"{family}{step}")
    outputs = [Ff.OutputNode(edge(s), name=f"z{i}") for i, s in enumerate(plan["outputs"])]
    node_list = nodes + list(conds.values()) + extra + list(produced.values()) + outputs
    generator = torch.Generator().manual_seed(plan["order_seed"])
    node_list = [node_list[i] for i in torch.randperm(len(node_list), generator=generator)]
    if fault is not None:
        node_list = FAULTS[fault](node_list, nodes, outputs)
    return node_list


# -- wrong wirings: each must raise an InnError at construction -----------------------------------

def _first_open_input(nodes):
    return (nodes[0], 0)


def _reuse_edge(node_list, inputs, outputs):
    Ff.Node(_first_open_input(inputs), Fm.PermuteRandom, {}, name="second_consumer")
    return node_list


def _own_input_cycle(node_list, inputs, outputs):
    x = Ff.InputNode(4, name="cyc_x")
    block = Ff.Node(x, Fm.GLOWCouplingBlock, {"subnet_constructor": subnet_for((4,))},
                    conditions=[x.out0], name="cycle")
    return [*node_list, x, block, Ff.OutputNode(block, name="cyc_z")]


def _condition_as_input(node_list, inputs, outputs):
    c = Ff.ConditionNode(4, name="cond_in")
    Ff.Node(c, Fm.PermuteRandom, {}, name="reads_condition")
    return node_list


def _bad_index(node_list, inputs, outputs):
    Ff.Node((inputs[0], 3), Fm.PermuteRandom, {}, name="bad_index")
    return node_list


def _bad_arguments(node_list, inputs, outputs):
    x = Ff.InputNode(4, name="bad_x")
    Ff.Node(x, Fm.GLOWCouplingBlock, {"subnet_constructor": subnet_for((4,)), "split_len": 0},
            name="bad_args")
    return node_list


def _typo(node_list, inputs, outputs):
    x = Ff.InputNode(4, name="typo_x")
    Ff.Node(x, Fm.GLOWCouplingBlock, {"subnet_constructor": subnet_for((4,)), "clmap": 2.0},
            name="typo")
    return node_list


def _prebuilt_wrong_dims(node_list, inputs, outputs):
    shape = inputs[0].dims
    Ff.Node(inputs[0], Fm.PermuteRandom([(shape[0] + 1, *shape[1:])]), name="prebuilt")
    return node_list


FAULTS = {
    "drop_input": lambda nl, ins, outs: [n for n in nl if n is not ins[0]],
    "drop_output": lambda nl, ins, outs: [n for n in nl if n is not outs[0]],
    "duplicate": lambda nl, ins, outs: [*nl, nl[0]],
    "unused_input": lambda nl, ins, outs: [*nl, Ff.InputNode(3, name="unused")],
    "unused_condition": lambda nl, ins, outs: [*nl, Ff.ConditionNode(2, name="unused_c")],
    "non_node": lambda nl, ins, outs: [*nl, torch.zeros(2)],
    "only_outputs": lambda nl, ins, outs: [n for n in nl if isinstance(n, Ff.OutputNode)],
    "reuse_edge": _reuse_edge,
    "own_input_cycle": _own_input_cycle,
    "condition_as_input": _condition_as_input,
    "bad_index": _bad_index,
    "bad_arguments": _bad_arguments,
    "typo": _typo,
    "prebuilt_wrong_dims": _prebuilt_wrong_dims,
}


# -- registry cases in random wirings ----------------------------------------------------------

@st.composite
def registry_plans(draw):
    """A registry case, placed in a GraphINN (optionally behind a permutation and in front of an
    ActNorm per output) or in a SequenceINN."""
    name = draw(st.sampled_from(EXACT_CASES))
    return {"case": name, "container": draw(st.sampled_from(["graph", "sequence"])),
            "permute_before": draw(st.booleans()), "actnorm_after": draw(st.booleans()),
            "seed": draw(st.integers(0, 99))}


def build_registry(plan):
    """``(net, module, case)`` for a registry plan; the module is pre-built (as users do)."""
    case = CASES[plan["case"]]
    module = case.factory()
    dims_in, dims_c = module.dims_in, list(getattr(module, "dims_c", []))
    n_out = len(module.output_dims(dims_in))
    if plan["container"] == "sequence" and case.sequence and len(dims_in) == n_out == 1:
        seq = Ff.SequenceINN(*dims_in[0], force_tuple_output=True)
        if plan["permute_before"]:
            seq.append(Fm.PermuteRandom, seed=plan["seed"])
        seq.append(module, cond=list(range(len(dims_c))) if dims_c else None)
        if plan["actnorm_after"]:
            seq.append(Fm.ActNorm)
        return seq, module, case
    inputs = [Ff.InputNode(*s, name=f"x{i}") for i, s in enumerate(dims_in)]
    conds = [Ff.ConditionNode(*s, name=f"c{i}") for i, s in enumerate(dims_c)]
    feeds, glue = [], []
    for x in inputs:
        if plan["permute_before"]:
            glue.append(Ff.Node(x, Fm.PermuteRandom, {"seed": plan["seed"]}, name=f"p_{x.name}"))
            feeds.append(glue[-1].out0)
        else:
            feeds.append(x.out0)
    node = Ff.Node(feeds, module, conditions=conds or None, name=plan["case"])
    outs = []
    for i in range(n_out):
        source = (node, i)
        if plan["actnorm_after"]:
            glue.append(Ff.Node(source, Fm.ActNorm, {}, name=f"norm{i}"))
            source = glue[-1].out0
        outs.append(Ff.OutputNode(source, name=f"z{i}"))
    net = Ff.GraphINN([*inputs, *conds, *glue, node, *outs], force_tuple_output=True)
    return net, module, case


# -- calls -------------------------------------------------------------------------------------

WRONG_CALLS = [
    "feature", "extra_axis", "missing_axis", "batch", "float32", "int", "uint8", "complex",
    "half", "drop_input", "extra_input", "numpy", "dict", "numbers", "none_input", "string",
    "cond_missing", "cond_extra", "cond_batch_one", "cond_shape", "cond_float32", "cond_numpy",
    "batch_zero", "rev_feature", "rev_count",
]
