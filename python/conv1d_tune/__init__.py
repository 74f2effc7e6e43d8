"""conv1d_tune: the tuned 1-D convolution kernels of libconv1d for NumPy, MAX and PyTorch users.

    import conv1d_tune as ct
    plan = ct.Plan(length=3000, in_channels=80, out_channels=512, kernel_size=3, padding=1, bias=True)
    plan.set_weights(w, b)                 # w (kernel_size, in_channels, out_channels) in the default 'nwc'
    y = plan(x)                            # x (batch, length, in_channels) float32, C order
    print(plan.variant, plan.explain)

    y = ct.conv1d(x, w, b, padding=1)                  # MAX's layout and weight order, plans cached by shape
    y = ct.conv1d(x, w, b, padding=1, layout="ncw")    # PyTorch's

    from conv1d_tune.torch import TunedConv1d, swap_conv1d    # drop-in torch.nn.Conv1d (needs torch)

Element types (the descriptor's dtype, of x, w, b and y alike): float32, bfloat16 and float16.

    import ml_dtypes                                    # NumPy's bfloat16 arrays (make deps installs it)
    plan = ct.Plan(length=3000, in_channels=80, out_channels=512, kernel_size=3, padding=1, dtype="bfloat16")
    plan.set_weights(w.astype(ml_dtypes.bfloat16))
    y = plan(x.astype(ml_dtypes.bfloat16))             # a bfloat16 output; float32 x: TypeError, never converted

float16 arrays are np.float16; a torch bfloat16 or float16 model (model.to(torch.bfloat16)) runs through
TunedConv1d in its own dtype. The 16-bit plans accumulate in float32 and round once at the output.

libconv1d is looked for in $CONV1D_LIB, the source tree's build/lib, then the installed library (see
conv1d_tune._lib); it is loaded on first use, so importing this package never fails for want of it."""
from ._dtypes import DTYPES, DType, FLOAT32
from ._lib import Conv1dError, LibraryNotFoundError, library_path
from ._lib import version as library_version
from ._plan import Desc, Plan, clear_plan_cache, conv1d, plan_cache_info, padding_pair

__version__ = "0.1.0"

float32 = FLOAT32


def supported_dtypes():
    """Names of the element types the loaded libconv1d computes: ['float32', 'bfloat16', 'float16'], or
    ['float32'] for a library from before the 16-bit types."""
    from ._dtypes import supported_names
    return supported_names()


__all__ = ["Desc", "Plan", "conv1d", "clear_plan_cache", "plan_cache_info", "padding_pair", "Conv1dError",
           "LibraryNotFoundError", "library_path", "library_version", "supported_dtypes", "DType", "DTYPES",
           "float32", "__version__"]
