/** `authlab --help`. */
export const USAGE = `authlab — measure what service-to-service auth costs (latency, CPU, risk)

Usage:
  authlab study [options]            provision, run a study, write the report, tear down
  authlab up [--pairs N] [--base-port P]
                                     provision and stay up; writes runs/up/endpoints.json
  authlab down                       stop what \`authlab up\` started
  authlab report <results.json> [--out DIR]
                                     re-render a study's report
  authlab compare <base.json> <new.json> [--threshold-pct N] [--threshold-us N] [--stats p50,p99]
                                     differences with CIs; exit 1 on a significant regression
  authlab cluster build|up|status|down
                                     a single-node Kubernetes on this host (root; see cluster/README.md)

Study options:
  --platform local|kind      where to run (default local: needs only Node)
  --engine autocannon|k6     load generator (default autocannon; k6 must be on PATH)
  --scenarios a,b            scenarios to run (default: all; e.g. light,heavy,write)
  --quick                    a short study that finishes within about a minute
  --pairs N                  isolated service pairs (default 4)
  --trials N                 trials per scenario
  --duration 30s             duration of one run (e.g. 500ms, 20s, 2m)
  --rate N                   requests per second per run (open loop with k6)
  --design interleaved|sequential
                             interleaved trials on all pairs (default) or modes one after another
  --seed N                   seed of the trial shuffle, to replay a design
  --out DIR                  where results.json and the report go (default runs/<study-id>)
  --base-port P              use ports P… instead of free ones picked by the OS

Environment:
  AUTHLAB_RUNS_DIR           folder for runs/ output and the \`up\` state (default ./runs)

Exit codes: 0 ok, 1 failure or regression, 2 usage error (the message says what to do), 130 interrupted.
`;
