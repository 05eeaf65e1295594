// Generic k6 driver: the mix comes only from AUTHLAB_BODIES (used for the harness floor and tests).
import { makeScript } from './lib.ts';

const script = makeScript(['{}']);

export const options = script.options;
export const setup = script.setup;
export default script.run;
