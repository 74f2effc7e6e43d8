#!/bin/bash
# Short rows of many images (decode steps and short windows): the build before tiles across images (OLD) and this
# one (NEW), back to back per shape, layout, dtype and ISA level, with oneDNN in every run. Writes one CSV.
# usage: run.sh OLD NEW OUT.csv
set -u
OLD=$1 NEW=$2 OUT=$3
SHAPES=(
  "batch=8,length=3,in_channels=512,out_channels=512,kernel_size=3,stride=2"
  "batch=64,length=4,in_channels=512,out_channels=512,kernel_size=3,stride=1,pad_left=2"
  "batch=64,length=38,in_channels=64,out_channels=64,kernel_size=3,stride=1,pad_left=3,pad_right=3,dilation=3,bias=1"
  "batch=16,length=9,in_channels=256,out_channels=256,kernel_size=5,stride=1"
  "batch=32,length=1,in_channels=1024,out_channels=1024,kernel_size=1,stride=1"
)
F32="direct_8x32__avx512 direct_6x32__avx512 direct_6x32_nt__avx512 direct_6x16__avx2 direct_12x8__avx2 winograd_f4r3__avx512 winograd_f6r3__avx512 winograd_f4r3__avx2 winograd_f6r3__avx2 winograd_f4r5__avx512 winograd_f4r5__avx2 onednn"
BF16="direct_bf16_8x32__avx512bf16 direct_bf16_12x32__avx512bf16 direct_bf16_8x32_nt__avx512bf16 direct_bf16_6x16__avx2 direct_bf16_4x16__avx2 winograd_f4r3_bf16__avx512 winograd_f4r3_bf16__avx2 winograd_f4r5_bf16__avx512 onednn_bf16"
echo "build,isa,shape,layout,dtype,variant,median_ms,p10_ms" > "$OUT"
for s in "${SHAPES[@]}"; do for layout in nwc ncw; do for dtype in f32 bf16; do for isa in avx512bf16 avx2; do
  vs=$F32; [ $dtype = bf16 ] && vs=$BF16
  args=(); for v in $vs; do args+=(--variant "$v"); done
  for b in old new; do
    bin=$OLD; [ $b = new ] && bin=$NEW
    CONV1D_ISA=$isa "$bin" bench --shape "$s" --layout $layout --dtype $dtype --threads 2 --budget 0.3 --rounds 3 \
      "${args[@]}" --csv 2>/dev/null | awk -F, -v b=$b -v i=$isa -v s="$s" -v l=$layout -v d=$dtype \
      'NR>1 && $5=="ok" {printf "%s,%s,\"%s\",%s,%s,%s,%s,%s\n", b, i, s, l, d, $1, $6, $7}' >> "$OUT"
  done
done; done; done; done
