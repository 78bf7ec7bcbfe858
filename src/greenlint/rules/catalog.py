"""Importing this module registers every rule: add a new rule's module here."""

from greenlint.rules import (
    gl101_inference_without_no_grad,  # noqa: F401
    gl102_unbatched_inference_loop,  # noqa: F401
    gl103_model_load_per_call,  # noqa: F401
    gl201_float64_tensor,  # noqa: F401
    gl202_numpy_float64_into_torch,  # noqa: F401
    gl301_loop_invariant_load,  # noqa: F401
    gl302_dataloader_iterator_per_step,  # noqa: F401
    gl401_host_sync_in_loop,  # noqa: F401
    gl402_cpu_tensor_then_moved,  # noqa: F401
    gl403_module_moved_in_loop,  # noqa: F401
    gl404_cache_clear_in_step,  # noqa: F401
    gl405_graph_retention,  # noqa: F401
    gl508_zero_grad_not_none,  # noqa: F401
)
