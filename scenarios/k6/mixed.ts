// k6 script of scenario `mixed` (scenarios/mixed.ts). The runner passes the mix and load shape via
// AUTHLAB_* variables (see lib.ts); run standalone with e.g. `AUTHLAB_URL=http://... k6 run mixed.ts`.
import { makeScript } from './lib.ts';

const script = makeScript([
  ...Array(9).fill(JSON.stringify({ query: 'light', params: { id: 1 } })),
  JSON.stringify({ query: 'heavy', params: { n: 1000000 } }),
]);

export const options = script.options;
export const setup = script.setup;
export default script.run;
