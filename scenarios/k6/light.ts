// k6 script of scenario `light` (scenarios/light.ts). The runner passes the mix and load shape via
// AUTHLAB_* variables (see lib.ts); run standalone with e.g. `AUTHLAB_URL=http://... k6 run light.ts`.
import { makeScript } from './lib.ts';

const script = makeScript([1, 2, 3, 4, 5, 6, 7, 8].map((id) => JSON.stringify({ query: 'light', params: { id } })));

export const options = script.options;
export const setup = script.setup;
export default script.run;
