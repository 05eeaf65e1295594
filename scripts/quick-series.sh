#!/usr/bin/env bash
# Runs N quick studies in a row and prints, per study and in all, how many Holm-adjusted tests came out
# significant. Usage: scripts/quick-series.sh <name> <N> <base-port> [study flags…]
# e.g. scripts/quick-series.sh aa 10 25100 --aa   → runs/aa-1 … runs/aa-10, runs/aa-summary.txt
set -u
name=$1 n=$2 port=$3
shift 3
cd "$(dirname "$0")/.."
. scripts/node.sh >/dev/null
for i in $(seq 1 "$n"); do
  out=runs/$name-$i
  echo "$(date -u +%T) $out load: $(cut -d' ' -f1-3 /proc/loadavg)" >>"runs/$name-summary.txt"
  start=$(date +%s)
  node bin/authlab.js study --quick --base-port $((port + (i - 1) * 40)) --out "$out" "$@" >"$out.log" 2>&1
  echo "  exit $? in $(($(date +%s) - start)) s" >>"runs/$name-summary.txt"
done
node -e '
const fs = require("fs");
let sig = 0, total = 0;
for (let i = 1; i <= Number(process.argv[2]); i++) {
  const f = `runs/${process.argv[1]}-${i}/results.json`;
  if (!fs.existsSync(f)) { console.log(`${f}: missing`); continue; }
  const r = JSON.parse(fs.readFileSync(f, "utf8"));
  // direct → off is a real difference (direct skips a hop) even in an A/A study: only auth comparisons count.
  const tests = [...r.comparisons, ...(r.estimates ?? [])].filter((t) => !(r.study.aa && t.baseline === "direct"));
  const s = tests.filter((t) => t.significant);
  sig += s.length; total += tests.length;
  const cal = (r.estimates ?? []).filter((e) => e.baseline === "observe" && e.candidate === "enforce" && e.scenario === "light");
  console.log(`${f}: ${s.length}/${tests.length} significant; load ${r.study.machine.loadAvgStart[0]} → ${r.study.machine.loadAvgEnd[0]} (max ${r.study.machine.loadAvg1mMax})` +
    (s.length ? ` [${s.map((t) => `${t.scenario} ${t.baseline}→${t.candidate} ${t.stat ?? t.estimator}`).join("; ")}]` : "") +
    cal.map((e) => `; calibrate ${e.estimator} ${e.delta} [${e.ci95}]`).join(""));
}
console.log(`total: ${sig}/${total} significant after Holm (${total ? ((100 * sig) / total).toFixed(1) : "-"}%)`);
' "$name" "$n" >>"runs/$name-summary.txt"
