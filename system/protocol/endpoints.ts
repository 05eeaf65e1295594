/** `runs/up/endpoints.json`, written by `authlab up` (docs/DESIGN.md §3 "CLI"). */
export interface EndpointsFile {
  idp: {
    url: string;
    /** `--data-plane go`: the IdP's Go token plane's token endpoint, as this host reaches it (kind: a port-forward). */
    tokenEndpoint?: string;
  };
  admin: { token: string };
  postgres: { url: string };
  services: {
    name: string;
    pair: number;
    url: string;
    /** Its Go data plane's base URL for outbound calls, when the platform gave it one (`--data-plane go`). */
    dataPlaneUrl?: string;
    saTokenPath: string;
    database: string;
  }[];
  /** With `--observe`: where Prometheus answers (local: on 127.0.0.1; kube: its ClusterIP; kind: a port-forward). */
  prometheus?: { url: string };
}

/** Service names of pair i (1-based): `p<i>-a`, `p<i>-b`. */
export function pairServices(pair: number): [string, string] {
  return [`p${pair}-a`, `p${pair}-b`];
}

/** The pair a service name `p<i>-a|b` belongs to ({@link pairServices} reversed), or null for any other name. */
export function pairOf(service: string): number | null {
  const m = /^p([1-9]\d*)-[ab]$/.exec(service);
  return m === null ? null : Number(m[1]);
}

/** Path of the settings stream on the IdP (SSE). */
export const SETTINGS_STREAM_PATH = '/v1/settings/stream';

/**
 * Line a component's `main.ts` prints on stdout once it listens, so a supervisor learns its URL
 * without racing for ports: `{"event":"listening","service":"idp","url":"http://127.0.0.1:41234"}`.
 */
export interface ListeningLine {
  event: 'listening';
  service: string;
  url: string;
  /** The Go data plane's base URL for outbound calls (`POST <dataPlaneUrl>/call/<target>/query`), when it runs. */
  dataPlaneUrl?: string;
}
