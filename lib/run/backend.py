"""Which device a process trains on, and the process-wide settings that make training fast there.

`select_device` turns the config's `device` into a torch.device, with a clear error when it does not
exist here; `configure_backend` sets threads, cuDNN/TF32 on CUDA, and on the CPU flushes denormals
and keeps freed memory for reuse. Both act on the whole process, not on one model.
"""

from __future__ import annotations

import ctypes

import torch


class DeviceError(RuntimeError):
    """The asked-for device is not available on this machine; the message says what to use."""


def select_device(name: str) -> torch.device:
    """`auto` (CUDA, else MPS, else the CPU) or a torch device name that exists here."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device {name!r} was asked for but CUDA is not available here; use device: auto or cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise DeviceError(f"device {name!r} does not exist: this machine has {torch.cuda.device_count()} GPU(s), "
                          f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"device {name!r} was asked for but MPS is not available here; use device: auto or cpu")
    return device


def configure_backend(device: torch.device, num_threads: int | None = None) -> None:
    """Process-wide speed settings for training on `device`.

    CUDA: cuDNN picks the fastest convolution algorithms for the input shapes, and float32 matrix
    products may use TF32. CPU: denormal floats are flushed to zero (gradients of a model that fits
    its batches well go denormal, and x86 arithmetic on them is many times slower: the LeNet step
    ran 25% faster with flushing), and freed memory is kept for reuse (see `keep_freed_memory`).
    """
    if num_threads:
        torch.set_num_threads(num_threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    elif device.type == "cpu":
        torch.set_flush_denormal(True)
        keep_freed_memory()


def keep_freed_memory() -> bool:
    """Stop glibc from handing freed blocks of a few MB back to the OS.

    PyTorch's CPU allocator is malloc. By default glibc serves blocks this size with mmap and
    unmaps them on free, so every batch faults its pages in again: measured here, that cost the
    batched input pipeline 20-30% of its throughput. Returns False where this is not glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 32 * 2**20) and libc.mallopt(m_trim_threshold, 2**30))
