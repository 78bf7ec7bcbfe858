"""Importing this module registers every rule: add a new rule's module here."""

from greenlint.rules import (
    gl001_unused_noqa,  # noqa: F401
    gl101_inference_without_no_grad,  # noqa: F401
    gl102_unbatched_inference_loop,  # noqa: F401
    gl103_model_load_per_call,  # noqa: F401
    gl201_float64_tensor,  # noqa: F401
    gl202_numpy_float64_into_torch,  # noqa: F401
    gl203_no_mixed_precision,  # noqa: F401
    gl204_fp32_cpu_serving,  # noqa: F401
    gl301_loop_invariant_load,  # noqa: F401
    gl302_dataloader_iterator_per_step,  # noqa: F401
    gl303_dataloader_misconfig,  # noqa: F401
    gl304_row_iteration,  # noqa: F401
    gl401_host_sync_in_loop,  # noqa: F401
    gl402_cpu_tensor_then_moved,  # noqa: F401
    gl403_module_moved_in_loop,  # noqa: F401
    gl404_cache_clear_in_step,  # noqa: F401
    gl405_graph_retention,  # noqa: F401
    gl501_debug_mode_left_on,  # noqa: F401
    gl502_checkpoint_every_step,  # noqa: F401
    gl503_exhaustive_hyperparameter_search,  # noqa: F401
    gl504_no_early_stopping,  # noqa: F401
    gl505_full_finetune_no_freeze,  # noqa: F401
    gl506_cudnn_autotuner_off,  # noqa: F401
    gl507_eager_only_hot_path,  # noqa: F401
    gl508_zero_grad_not_none,  # noqa: F401
    gl601_oversized_model,  # noqa: F401
    gl602_train_from_scratch,  # noqa: F401
    gl603_over_parallel_inference,  # noqa: F401
    gl701_keras_model_in_loop,  # noqa: F401
)
