import { Type } from '@sinclair/typebox';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ReportError } from './errors.js';
import type { Results } from './schema.js';

// The shape reports rely on. Extension fields are optional, and unknown fields are tolerated so a
// newer writer does not break an older reader (schemaVersion is what signals a breaking change).
const Num = Type.Number();
const Mode = Type.Union([Type.Literal('direct'), Type.Literal('off'), Type.Literal('observe'), Type.Literal('enforce')]);
const Engine = Type.Union([Type.Literal('autocannon'), Type.Literal('k6')]);
const Ci = Type.Tuple([Num, Num]);

const Study = Type.Object({
  id: Type.String(),
  startedAt: Type.String(),
  finishedAt: Type.String(),
  platform: Type.String(),
  engine: Engine,
  design: Type.String(),
  pairs: Num,
  trials: Num,
  seed: Type.Optional(Num),
  scenarios: Type.Optional(Type.Array(Type.String())),
  quick: Type.Optional(Type.Boolean()),
  git: Type.Object({ commit: Type.Union([Type.String(), Type.Null()]), dirty: Type.Union([Type.Boolean(), Type.Null()]) }),
  env: Type.Object({ cpus: Num, cpuModel: Type.String(), memGiB: Num, node: Type.String(), os: Type.String() }),
});

const Run = Type.Object({
  id: Type.String(),
  scenario: Type.String(),
  mode: Mode,
  pair: Num,
  trial: Num,
  engine: Engine,
  model: Type.Union([Type.Literal('open'), Type.Literal('closed')]),
  rate: Type.Union([Num, Type.Null()]),
  connections: Num,
  durationS: Num,
  warmupS: Num,
  requests: Type.Object({ ok: Num, errors: Type.Record(Type.String(), Num) }),
  latencyUs: Type.Object({ p50: Num, p90: Num, p99: Num, p999: Num, max: Num, mean: Num, count: Num, hdr: Type.String() }),
  serverTimingUs: Type.Record(Type.String(), Type.Object({ p50: Num, p99: Num })),
  valid: Type.Boolean(),
  invalidReason: Type.Union([Type.String(), Type.Null()]),
  throughputRps: Type.Optional(Num),
  timeline: Type.Optional(Type.Array(Type.Object({ tMs: Num, rps: Num, p50Us: Num, p99Us: Num }))),
});

const Comparison = Type.Object({
  scenario: Type.String(),
  baseline: Mode,
  candidate: Mode,
  stat: Type.Union([Type.Literal('p50'), Type.Literal('p99')]),
  deltaUs: Num,
  ci95Us: Ci,
  pValue: Num,
  significant: Type.Boolean(),
  n: Type.Optional(Num),
});

const Storm = Type.Object({
  policy: Type.String(),
  services: Num,
  ttlS: Num,
  issued: Num,
  failed: Num,
  peakIdpRps: Num,
  meanIdpRps: Num,
  timeToAllTokensMs: Num,
  idpRpsSeries: Type.Array(Type.Tuple([Num, Num])),
});

const Floor = Type.Object({ engine: Engine, p50Us: Num, p99Us: Num, maxRps: Num, connections: Num, durationS: Num });

const AuthSide = Type.Object({ meanUs: Num, p50Us: Num, p99Us: Num, perRepMeanUs: Type.Array(Num), perRepP50Us: Type.Array(Num) });
const Replication = Type.Object({
  query: Type.Union([Type.Literal('light'), Type.Literal('heavy')]),
  requests: Num,
  repetitions: Num,
  workers: Num,
  byAuth: Type.Object({ on: AuthSide, off: AuthSide }),
  meanDeltaUs: Num,
  meanDeltaCi95Us: Ci,
  p50DeltaUs: Num,
  p50DeltaCi95Us: Ci,
  meanRelative: Num,
});

const ResultsSchema: TSchema = Type.Object({
  schemaVersion: Type.Literal(1),
  study: Study,
  harnessFloor: Type.Optional(Type.Array(Floor)),
  runs: Type.Array(Run),
  comparisons: Type.Array(Comparison),
  tokenStorm: Type.Array(Storm),
  replication: Type.Optional(Type.Array(Replication)),
});

/**
 * Checks that `data` is a results.json of schemaVersion 1 and returns it typed.
 *
 * @param source where the data came from (a path), named in the message.
 * @throws ReportError ERR_RESULTS_SCHEMA naming the first offending field and what it should be.
 */
export function validateResults(data: unknown, source = 'results.json'): Results {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ReportError('ERR_RESULTS_SCHEMA', `${source} is not a JSON object; pass the results.json a study wrote (runs/<study-id>/results.json).`);
  }
  const version = (data as { schemaVersion?: unknown }).schemaVersion;
  if (version !== 1) {
    throw new ReportError(
      'ERR_RESULTS_SCHEMA',
      `${source} has schemaVersion ${JSON.stringify(version ?? null)} but this authlab reads schemaVersion 1; re-run the study or use the authlab version that wrote it.`,
    );
  }
  const first = Value.Errors(ResultsSchema, data).First();
  if (first) {
    const where = first.path === '' ? '(top level)' : first.path;
    throw new ReportError(
      'ERR_RESULTS_SCHEMA',
      `${source} is not a valid results.json: at ${where}, ${first.message.toLowerCase()}; fix that field or re-run the study.`,
    );
  }
  return data as Results;
}
