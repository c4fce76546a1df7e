#!/usr/bin/env bash
# GPU check in one device call (at most 8 minutes): the throughput benchmark, then a short
# CIFAR-10 ResNet-18 training, both on the GPU. Results go to $OUT (the device tool's output
# folder) or reports/gpu_check/.
#
#   bash benchmarks/gpu_check.sh --prepare   # here: copy the data it needs into .bench-data/ (git-ignored,
#                                            #   ~40 MB: Fashion-MNIST gzipped, a CIFAR-10 JPEG subset)
#   bash benchmarks/gpu_check.sh             # on the GPU machine, with .bench-data carried along
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=.bench-data

if [ "${1:-}" = "--prepare" ]; then
    SRC=${DATA_DIR:-../shared/data}
    mkdir -p "$DATA/FashionMNIST/raw"
    for f in "$SRC"/FashionMNIST/raw/*-ubyte; do gzip -c "$f" > "$DATA/FashionMNIST/raw/$(basename "$f").gz"; done
    # 2,000 training and 500 test images per class: 25,000 JPEGs of 32x32.
    for split in train:2000 test:500; do
        name=${split%%:*}; count=${split##*:}
        for class_dir in "$SRC"/cifar10-jpeg/"$name"/*/; do
            class=$(basename "$class_dir")
            mkdir -p "$DATA/cifar10-jpeg/$name/$class"
            ls "$class_dir" | head -n "$count" | while read -r f; do cp "$class_dir/$f" "$DATA/cifar10-jpeg/$name/$class/"; done
        done
    done
    du -sh "$DATA"
    exit 0
fi

OUT=${OUT:-reports/gpu_check}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" DATA_DIR="$PWD/$DATA"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)" | tee -a "$OUT/gpu.txt"

timeout 220 python3 -m benchmarks.throughput --device cuda --amp --channels-last --out "$OUT/throughput.json" \
    2>&1 | tee "$OUT/throughput.log" || echo "throughput benchmark failed or timed out" | tee -a "$OUT/throughput.log"

timeout 220 python3 -m lib.train --dataset imagefolder --data-dir "$DATA/cifar10-jpeg" --model resnet18 \
    --epochs 15 --batch-size 512 --optimizer sgd --lr 0.2 --momentum 0.9 --nesterov true --weight-decay 0.0005 \
    --label-smoothing 0.1 --scheduler cosine --augment true --color-jitter 0 --hue 0 --rotation 0 \
    --channels-last true --amp true --num-workers 8 --progress false --out-dir "$OUT/cifar10" \
    2>&1 | tee "$OUT/cifar10.log" || echo "CIFAR-10 training failed or timed out" | tee -a "$OUT/cifar10.log"
