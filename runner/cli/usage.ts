/** The commands of `authlab`; each has its own `--help`. */
export type Command = 'study' | 'up' | 'down' | 'status' | 'report' | 'compare' | 'cluster';

const EXIT_CODES = 'Exit codes: 0 ok, 1 failure or regression, 2 usage error (the message says what to do), 130 interrupted.';

const STUDY_OPTIONS = `Study options:
  --platform local|kube|kind where to run (default local: needs only Node; kube: root, see \`authlab cluster --help\`;
                             kind: creates a kind cluster from cluster/kind.yaml, needs docker and kind)
  --kubeconfig FILE          kind platform: deploy to this existing cluster (kind or any other) instead
  --keep-cluster             kind platform: keep the kind cluster it created (default: delete it at the end)
  --k6-runners N             with --engine k6 on kube or kind: run k6 as N pods in the cluster, splitting
                             each run's arrival rate by k6 execution segment
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
  --calibrate US             inject a US µs busy-wait into enforce's verify stage (a sidecar test hook,
                             off by default) and report whether each estimator recovers it
  --data-plane auto|node|go  go: outbound calls through each sidecar's Go data plane instead of its Node
                             /call, token exchanges through the IdP's Go token plane (built with the Go
                             toolchain; kube/kind: packed into the images, ports 8081 and 8082); node: the
                             Node sidecar's own; auto (default): go where Go builds it, else node, saying why
  --aa                       A/A study: observe and enforce configured exactly like off; reports the
                             observed false-positive rate
  --observe                  also run Prometheus scraping every component and the runner each second; prints
                             its URL (local: Debian's \`prometheus\`; kube/kind: upstream, deployed in
                             authlab-system with pod discovery, built by \`authlab cluster build\` or on first use)
  --live-port P              port of the live page and the runner's /metrics (default: a free one)`;

const ENVIRONMENT = `Environment:
  AUTHLAB_RUNS_DIR           folder for runs/ output and the \`up\` state (default ./runs)`;

/** `authlab <command> --help`: that command's synopsis and flags. */
export const COMMAND_USAGE: Record<Command, string> = {
  study: `Usage: authlab study [options]

Provision, run a study, write results.json, report.html and summary.md, tear down; prints the report's path.

${STUDY_OPTIONS}

${ENVIRONMENT}

${EXIT_CODES}
`,
  up: `Usage: authlab up [--platform local|kube|kind] [--pairs N] [--base-port P] [--restart on-failure|no] [--redis]
                  [--observe] [--live-port P] [--kubeconfig FILE] [--keep-cluster] [--data-plane auto|node|go]

Provision the platform and stay up; writes runs/up/endpoints.json. Ctrl-C or \`authlab down\` stops it.
A component that exits is reported at once (here and in \`authlab status\`) and handled per --restart.

  --platform local|kube|kind where to run (default local; kube: the cluster of \`authlab cluster up\`, root;
                             kind: a kind cluster from cluster/kind.yaml, reached by port-forward;
                             Kubernetes restarts its pods, so --restart applies to local only)
  --kubeconfig FILE          kind platform: deploy to this existing cluster instead of creating one
  --keep-cluster             kind platform: keep the kind cluster it created when \`up\` stops
  --pairs N                  isolated service pairs (default 4)
  --base-port P              use ports P… instead of free ones picked by the OS
  --restart on-failure|no    start an exited component again, same config and port (default on-failure;
                             after 5 exits within 60 s it is left down), or leave it down
  --redis                    also start redis-server: each sidecar caches \`heavy-cached\` results under its
                             own ACL user and key prefix (apt-get install redis-server; kube/kind: one Redis
                             pod per service namespace, from an image packed with that binary)
  --observe                  also run Prometheus scraping every component and the runner each second; prints
                             its URL (local: Debian's \`prometheus\`; kube/kind: upstream, deployed in
                             authlab-system with pod discovery, built by \`authlab cluster build\` or on first use)
  --live-port P              port of the live page and the runner's /metrics (default: a free one)
  --data-plane auto|node|go  go: every sidecar starts its Go data plane; endpoints.json names each one's
                             dataPlaneUrl, where outbound calls (POST /call/<target>/query) go; the IdP
                             starts its Go token plane, which discovery names as the token endpoint;
                             node: neither; auto (default): go where Go builds it, else node, saying why

${ENVIRONMENT}

${EXIT_CODES}
`,
  down: `Usage: authlab down

Stop what \`authlab up\` started, leaving no process behind.

${ENVIRONMENT}

${EXIT_CODES}
`,
  status: `Usage: authlab status

Show whether \`authlab up\` runs and, per component, its pid, readiness (what a sidecar cannot do),
restarts and last event. Exit 0 when every component is ready, 1 otherwise (also when nothing runs).

${ENVIRONMENT}

${EXIT_CODES}
`,
  report: `Usage: authlab report <results.json> [--out DIR] [--history FILE]

Re-render a study's report.html and summary.md from its results.json.

  --out DIR                  where the report goes (default: next to results.json)
  --history FILE             append the study's headline figures to this benchmark history (JSON, made
                             when missing; last 90 runs) and add a trend chart across its runs

${EXIT_CODES}
`,
  cluster: `Usage: authlab cluster build [--force] | up | status | down

A single-node Kubernetes on this host for \`--platform kube\` (root; see cluster/README.md).

  build [--force]            build the pinned Kubernetes binaries into the cache (~15 min cold on 2 cores;
                             --force rebuilds them)
  up                         start the cluster (root); prints the kubeconfig path
  status                     node, versions, processes and pods (exit 0 also when no cluster is up)
  down                       stop the cluster and remove everything it made (also after a killed up)

Environment:
  XDG_CACHE_HOME             the binaries and images are cached in $XDG_CACHE_HOME/authlab/kube
                             (default ~/.cache/authlab/kube)

${EXIT_CODES}
`,
  compare: `Usage: authlab compare <base.json> <new.json> [--threshold-pct N] [--threshold-us N] [--stats p50,p99]
                       [--relative-to MODE]

Print the differences between two studies with 95% CIs; exit 1 on a significant regression beyond the threshold.
What the two ran with that differs (platform, engine, data plane, design, host, Node, calibration) is named below the table.

  --threshold-pct N          a regression's CI must clear N% of the base (default 5)
  --threshold-us N           ...and N µs (default 0)
  --stats p50,p99            per-run statistics to compare (default both)
  --relative-to MODE         compare each mode's overhead over MODE (e.g. off), per trial, instead of
                             absolute latency: a host that is slower as a whole cancels out (a mode
                             before MODE, such as direct before off, is judged by MODE's overhead over it)

${EXIT_CODES}
`,
};

/** `authlab --help`. */
export const USAGE = `authlab — measure what service-to-service auth costs (latency, CPU, risk)

Usage:
  authlab study [options]            provision, run a study, write the report, tear down
  authlab up [--platform local|kube|kind] [--pairs N] [--base-port P] [--restart on-failure|no] [--redis]
                                     provision and stay up; writes runs/up/endpoints.json
  authlab down                       stop what \`authlab up\` started
  authlab status                     is \`authlab up\` running, and is every component ready?
  authlab report <results.json> [--out DIR] [--history FILE]
                                     re-render a study's report
  authlab compare <base.json> <new.json> [--threshold-pct N] [--threshold-us N] [--stats p50,p99] [--relative-to MODE]
                                     differences with CIs; exit 1 on a significant regression
  authlab cluster build|up|status|down
                                     a single-node Kubernetes on this host for --platform kube (root)
  authlab <command> --help           that command's usage

${STUDY_OPTIONS}

${ENVIRONMENT}

${EXIT_CODES}
`;
