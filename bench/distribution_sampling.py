"""Benchmark: build-and-sample time of rlkit's distributions against torch.distributions.

Prints µs per `from_logits(...).sample()` (median of many `timeit` repeats) and the
ratio ours / torch. The target is Categorical at batch 1 with 2 actions: ratio <= 0.5.
It also times the two sampling kernels we chose between (Gumbel-max vs
`torch.multinomial(softmax)`) at batch 1 and 2048.

Run:  python bench/distribution_sampling.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from collections.abc import Callable

import torch
from gymnasium.spaces import Box, Discrete

from rlkit.distributions import Categorical, get_action_dist_cls


def compare_us(
    ours: Callable[[], object], theirs: Callable[[], object], number: int, repeat: int
) -> tuple[float, float]:
    """Median µs per call of `ours` and `theirs`, timed in alternating repeats so that load
    from other processes hits both alike."""
    ours(), theirs()  # warm up
    t_ours, t_theirs = [], []
    for _ in range(repeat):
        t_ours.append(timeit.timeit(ours, number=number))
        t_theirs.append(timeit.timeit(theirs, number=number))
    return (
        statistics.median(t_ours) / number * 1e6,
        statistics.median(t_theirs) / number * 1e6,
    )


def report(
    label: str, times: tuple[float, float], names: tuple[str, str] = ("ours", "torch")
) -> float:
    ours, theirs = times
    print(
        f"{label:<34} {names[0]} {ours:8.2f} µs   {names[1]} {theirs:8.2f} µs   "
        f"ratio {ours / theirs:5.2f}"
    )
    return ours / theirs


def bench_categorical(batch: int, n: int, number: int, repeat: int) -> float:
    """rlkit build+sample through the bound class (as a rollout does) vs torch's."""
    logits = torch.randn(batch, n)
    cls = get_action_dist_cls(Discrete(n))
    times = compare_us(
        lambda: cls.from_logits(logits).sample(),
        lambda: torch.distributions.Categorical(logits=logits).sample(),
        number,
        repeat,
    )
    return report(f"Categorical  B={batch:<5} n={n:<3}", times)


def bench_masked_categorical(number: int, repeat: int) -> float:
    """The mask costs a masked_fill and an all-rows-allowed check (one reduction)."""
    logits, mask = torch.randn(1, 2), torch.tensor([[True, False]])
    times = compare_us(
        lambda: Categorical.from_logits(logits, mask=mask).sample(),
        lambda: torch.distributions.Categorical(logits=logits).sample(),
        number,
        repeat,
    )
    return report("Categorical  B=1     n=2  masked", times, ("ours(mask)", "torch(no mask)"))


def bench_diag_gaussian(batch: int, number: int, repeat: int) -> float:
    inputs = torch.randn(batch, 2 * 4)
    cls = get_action_dist_cls(Box(-1.0, 1.0, shape=(4,)))

    def torch_normal() -> torch.Tensor:
        mean, log_std = inputs.chunk(2, -1)
        return torch.distributions.Normal(mean, log_std.exp()).sample().clamp(-1.0, 1.0)

    times = compare_us(lambda: cls.from_logits(inputs).sample(), torch_normal, number, repeat)
    return report(f"DiagGaussian B={batch:<5} d=4  ", times)


def bench_kernels(batch: int, n: int, number: int, repeat: int) -> float:
    """The two sampling kernels we chose between."""
    logits = torch.randn(batch, n)
    times = compare_us(
        lambda: (
            logits - torch.empty_like(logits).uniform_(1e-38, 1.0).log_().neg_().log_()
        ).argmax(-1),
        lambda: torch.multinomial(logits.softmax(-1), 1).squeeze(-1),
        number,
        repeat,
    )
    return report(f"kernel       B={batch:<5} n={n:<3}", times, ("gumbel", "multinomial"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    args = parser.parse_args()
    number, repeat = (200, 5) if args.quick else (2000, 31)
    big = max(number // 20, 10)  # calls per repeat at batch 2048
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"median over {repeat} repeats of {number} calls (batch 1) / {big} calls (batch 2048)\n")

    print("from_logits(...).sample(), rlkit vs torch.distributions:")
    target = bench_categorical(1, 2, number, repeat)
    bench_categorical(1, 16, number, repeat)
    bench_categorical(2048, 2, big, repeat)
    bench_categorical(2048, 16, big, repeat)
    bench_masked_categorical(number, repeat)
    bench_diag_gaussian(1, number, repeat)
    bench_diag_gaussian(2048, big, repeat)

    print("\nsampling kernels: argmax(l - log(-log U)) vs multinomial(softmax(l)):")
    bench_kernels(1, 2, number, repeat)
    bench_kernels(2048, 2, big, repeat)
    bench_kernels(2048, 16, big, repeat)

    print(f"\nCategorical B=1 n=2: ours/torch = {target:.2f} (target <= 0.50)")


if __name__ == "__main__":
    main()
