"""The circuit command: how a unit, class or objective is built from earlier layers."""
from __future__ import annotations

import argparse
from pathlib import Path

from convscope import api
from convscope.cli.common import emit, load_model, parse_size, plural, progress_bar
from convscope.cli.flags import RECIPE_HELP, Command, json_flag, model_argument, model_flags, recipe_name
from convscope.cli.spec_flags import spec_from_args


def summary(circuit: api.Circuit, page: Path) -> str:
    """The circuit as lines of text: the root's inputs, the ablation, what it feeds, the files."""
    root = circuit.root_node
    top = circuit.settings["top"]
    a = root.ablation
    lines = [f"{circuit.model} {root.label} from {root.inputs_named}, {circuit.method}, on its "
             f"{plural(len(root.photos), 'top photo')} of {circuit.photos_read}: target {root.target:.3f} "
             f"(usual {a.usual:.3f}), completeness error {root.completeness_error:.4f}",
             f"{'input':>16s} {'attribution':>12s}  sign"]
    lines += [f"{root.input_key(i.unit):>16s} {i.attribution:12.4f}  {i.sign}" for i in root.inputs]
    if root.concepts:
        lines.append(f"{'the rest':>16s} {root.rest:12.4f}  (what the concepts do not code)")
    lines.append(f"ablated in attribution order, the top {top} take away {a.top_share:.0%} (area {a.area:.2f}); "
                 f"in {len(a.random_shares)} random orders {a.random_mean[-1]:.0%} (area {a.random_area:.2f})")
    lines.append(root.verdict(top))
    if len(circuit.nodes) > 1:
        small = sum(n.small_circuit for n in circuit.nodes)
        lines.append(f"{plural(len(circuit.nodes), 'node')} explained over {len(circuit.settings['layers'])} layers; "
                     f"{small} of them small circuits")
    feeds = circuit.feeds
    if feeds is not None and feeds.units:
        lines.append("feeds most: " + ", ".join(f"{feeds.layer}:{u['unit']} ({u['drop']:+.3f})"
                                                 for u in feeds.units[:4]))
    if feeds is not None and feeds.classes:
        lines.append("classes it drives most: " + ", ".join(f"{c['name']} ({c['drop']:+.3f})"
                                                            for c in feeds.classes[:3]))
    lines.append(f"written to {page.parent}; open {page}")
    return "\n".join(lines)


def cmd_circuit(args: argparse.Namespace) -> None:
    out = api.check_output_dir(args.out)
    spec = spec_from_args(api.CircuitJobSpec, args, recipe=args.recipe, size=args.size, from_layer=args.from_layer)
    api.check_photo_folder(args.photos)  # a missing or empty folder is refused before the model loads
    args.model = args.model_name
    model = load_model(args)
    with progress_bar("circuit: photos", "photo") as photos, progress_bar("circuit: nodes", "node") as nodes, \
            progress_bar("circuit: pictures") as pictures:
        bars = {"photos": photos, "nodes": nodes, "pictures": pictures}
        result = api.circuit(model, args.target, photos=args.photos, out=out, spec=spec,
                             progress=lambda stage, done, total: bars[stage](done, total))
    page = Path(out) / "index.html"
    data = {**result.to_json(), "out": str(out), "page": str(page), "circuit_json": str(Path(out) / "circuit.json")}
    emit(args, data, summary(result, page))


def circuit_arguments(p: argparse.ArgumentParser) -> None:
    model_argument(p)
    p.add_argument("target", metavar="TARGET", help="a unit (block8:12), a class (logits:tabby or logits:281), a "
                   "concept of a concepts folder (concepts-head:c012), or an objective in the text form "
                   "(\"block8:12 - 0.5*block8:40\")")
    p.add_argument("--photos", required=True, metavar="DIR", help="folder of photos, read with its subfolders and "
                   "streamed: the target's top photos come from it, and the baseline is its mean activation")
    p.add_argument("--from", "--from-layer", dest="from_layer", metavar="LAYER",
                   help=api.help_text(next(f for f in api.spec_options(api.CircuitJobSpec) if f.name == "from_layer")))
    p.add_argument("--out", default=api.CIRCUIT_OUT, help="output folder: index.html (the page), circuit.json, the "
                   "pictures, where-maps and ablation plots")
    p.add_argument("--recipe", default=api.default_of(api.CircuitJobSpec, "recipe"), type=recipe_name,
                   metavar="RECIPE", help="recipe of the pictures rendered now (" + RECIPE_HELP + ")")
    p.add_argument("--size", type=parse_size, metavar="PX|WxH", help="the pictures' size (default: the recipe's)")


COMMANDS = [
    Command("circuit", "how a unit, class or objective is built from the units of earlier layers: attribution by "
            "integrated gradients, checked by ablation against random orders, what it feeds, and with --depth a "
            "graph (a static page)", cmd_circuit, circuit_arguments, api.CircuitJobSpec, (json_flag, model_flags),
            brief="how a unit or class is built from earlier layers, checked by ablation (a page)"),
]
