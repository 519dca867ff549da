"""Every registered module on a GPU (skipped where none is present): same numbers as on the CPU,
outputs and log-dets on the input's device, in float64 and float32."""

import pytest
import torch
from cases import CASES
from subjects import build, call

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_cuda_matches_cpu(name, dtype):
    case = CASES[name]
    module, x, c = build(case, dtype=dtype)
    z_cpu, ld_cpu = call(module, x, c)
    cuda = torch.device("cuda")
    module = module.to(cuda)
    x_gpu, c_gpu = [t.to(cuda) for t in x], [t.to(cuda) for t in c]
    z, log_jac_det = call(module, x_gpu, c_gpu)
    assert all(t.device.type == "cuda" for t in z) and log_jac_det.device.type == "cuda"
    tol = 1e-9 if dtype == torch.float64 else 1e-4
    tol = max(tol, case.atol)
    for a, b in zip(z, z_cpu):
        torch.testing.assert_close(a.cpu(), b, atol=tol, rtol=tol)
    torch.testing.assert_close(log_jac_det.cpu(), ld_cpu, atol=tol, rtol=tol)
    x_rec, _ = call(module, z, c_gpu, rev=True)
    for a, b in zip(x_rec, x):
        torch.testing.assert_close(a.cpu(), b, atol=100 * tol, rtol=100 * tol)
