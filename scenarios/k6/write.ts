// k6 script of scenario `write` (scenarios/write.ts). The runner passes the mix and load shape via
// AUTHLAB_* variables (see lib.ts); run standalone with e.g. `AUTHLAB_URL=http://... k6 run write.ts`.
import { makeScript } from './lib.ts';

const script = makeScript([JSON.stringify({ query: 'write', params: { note: 'authlab' } })]);

export const options = script.options;
export const setup = script.setup;
export default script.run;
