#!/usr/bin/env bash
# Submits a sharded sweep to SLURM: a job array whose task I sweeps shard I/N of a suite
# (scripts/slurm/sweep_shard.sbatch), and a merge job that runs once every task has succeeded
# (scripts/slurm/merge_shards.sbatch, --dependency=afterok). `make slurm-sweep SUITE=... SHARDS=N` calls it.
#
#   scripts/slurm/submit.sh --suite FILE --shards N [--partition P] [--results DIR] [--local-dir DIR]
#       [--cpus-per-task C] [--time LIMIT] [--save-every S] [--sbatch OPTION]... [--tool PATH] [--dry-run]
#       [-- sweep options...]
#
#   --results DIR       shared directory for the shard files, logs and the merged database (default
#                       results/slurm/SUITE-Nshards[-PARTITION]); submitting again with the same directory
#                       resumes: every task continues its shard and finished shards are skipped
#   --local-dir DIR     node-local directory the databases are written in (default: $TMPDIR on the node, else /tmp)
#   --cpus-per-task C   cores per shard, and the sweep's --threads (default: a whole node per shard, --exclusive,
#                       so that nothing else runs beside the timings)
#   --save-every S      copy each shard's progress to the results directory every S seconds (default 600)
#   --sbatch OPTION     passed to both sbatch calls, e.g. --sbatch=--constraint=zen4 --sbatch=--account=proj
#   --tool PATH         the conv1d-tune to run (default: build/bin/conv1d-tune of this tree); it and the suite
#                       must be visible on the compute nodes
#   --dry-run           print the two sbatch commands instead of running them
#   -- ...              passed to every `conv1d-tune sweep` (e.g. --layout both --budget 1.5)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

usage() { sed -n '/^#   scripts/,/^#   -- /p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
abspath() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
suite= shards= partition= results= local_dir= cpus= time_limit= save_every= tool="$root/build/bin/conv1d-tune" dry=0
extra=()
while [ $# -gt 0 ]; do
    case $1 in
    --suite | --shards | --partition | --results | --local-dir | --cpus-per-task | --time | --save-every | \
        --sbatch | --tool)
        [ $# -ge 2 ] || { echo "submit: $1 needs a value." >&2; exit 2; }
        opt=$1 val=$2
        shift 2 ;;
    --*=*) opt=${1%%=*} val=${1#*=}; shift ;;
    --dry-run) dry=1; shift; continue ;;
    --) shift; break ;;
    -h | --help) usage 0 ;;
    *) echo "submit: unknown argument '$1' (see --help)." >&2; exit 2 ;;
    esac
    case $opt in
    --suite) suite=$val ;;
    --shards) shards=$val ;;
    --partition) partition=$val ;;
    --results) results=$val ;;
    --local-dir) local_dir=$val ;;
    --cpus-per-task) cpus=$val ;;
    --time) time_limit=$val ;;
    --save-every) save_every=$val ;;
    --sbatch) extra+=("$val") ;;
    --tool) tool=$val ;;
    *) echo "submit: unknown option '$opt' (see --help)." >&2; exit 2 ;;
    esac
done
if [ -z "$suite" ] || [ -z "$shards" ]; then
    echo "submit: --suite FILE and --shards N are required (see --help)." >&2
    exit 2
fi
case $shards in *[!0-9]* | 0*) echo "submit: --shards must be a positive number, got '$shards'." >&2; exit 2 ;; esac
[ -f "$suite" ] || { echo "submit: suite file $suite does not exist." >&2; exit 2; }
[ -x "$tool" ] || { echo "submit: $tool is not an executable conv1d-tune (build it with make)." >&2; exit 2; }
case $cpus in *[!0-9]* | 0*)
    echo "submit: --cpus-per-task must be a positive number, got '$cpus'." >&2
    exit 2 ;;
esac
# The suite is read once here, so a bad file fails now rather than in N tasks.
"$tool" sweep --suite "$suite" --help >/dev/null

suite=$(abspath "$suite") tool=$(abspath "$tool")
name=$(basename "$suite" .suite)
results=$(abspath "${results:-$root/results/slurm/$name-${shards}shards${partition:+-$partition}}")

common=()
[ -n "$partition" ] && common+=(--partition "$partition")
[ -n "$time_limit" ] && common+=(--time "$time_limit")
common+=(${extra[@]+"${extra[@]}"})
if [ -n "$cpus" ]; then per_task=(--cpus-per-task "$cpus"); else per_task=(--exclusive); fi
local_opt=()
[ -n "$local_dir" ] && local_opt=(--local-dir "$local_dir")
save_opt=()
[ -n "$save_every" ] && save_opt=(--save-every "$save_every")

array_cmd=(sbatch --parsable --array="1-$shards" --output "$results/logs/shard-%a.out" "${per_task[@]}"
    ${common[@]+"${common[@]}"}
    "$here/sweep_shard.sbatch" --tool "$tool" --suite "$suite" --shards "$shards" --results "$results"
    ${local_opt[@]+"${local_opt[@]}"} ${save_opt[@]+"${save_opt[@]}"} -- "$@")
# A task that fails fails afterok for good (SLURM keeps the array's worst exit code even when the task is
# requeued and succeeds), so the merge job is then cancelled rather than left pending for ever.
merge_cmd=(sbatch --parsable --dependency="afterok:ARRAY" --kill-on-invalid-dep=yes
    --output "$results/logs/merge.out" ${common[@]+"${common[@]}"}
    "$here/merge_shards.sbatch" --tool "$tool" --results "$results" --shards "$shards"
    ${local_opt[@]+"${local_opt[@]}"})
if [ "$dry" = 1 ]; then
    printf '%q ' "${array_cmd[@]}"; echo
    printf '%q ' "${merge_cmd[@]}"; echo
    exit 0
fi
if ! command -v sbatch >/dev/null; then
    echo "submit: sbatch not found: this machine is not a SLURM submit host." >&2
    exit 1
fi
mkdir -p "$results/logs"

array=$("${array_cmd[@]}")
array=${array%%;*}
merge_cmd=("${merge_cmd[@]/afterok:ARRAY/afterok:$array}")
if ! merge=$("${merge_cmd[@]}"); then
    echo "submit: the merge job was refused; the sweep array $array runs anyway. Merge by hand once it is done:" >&2
    echo "  bash $here/merge_shards.sbatch --tool $tool --results $results --shards $shards" >&2
    exit 1
fi
merge=${merge%%;*}
cat <<EOF
submitted sweep array $array ($shards tasks: shards of $suite)
  and merge job $merge (runs when every task has succeeded)
  follow:   squeue -j $array,$merge
  logs:     $results/logs/shard-<I>.out, $results/logs/merge.out
  results:  $results/merged.db and winners.csv when job $merge has finished
  a task requeued by SLURM (pre-emption, node failure) resumes its shard, and job $merge still waits for it;
  if a task fails, job $merge is cancelled: run this command again (same results directory): every task
  resumes its shard, finished shards end at once, and a new merge job follows
EOF
