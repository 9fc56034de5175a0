"""The paper's own numbers, transcribed so that the report can print them beside ours.

Gong et al., "Variational Selective Autoencoder", ICLR 2020 submission (text in
``paper/vsae-paper.txt``). Each constant is labelled with the table it comes from. A standard
deviation the paper gives as ``∆`` ("∆ < 0.001" or "< 0.01") is stored as ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: (mean, std) as printed; std None where the paper prints ∆.
Figure = tuple[float, float | None]


@dataclass(frozen=True)
class PaperTable:
    """One of the paper's tables: ``values[method][column] = (mean, std)``."""

    source: str
    caption: str
    values: dict[str, dict[str, Figure]]


#: Paper Table 4 (PFC, MCAR 0.5). Table 1 repeats its phishing and mushroom columns (same numbers).
PAPER_TABLE_4 = PaperTable(
    "Table 4",
    "categorical UCI tables, PFC, missing ratio 0.5",
    {
        "ae": {"phishing": (0.348, 0.002), "zoo": (0.295, 0.022), "mushroom": (0.556, 0.009)},
        "vae": {"phishing": (0.293, 0.003), "zoo": (0.304, 0.009), "mushroom": (0.470, 0.017)},
        "cvae_mask": {"phishing": (0.241, 0.003), "zoo": (0.270, 0.023), "mushroom": (0.445, 0.004)},
        "mvae": {"phishing": (0.308, 0.015), "zoo": (0.233, 0.013), "mushroom": (0.586, 0.019)},
        "vsae": {"phishing": (0.237, 0.001), "zoo": (0.213, 0.004), "mushroom": (0.396, 0.008)},
        "cvae_data": {"phishing": (0.301, 0.005), "zoo": (0.323, 0.032), "mushroom": (0.485, 0.034)},
        "vaeac": {"phishing": (0.240, 0.006), "zoo": (0.168, 0.006), "mushroom": (0.403, 0.006)},
    },
)

#: Paper Table 5 (NRMSE, MCAR 0.5). Table 1 repeats its yeast and glass columns (same means; two
#: standard deviations printed with fewer digits there).
PAPER_TABLE_5 = PaperTable(
    "Table 5",
    "numerical UCI tables, NRMSE, missing ratio 0.5",
    {
        "ae": {"yeast": (0.737, 0.036), "white_wine": (0.3772, 0.0008), "glass": (1.651, 0.049)},
        "vae": {"yeast": (0.468, 0.003), "white_wine": (0.3714, 0.0001), "glass": (1.409, 0.011)},
        "cvae_mask": {"yeast": (0.470, 0.001), "white_wine": (0.3716, 0.0001), "glass": (1.498, 0.0013)},
        "mvae": {"yeast": (0.475, 0.014), "white_wine": (0.3722, 0.0009), "glass": (1.572, 0.035)},
        "vsae": {"yeast": (0.455, 0.003), "white_wine": (0.3711, 0.0002), "glass": (1.312, 0.021)},
        "cvae_data": {"yeast": (0.449, 0.0001), "white_wine": (0.3567, 0.0016), "glass": (1.380, 0.045)},
        "vaeac": {"yeast": (0.447, 0.0016), "white_wine": (0.3647, 0.0039), "glass": (1.432, 0.027)},
    },
)

#: Paper Table 2, MNIST+MNIST part (MSE per pixel, ratio 0.5, every std "∆ < 0.001"). The paper heads
#: both image columns "MNIST/784"; we read the first as the digit 0–4 and the second as its partner.
PAPER_TABLE_2 = PaperTable(
    "Table 2",
    "MNIST+MNIST, MSE per pixel of each modality and their sum, missing ratio 0.5",
    {
        "ae": {"digit": (0.1077, None), "partner": (0.1070, None), "combined": (0.2147, None)},
        "vae": {"digit": (0.0734, None), "partner": (0.0682, None), "combined": (0.1396, None)},
        "cvae_mask": {"digit": (0.0733, None), "partner": (0.0679, None), "combined": (0.1412, None)},
        "mvae": {"digit": (0.0760, None), "partner": (0.0802, None), "combined": (0.1562, None)},
        "vsae": {"digit": (0.0712, None), "partner": (0.0663, None), "combined": (0.1376, None)},
        "cvae_data": {"digit": (0.0694, None), "partner": (0.0646, None), "combined": (0.1340, None)},
        "vaeac": {"digit": (0.0693, None), "partner": (0.0645, None), "combined": (0.1338, None)},
    },
)

#: Paper Table 6 (MNIST+MNIST combined error at missing ratios 0.3 / 0.5 / 0.7; columns keyed by
#: setting). §4.1 quotes VSAE's row again.
PAPER_TABLE_6 = PaperTable(
    "Table 6",
    "MNIST+MNIST, combined error (sum of the two per-pixel MSEs)",
    {
        "ae": {"mcar-0.3": (0.2124, 0.0012), "mcar-0.5": (0.2147, 0.0008), "mcar-0.7": (0.2180, 0.0008)},
        "vae": {"mcar-0.3": (0.1396, 0.0002), "mcar-0.5": (0.1416, 0.0001), "mcar-0.7": (0.1435, 0.0006)},
        "cvae_mask": {
            "mcar-0.3": (0.1393, 0.0002),
            "mcar-0.5": (0.1412, 0.0006),
            "mcar-0.7": (0.1425, 0.0012),
        },
        "mvae": {"mcar-0.3": (0.1547, 0.0012), "mcar-0.5": (0.1562, 0.0003), "mcar-0.7": (0.1579, 0.0006)},
        "vsae": {"mcar-0.3": (0.1371, 0.0001), "mcar-0.5": (0.1376, 0.0002), "mcar-0.7": (0.1379, 0.0001)},
        "cvae_data": {
            "mcar-0.3": (0.1336, 0.0003),
            "mcar-0.5": (0.1340, 0.0003),
            "mcar-0.7": (0.1343, 0.0002),
        },
        "vaeac": {"mcar-0.3": (0.1333, 0.0004), "mcar-0.5": (0.1338, 0.0003), "mcar-0.7": (0.1344, 0.0001)},
    },
)

#: Paper Table 9 (yeast NRMSE by mechanism; Table 3 prints the same means with rounded deviations).
PAPER_TABLE_9 = PaperTable(
    "Table 9",
    "yeast, NRMSE under MCAR / MAR / NMAR",
    {
        "miwae": {"mcar-0.5": (0.467, 0.0067), "mar": (0.493, 0.029), "nmar": (0.513, 0.035)},
        "vsae": {"mcar-0.5": (0.455, 0.0003), "mar": (0.472, 0.024), "nmar": (0.455, 0.0001)},
    },
)

#: Paper Table 10 (ratio 0.5): image MSE per IMAGE (sum over the 784 pixels) and text PFC; "∆ < 0.01".
PAPER_TABLE_10 = PaperTable(
    "Table 10",
    "image + one-hot label, image MSE per image and label PFC, missing ratio 0.5",
    {
        "ae": {
            "fashion_mnist_text/image": (86.63, 1.09),
            "fashion_mnist_text/text": (0.366, None),
            "mnist_text/image": (54.90, 0.01),
            "mnist_text/text": (0.406, None),
        },
        "vae": {
            "fashion_mnist_text/image": (69.38, 0.10),
            "fashion_mnist_text/text": (0.411, None),
            "mnist_text/image": (53.82, 0.12),
            "mnist_text/text": (0.406, 0.01),
        },
        "cvae_mask": {
            "fashion_mnist_text/image": (69.53, 0.65),
            "fashion_mnist_text/text": (0.412, None),
            "mnist_text/image": (53.82, None),
            "mnist_text/text": (0.419, None),
        },
        "mvae": {
            "fashion_mnist_text/image": (109.95, 20.78),
            "fashion_mnist_text/text": (0.374, 0.07),
            "mnist_text/image": (178.40, 14.29),
            "mnist_text/text": (0.448, None),
        },
        "vsae": {
            "fashion_mnist_text/image": (68.49, 0.19),
            "fashion_mnist_text/text": (0.356, None),
            "mnist_text/image": (53.42, 0.05),
            "mnist_text/text": (0.397, 0.01),
        },
        "cvae_data": {
            "fashion_mnist_text/image": (54.15, 0.03),
            "fashion_mnist_text/text": (0.259, None),
            "mnist_text/image": (47.38, None),
            "mnist_text/text": (0.237, None),
        },
        "vaeac": {
            "fashion_mnist_text/image": (61.59, 0.03),
            "fashion_mnist_text/text": (0.283, None),
            "mnist_text/image": (51.49, 0.06),
            "mnist_text/text": (0.250, None),
        },
    },
)

#: Paper §4.3: generated missing proportion, averaged over all UCI datasets, for training ratios
#: 0.3 / 0.5 / 0.7 (keyed by setting).
PAPER_MASK_GENERATION: dict[str, Figure] = {
    "mcar-0.3": (0.3123, 0.026),
    "mcar-0.5": (0.4964, 0.005),
    "mcar-0.7": (0.6927, 0.013),
}
