// k6 script of scenario `heavy-cached` (scenarios/heavy-cached.ts). The runner passes the mix and load shape via
// AUTHLAB_* variables (see lib.ts); run standalone with e.g. `AUTHLAB_URL=http://... k6 run heavy.ts`.
import { makeScript } from './lib.ts';

const script = makeScript([JSON.stringify({ query: 'heavy-cached', params: { n: 1000000 } })]);

export const options = script.options;
export default script.run;
