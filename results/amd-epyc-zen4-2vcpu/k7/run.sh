#!/bin/bash
# k7 layers: F(3,7) against F(2,7), the best direct tile and oneDNN, 2 threads, both layouts, avx2 and the best level
T=${T:-build/bin/conv1d-tune}  # from the repository root
for S in "batch=8,length=1024,in_channels=256,out_channels=256,kernel_size=7,num_groups=4,padding=3,bias=1" \
         "batch=1,length=6400,in_channels=128,out_channels=128,kernel_size=7,dilation=5,padding=15,bias=1"; do
  for isa in avx2 avx512bf16; do
    if [ $isa = avx2 ]; then V="--variant winograd_f3r7__avx2 --variant winograd_f2r7__avx2 --variant direct_6x16__avx2 --variant direct_4x16__avx2";
    else V="--variant winograd_f3r7__avx512 --variant winograd_f2r7__avx512 --variant direct_6x32__avx512 --variant direct_14x16_nt__avx512 --variant direct_8x32__avx512"; fi
    for L in nwc ncw; do
      for rep in 1 2; do
        echo "== $isa $L $rep $S"
        CONV1D_ISA=$isa $T bench --shape "$S" --layout $L --threads 2 --budget 2 --rounds 4 $V --variant onednn 2>&1 | grep -E ' ok ' | awk '{print "   ", $1, $3, $10}'
      done
    done
  done
done
