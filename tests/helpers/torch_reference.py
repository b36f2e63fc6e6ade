"""An independent PyTorch reference of DPTN, written from DESIGN.md for the tests.

It computes the generator and discriminator straight from an official-layout state dict with
`torch.nn.functional` (PyTorch's own convolutions, instance norm and multi-head attention), so
the Keras port and its checkpoint importer can be checked on configurations and image sizes
the fixtures do not cover. NCHW, as the official code.
"""

import torch
import torch.nn.functional as F

SLOPE = 0.1


def _act(x):
    return F.leaky_relu(x, SLOPE)


def _conv(x, sd, key, stride=1, padding=0):
    return F.conv2d(x, sd[f"{key}.weight"], sd[f"{key}.bias"], stride, padding)


def _up(x, sd, key):
    return F.conv_transpose2d(
        x, sd[f"{key}.weight"], sd[f"{key}.bias"], stride=2, padding=1, output_padding=1
    )


def _norm(x, sd, key):
    return F.instance_norm(x, weight=sd[f"{key}.weight"], bias=sd[f"{key}.bias"], eps=1e-5)


def _widths(ngf, img_f, layers):
    encoder = [ngf] + [ngf * min(2 ** (i + 1), img_f // ngf) for i in range(layers - 1)]
    decoder = [
        ngf * (min(2 ** (layers - i - 2), img_f // ngf) if i < layers - 1 else 1)
        for i in range(layers)
    ]
    return encoder, decoder


def generator_shapes(ngf, img_f, layers, num_blocks, num_cabs, num_ttbs, image_nc=3, pose_nc=18):
    """Every key of an official generator state dict (aliases included) and its shape."""
    shapes = {}
    encoder, decoder = _widths(ngf, img_f, layers)

    def conv(key, cout, cin, k):
        shapes[f"{key}.weight"], shapes[f"{key}.bias"] = (cout, cin, k, k), (cout,)

    def norm(key, c):
        shapes[f"{key}.weight"] = shapes[f"{key}.bias"] = (c,)

    for prefix, cin in (("", image_nc + 2 * pose_nc), ("source_encoder.", image_nc)):
        conv(f"{prefix}block0.model.0", ngf, cin, 4)
        norm(f"{prefix}block0.model.1", ngf)
        conv(f"{prefix}block0.model.3", ngf, ngf, 3)
        for i in range(layers - 1):
            norm(f"{prefix}encoder{i}.model.0", encoder[i])
            conv(f"{prefix}encoder{i}.model.2", encoder[i + 1], encoder[i], 4)
            norm(f"{prefix}encoder{i}.model.3", encoder[i + 1])
            conv(f"{prefix}encoder{i}.model.5", encoder[i + 1], encoder[i + 1], 3)
    c = encoder[-1]
    for i in range(num_blocks):
        for name, k in (
            ("model.2", 3),
            ("model.5", 3),
            ("shortcut.0", 1),
            ("conv1", 3),
            ("conv2", 3),
            ("bypass", 1),
        ):
            conv(f"mblock{i}.{name}", c, c, k)
        norm(f"mblock{i}.model.0", c)
        norm(f"mblock{i}.model.3", c)

    def attention(key):
        shapes[f"{key}.in_proj_weight"], shapes[f"{key}.in_proj_bias"] = (3 * c, c), (3 * c,)
        shapes[f"{key}.out_proj.weight"], shapes[f"{key}.out_proj.bias"] = (c, c), (c,)

    def feedforward(key):
        for name in ("linear1", "linear2"):
            shapes[f"{key}.{name}.weight"], shapes[f"{key}.{name}.bias"] = (c, c), (c,)

    for i in range(num_cabs):
        attention(f"PTM.encoder.layers.{i}.self_attn")
        feedforward(f"PTM.encoder.layers.{i}")
        norm(f"PTM.encoder.layers.{i}.norm1", c)
        norm(f"PTM.encoder.layers.{i}.norm2", c)
    for i in range(num_ttbs):
        attention(f"PTM.decoder.layers.{i}.self_attn")
        attention(f"PTM.decoder.layers.{i}.multihead_attn")
        feedforward(f"PTM.decoder.layers.{i}")
        for n in (1, 2, 3):
            norm(f"PTM.decoder.layers.{i}.norm{n}", c)
    norm("PTM.decoder.norm", c)
    cin = c
    for i, cout in enumerate(decoder):
        norm(f"decoder{i}.model.0", cin)
        conv(f"decoder{i}.model.2", cout, cin, 3)
        norm(f"decoder{i}.model.3", cout)
        shapes[f"decoder{i}.model.5.weight"], shapes[f"decoder{i}.model.5.bias"] = (
            (cout, cout, 3, 3),
            (cout,),
        )
        shapes[f"decoder{i}.shortcut.0.weight"], shapes[f"decoder{i}.shortcut.0.bias"] = (
            (cin, cout, 3, 3),
            (cout,),
        )
        cin = cout
    conv("outconv.model.2", image_nc, ngf, 3)
    conv("outconv.conv1", image_nc, ngf, 3)
    return shapes


GENERATOR_ALIASES = {"conv1": "model.2", "conv2": "model.5", "bypass": "shortcut.0"}


def random_generator_state_dict(seed=0, **config):
    """Random official-layout weights (small, so activations stay tame); aliases share tensors."""
    generator = torch.Generator().manual_seed(seed)
    sd = {}
    for key, shape in generator_shapes(**config).items():
        scale = 0.05 if len(shape) > 1 else 0.5
        offset = (
            1.0
            if ("norm" in key or ".model.0." in key) and key.endswith("weight") and len(shape) == 1
            else 0.0
        )
        sd[key] = torch.randn(shape, generator=generator) * scale + offset
    for key in list(sd):
        parts = key.split(".")
        if parts[0].startswith("mblock") and parts[1] in GENERATOR_ALIASES:
            sd[key] = sd[".".join([parts[0], GENERATOR_ALIASES[parts[1]], parts[2]])]
    sd["outconv.conv1.weight"], sd["outconv.conv1.bias"] = (
        sd["outconv.model.2.weight"],
        sd["outconv.model.2.bias"],
    )
    return sd


def _encode(x, sd, prefix, layers):
    x = _conv(x, sd, f"{prefix}block0.model.0", 2, 1)
    x = _conv(_act(_norm(x, sd, f"{prefix}block0.model.1")), sd, f"{prefix}block0.model.3", 1, 1)
    for i in range(layers - 1):
        p = f"{prefix}encoder{i}.model"
        x = _conv(_act(_norm(x, sd, f"{p}.0")), sd, f"{p}.2", 2, 1)
        x = _conv(_act(_norm(x, sd, f"{p}.3")), sd, f"{p}.5", 1, 1)
    return x


def _residual(x, sd, i):
    p = f"mblock{i}"
    y = _conv(_act(_norm(x, sd, f"{p}.model.0")), sd, f"{p}.model.2", 1, 1)
    y = _conv(_act(_norm(y, sd, f"{p}.model.3")), sd, f"{p}.model.5", 1, 1)
    return y + _conv(x, sd, f"{p}.shortcut.0")


def _decode(x, sd, layers):
    for i in range(layers):
        p = f"decoder{i}"
        y = _conv(_act(_norm(x, sd, f"{p}.model.0")), sd, f"{p}.model.2", 1, 1)
        y = _up(_act(_norm(y, sd, f"{p}.model.3")), sd, f"{p}.model.5")
        x = y + _up(x, sd, f"{p}.shortcut.0")
    x = F.pad(_act(x), (1, 1, 1, 1), mode="reflect")
    return torch.tanh(_conv(x, sd, "outconv.model.2"))


def _attention(query, key, value, sd, prefix, nhead):
    return F.multi_head_attention_forward(
        query,
        key,
        value,
        query.shape[-1],
        nhead,
        sd[f"{prefix}.in_proj_weight"],
        sd[f"{prefix}.in_proj_bias"],
        None,
        None,
        False,
        0.0,
        sd[f"{prefix}.out_proj.weight"],
        sd[f"{prefix}.out_proj.bias"],
        training=False,
        need_weights=False,
    )[0]


def _token_norm(tokens, sd, key):  # tokens (L, N, C)
    return _norm(tokens.permute(1, 2, 0), sd, key).permute(2, 0, 1)


def _feedforward(tokens, sd, prefix):
    hidden = _act(F.linear(tokens, sd[f"{prefix}.linear1.weight"], sd[f"{prefix}.linear1.bias"]))
    return F.linear(hidden, sd[f"{prefix}.linear2.weight"], sd[f"{prefix}.linear2.bias"])


def _pose_transformer(f_ss, f_st, f_s, sd, nhead, num_cabs, num_ttbs):
    n, c, h, w = f_st.shape
    memory, target, value = (f.flatten(2).permute(2, 0, 1) for f in (f_ss, f_st, f_s))
    for i in range(num_cabs):
        p = f"PTM.encoder.layers.{i}"
        memory = _token_norm(
            memory + _attention(memory, memory, memory, sd, f"{p}.self_attn", nhead),
            sd,
            f"{p}.norm1",
        )
        memory = _token_norm(memory + _feedforward(memory, sd, p), sd, f"{p}.norm2")
    for i in range(num_ttbs):
        p = f"PTM.decoder.layers.{i}"
        target = _token_norm(
            target + _attention(target, target, target, sd, f"{p}.self_attn", nhead),
            sd,
            f"{p}.norm1",
        )
        target = _token_norm(
            target + _attention(target, memory, value, sd, f"{p}.multihead_attn", nhead),
            sd,
            f"{p}.norm2",
        )
        target = _token_norm(target + _feedforward(target, sd, p), sd, f"{p}.norm3")
    return _norm(target.permute(1, 2, 0), sd, "PTM.decoder.norm").reshape(n, c, h, w)


@torch.no_grad()
def generator_forward(
    sd, source, source_pose, target_pose, *, layers, num_blocks, nhead, num_cabs, num_ttbs
):
    """(generated target, source reconstruction), NCHW."""

    def shared(poses):
        x = _encode(torch.cat([source, source_pose, poses], 1), sd, "", layers)
        for i in range(num_blocks):
            x = _residual(x, sd, i)
        return x

    f_ss, f_st = shared(source_pose), shared(target_pose)
    f_s = _encode(source, sd, "source_encoder.", layers)
    f_st = _pose_transformer(f_ss, f_st, f_s, sd, nhead, num_cabs, num_ttbs)
    return _decode(f_st, sd, layers), _decode(f_ss, sd, layers)


def random_discriminator_state_dict(ndf, img_f, layers, seed=0, image_nc=3):
    """Random official-layout ResDiscriminator weights with power-iterated `weight_u`/`weight_v`."""
    generator = torch.Generator().manual_seed(seed)
    widths = [ndf] + [ndf * min(2 ** (i + 1), img_f // ndf) for i in range(layers - 1)]
    convs = {
        "block0.model.0": (ndf, image_nc, 3),
        "block0.model.2": (ndf, ndf, 4),
        "block0.shortcut.1": (ndf, image_nc, 1),
        "conv": (1, widths[-1], 1),
    }
    for i in range(layers - 1):
        convs[f"encoder{i}.model.1"] = (widths[i], widths[i], 3)
        convs[f"encoder{i}.model.3"] = (widths[i + 1], widths[i], 4)
        convs[f"encoder{i}.shortcut.1"] = (widths[i + 1], widths[i], 1)
    sd = {}
    for key, (cout, cin, k) in convs.items():
        sd[f"{key}.weight_orig"] = torch.randn((cout, cin, k, k), generator=generator) * 0.2
        sd[f"{key}.bias"] = torch.randn((cout,), generator=generator) * 0.1
        u = F.normalize(torch.randn((cout,), generator=generator), dim=0)
        matrix = sd[f"{key}.weight_orig"].reshape(cout, -1)
        for _ in range(10):  # as after some training: sigma near the largest singular value
            v = F.normalize(matrix.T @ u, dim=0)
            u = F.normalize(matrix @ v, dim=0)
        sd[f"{key}.weight_u"], sd[f"{key}.weight_v"] = u, v
    return sd


def _spectral_conv(x, sd, key, stride=1, padding=0):
    """Inference-mode spectral norm: sigma from the stored vectors, no power iteration."""
    weight = sd[f"{key}.weight_orig"]
    sigma = sd[f"{key}.weight_u"] @ weight.reshape(weight.shape[0], -1) @ sd[f"{key}.weight_v"]
    return F.conv2d(x, weight / sigma, sd[f"{key}.bias"], stride, padding)


@torch.no_grad()
def discriminator_forward(sd, image, layers):
    x = _spectral_conv(
        _act(_spectral_conv(image, sd, "block0.model.0", 1, 1)), sd, "block0.model.2", 2, 1
    )
    x = x + _spectral_conv(F.avg_pool2d(image, 2), sd, "block0.shortcut.1")
    for i in range(layers - 1):
        p = f"encoder{i}"
        y = _spectral_conv(_act(x), sd, f"{p}.model.1", 1, 1)
        y = _spectral_conv(_act(y), sd, f"{p}.model.3", 2, 1)
        x = y + _spectral_conv(F.avg_pool2d(x, 2), sd, f"{p}.shortcut.1")
    return _spectral_conv(_act(x), sd, "conv")
