#!/bin/bash
# The dpv-four lineage's Elo curve (issue 15): `dpv rate --lineage` over run1 and run2, rebuilt from what git keeps
# of them, and the runs of this session named after them. Nothing else CPU-heavy beside it.
# Usage: bash results/lineage/rate-lineage.sh OUT RUN_DIR...   e.g. bash results/lineage/rate-lineage.sh \
#            results/lineage/rate runs/lineage-run3        (env: GAMES=20 SIMS=200 CHECKPOINTS=4 LEVEL=1)
# The runs' checkpoints stayed on the machines that trained them; git keeps one of each (models/dpv-four.pt at
# 168af6e: run1 step 8,700; at 702c7a0: run2 step 7,900; results/lineage/run3/step-00005400.pt: run3's best) and
# their run files (results/lineage/runN: config.yaml, metrics.jsonl, lineage.json, summary.json). A missing
# runs/lineage-runN is rebuilt from those as a run directory with that one checkpoint. The same OUT resumes.
# Usage in a later session (run4 trained from run3's best):
#   bash results/lineage/rate-lineage.sh results/lineage/rate-run4 runs/lineage-run3 runs/lineage-run4
# (a new OUT: rate/ holds run3's four checkpoints, of which git keeps one, so rating into it again would drop three)
set -ex
cd "$(dirname "$0")/../.." && source .venv/bin/activate
export RAY_worker_niceness=0   # Ray starts its workers at niceness 15; measured runs run them at 0
rebuild() {  # rebuild NAME STEP GIT_OBJECT: runs/lineage-NAME with the checkpoint GIT_OBJECT (REV:PATH) holds
  local dir=runs/lineage-$1
  [ -e "$dir" ] && return
  mkdir -p "$dir/checkpoints"
  cp "results/lineage/$1/"{config.yaml,metrics.jsonl,lineage.json,summary.json} "$dir/"
  git show "$3" > "$dir/checkpoints/step-$(printf %08d "$2").pt"
}
rebuild run1 8700 168af6e:models/dpv-four.pt
rebuild run2 7900 702c7a0:models/dpv-four.pt
rebuild run3 5400 HEAD:results/lineage/run3/step-00005400.pt
out=$1; shift
echo "== $(date -u +%FT%TZ) rate-lineage $out: run1 run2 $*; $(uptime)" >> results/lineage/load.txt
dpv rate --lineage runs/lineage-run1 runs/lineage-run2 "$@" --out "$out" \
    --anchor "/usr/games/gnugo --mode gtp --level ${LEVEL:-1} --chinese-rules --capture-all-dead" \
    --games "${GAMES:-20}" --sims "${SIMS:-200}" --checkpoints "${CHECKPOINTS:-4}" --games-per-task 10 \
    --sensible-moves
echo "== $(date -u +%FT%TZ) rate-lineage $out done; $(uptime)" >> results/lineage/load.txt
