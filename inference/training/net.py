"""The hair model's network: a small stride-4 fully convolutional net (torch)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inference.targets import N_MAPS, N_TRAIN_MAPS

NET_SHAPE = {"width": 40, "body": "plain"}  # the shipped net's shape (the CLI defaults)


def make_net(
    width: int = 40,
    body: str = "plain",
    *,
    stem: int | None = None,
    dilations: tuple[int, ...] = (1, 2, 4, 2, 1),
    outputs: int = N_TRAIN_MAPS,
    mixstyle: float = 0.0,
) -> Any:
    """Stride-4 fully convolutional net: two strided convs, five dilated 3x3 convs, 1x1 head.

    ``outputs`` maps: training predicts :data:`~inference.targets.N_TRAIN_MAPS` (the count
    maps plus cut tips and shafts); :func:`count_head` keeps the count maps for export.
    ``body="separable"`` makes each of the five a depthwise 3x3 then a pointwise 1x1 conv
    (and the first conv 3/8 of ``width``, not half). ``stem`` (the first conv's channels)
    and ``dilations`` (one body conv each) let ``scripts/bench_arch.py`` time other shapes.

    ``mixstyle`` > 0 puts a ``MixStyle`` layer (below) after each of the two strided convs,
    mixing in that share of training batches and the identity in eval mode, so an exported
    net is the same graph as one made without it.
    """
    import torch
    from torch import nn

    def block(
        cin: int, cout: int, stride: int = 1, dilation: int = 1, k: int = 3, groups: int = 1
    ) -> list[nn.Module]:
        pad = dilation * (k // 2)
        return [
            nn.Conv2d(
                cin, cout, k, stride, padding=pad, dilation=dilation, groups=groups, bias=False
            ),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        ]

    class MixStyle(nn.Module):
        """With probability ``p`` per batch in training, each crop's feature maps take a mix
        of their own and another crop's channel means and spreads (MixStyle: Zhou et al.,
        ICLR 2021): a renderer's look lives in those statistics, its hairs in the normalised
        pattern, so the net must count from the pattern. Identity in eval mode."""

        def __init__(self, p: float) -> None:
            super().__init__()
            self.p = p

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if not self.training or float(torch.rand(())) >= self.p or x.shape[0] < 2:
                return x
            mu = x.mean(dim=(2, 3), keepdim=True).detach()
            sig = (x.var(dim=(2, 3), keepdim=True) + 1e-6).sqrt().detach()
            lam = torch.distributions.Beta(0.1, 0.1).sample((x.shape[0], 1, 1, 1)).to(x)
            perm = torch.randperm(x.shape[0], device=x.device)
            mu2 = lam * mu + (1 - lam) * mu[perm]
            sig2 = lam * sig + (1 - lam) * sig[perm]
            return (x - mu) / sig * sig2 + mu2

    class HairNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c1 = stem or (width // 2 if body == "plain" else width * 3 // 8)
            layers = block(3, c1, 2)
            layers += [MixStyle(mixstyle)] if mixstyle else []
            layers += block(c1, width, 2)
            layers += [MixStyle(mixstyle)] if mixstyle else []
            for d in dilations:
                if body == "plain":
                    layers += block(width, width, 1, d)
                else:
                    layers += block(width, width, 1, d, groups=width) + block(width, width, k=1)
            self.body = nn.Sequential(*layers)
            self.head = nn.Conv2d(width, outputs, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.head(self.body(x))
            return out

    return HairNet()


def count_head(net: Any) -> None:
    """Keep only the count maps in ``net``'s head (in place): what the shipped model outputs."""
    import torch
    from torch import nn

    old = net.head
    if old.out_channels == N_MAPS:
        return
    new = nn.Conv2d(old.in_channels, N_MAPS, 1)
    with torch.no_grad():
        new.weight.copy_(old.weight[:N_MAPS])
        new.bias.copy_(old.bias[:N_MAPS])  # type: ignore[union-attr]
    net.head = new


def load_onnx_weights(net: Any, onnx_path: Path, head_gain: float = 1.0) -> None:
    """Start ``net`` from an exported FP32 model (BatchNorm folded there) of the same layout
    and the same or fewer channels.

    Each conv takes the file's weights in graph order; each BatchNorm becomes the identity
    plus the folded bias, and must then stay in eval mode (:func:`freeze_batchnorm`). Head
    maps the file lacks (training-only maps) keep their fresh initialisation; the file's
    head maps are multiplied by ``head_gain`` (undoing the gain folded in at export).

    A net wider than the file (``--width 48`` from a width-40 file) is widened so that it
    computes exactly what the file does (Net2Net, Chen et al., ICLR 2016): the file's
    channels are the first of each conv; a new channel keeps its fresh weights from the
    file's channels, and every weight reading a new channel (into the next conv, new
    channels included, and the head) starts at zero, so training starts from the file's
    maps and grows the new channels from there. A file with more channels than the net, or
    another kernel or layout, is refused.
    """
    import onnx
    import torch
    from onnx import numpy_helper
    from torch import nn

    model = onnx.load(str(onnx_path))
    init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    mods = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    if len(convs) != len(mods):
        raise ValueError(f"{onnx_path}: {len(convs)} convs, the net has {len(mods)}")
    bns = [m for m in net.body if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for k, (node, mod) in enumerate(zip(convs, mods, strict=True)):
            w = torch.from_numpy(init[node.input[1]].copy())
            b = torch.from_numpy(init[node.input[2]].copy())
            cin = w.shape[1]
            if mod is net.head:
                n = min(mod.out_channels, w.shape[0])
                _check_fits(onnx_path, k, w, mod.weight, whole_out=False)
                mod.weight[:n, cin:].zero_()  # new channels feed nothing yet
                mod.weight[:n, :cin].copy_(w[:n] * head_gain)
                mod.bias[:n].copy_(b[:n] * head_gain)
                continue
            _check_fits(onnx_path, k, w, mod.weight, whole_out=True)
            cout = w.shape[0]
            mod.weight[:, cin:].zero_()  # the new input channels feed nothing yet
            mod.weight[:cout, :cin].copy_(w)
            bn = bns[k]
            bn.weight.fill_(1.0)
            bn.bias.zero_()
            bn.bias[:cout].copy_(b)
            bn.running_mean.zero_()  # type: ignore[union-attr]
            bn.running_var.fill_(1.0 - bn.eps)  # type: ignore[union-attr]


def _check_fits(path: Path, k: int, w: Any, into: Any, *, whole_out: bool) -> None:
    """Refuse a file conv that is not the net's conv or a narrower one of it."""
    have, want = tuple(w.shape), tuple(into.shape)
    fits = (
        len(have) == len(want) == 4
        and have[2:] == want[2:]
        and have[1] <= want[1]
        and (have[0] <= want[0] if whole_out else True)
    )
    if not fits:
        raise ValueError(
            f"{path}: conv {k} is {have}, the net's is {want}: start from a file of this "
            "layout with the same or fewer channels (--width)"
        )


def blend_with_onnx(
    net: Any, onnx_path: Path | Sequence[Path], share: float, head_gain: float = 1.0
) -> None:
    """Weight-space ensembling (WiSE-FT): make ``net`` ``share`` x its own weights plus
    (1 - ``share``) x those of the FP32 file it was fine-tuned from (read as
    :func:`load_onnx_weights` reads it), in place. Head maps the file lacks stay ``net``'s.
    Fine-tunes that widen what a net has seen lose some of what its start knew; halfway
    between the two keeps more of both (Wortsman et al., CVPR 2022).

    Several files (other fine-tunes of one start: a model soup, Wortsman et al., ICML 2022)
    are mixed in as the mean of their weights: ``share`` 1/3 with two files is the uniform
    soup of the three nets."""
    import torch

    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share {share} must be in [0, 1]")
    paths = [onnx_path] if isinstance(onnx_path, Path) else list(onnx_path)
    if not paths:
        raise ValueError("no file to blend with")
    trained = {k: v.detach().clone() for k, v in net.state_dict().items()}
    others: dict[str, Any] = {}
    for path in paths:
        load_onnx_weights(net, path, head_gain=head_gain)
        for k, v in net.state_dict().items():
            if v.is_floating_point():
                others[k] = others[k] + v if k in others else v.detach().clone()
    with torch.no_grad():
        mixed = {
            k: share * v + (1.0 - share) * others[k] / len(paths) if v.is_floating_point() else v
            for k, v in trained.items()
        }
    net.load_state_dict(mixed)


def freeze_batchnorm(net: Any) -> None:
    """Put every BatchNorm in eval mode (running statistics fixed, affine still trained)."""
    from torch import nn

    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
