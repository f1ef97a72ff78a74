#!/usr/bin/env bash
# The one prepared GPU check (not yet run: no GPU was lent to the session that wrote it).
# Run from the repository root on the GPU host, with node_modules carried along:
#   bash bench/gpu/run.sh > gpu-results.json
# Optional, for the WebGPU EP: Debian's libvulkan1 unpacked beside it (dpkg -x libvulkan1_*.deb vk) and
#   LD_LIBRARY_PATH=$PWD/vk/usr/lib/x86_64-linux-gnu; the NVIDIA driver provides the Vulkan ICD.
# Optional, for the CUDA EP: libonnxruntime_providers_cuda.so (+ _shared) in
#   node_modules/onnxruntime-node/bin/napi-v6/linux/x64/ (from `ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install.js`
#   on a host that can reach NuGet).
set -u
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2 || true
echo '{"ours":'
LOG_LEVEL=error timeout 420 npx tsx bench/gpu/throughput.ts --batches 1,8,32 --seconds 5 || echo '{"error":"bench/gpu/throughput.ts failed or timed out"}'
echo ',"pytorch":'
timeout 150 python3 bench/pytorch/gpu_throughput.py --batches 1,8,32 --seconds 5 || echo '{"error":"gpu_throughput.py failed or timed out"}'
echo '}'
