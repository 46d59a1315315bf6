"""Where a render step's time goes: torch.profiler over a few steps, grouped by operator."""
from __future__ import annotations

from torch.profiler import ProfilerActivity, profile

from convscope.engine.objectives import channel
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render
from convscope.models.base import VisionModel


def profile_step(model: VisionModel, layer: str, batch: int, size: int, steps: int = 4, top: int = 10) -> dict:
    """The operators that take the most self time over ``steps`` lucid steps of ``batch`` units
    (device time on CUDA, CPU time otherwise), each with its share of the total."""
    units = [u % model.layers[layer].channels for u in range(batch)]
    objectives = [channel(layer, u) for u in units]
    rec = get_recipe("lucid", size=size, steps=steps)
    render(model, objectives, rec, seeds=units, batch=batch)  # warm-up
    cuda = model.device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        render(model, objectives, rec, seeds=units, batch=batch)
    events = prof.key_averages()
    attribute = "self_device_time_total" if cuda else "self_cpu_time_total"
    times = [(e.key, getattr(e, attribute)) for e in events]
    total = sum(t for _k, t in times) or 1.0
    rows = [{"op": key, "share": t / total, "ms": t / 1000} for key, t in sorted(times, key=lambda kt: -kt[1])[:top]]
    return {"model": model.name, "layer": layer, "batch": batch, "size": size, "steps": steps,
            "precision": model.effective_precision, "clock": "device" if cuda else "CPU", "top": rows}
