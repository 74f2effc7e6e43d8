#!/bin/bash
# How ab-run1.txt and ab-run2.txt were made (2026-12-07, this Zen 4, nothing else running): per shape and level, the
# Winograd tiles of the shape and oneDNN in one `bench` run (two threads, NWC), first with the build before the
# register-accumulator transforms (/tmp/tune-x, commit 9571c33) then with the build after (/tmp/tune-wt, 8e83313).
cd /work/main
i=0
while read -r shape tiles; do
 for isa in avx2 avx512bf16; do
  sfx=avx2; [ $isa = avx512bf16 ] && sfx=avx512
  for lay in ${LAYS:-nwc}; do
   for b in /tmp/tune-x /tmp/tune-wt; do
    args=""; for t in $tiles; do args="$args --variant winograd_${t}__$sfx"; done
    CONV1D_ISA=$isa $b bench --shape "$shape" --layout $lay --threads 2 --budget 1 $args --variant onednn --csv 2>/dev/null | awk -F, -v b=$(basename $b) -v isa=$isa -v lay=$lay -v s="$shape" '
      $1=="onednn"{od=$6} $1 ~ /^winograd/ && $5=="ok" { if (best=="" || $6<best) {best=$6; bv=$1; bp=$7} }
      END{printf "%s %s %s %-40s best %s %.3f (p10 %.3f) onednn %.3f vs %.2fx\n", b, isa, lay, substr(s,1,60), bv, best, bp, od, od/best}'
   done
  done
 done
done <<'SHAPES'
batch=1,length=4096,in_channels=256,out_channels=256,kernel_size=3,pad_left=1,pad_right=1,bias=1 f4r3 f6r3
batch=1,length=3000,in_channels=80,out_channels=512,kernel_size=3,padding=1,bias=1 f4r3 f6r3
batch=1,length=2048,in_channels=256,out_channels=256,kernel_size=5,padding=2 f2r5 f4r5
batch=1,length=6400,in_channels=128,out_channels=128,kernel_size=7,dilation=5,padding=15,bias=1 f2r7 f3r7
batch=8,length=1024,in_channels=256,out_channels=256,kernel_size=7,num_groups=4,padding=3,bias=1 f2r7 f3r7
SHAPES
