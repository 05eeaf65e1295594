import { parseArgs } from 'node:util';

/** A number flag's default; `integer` refuses fractions (`--rounds 2.5`). */
export type NumberFlag = number | { default: number; integer: true };

export interface FlagSpec<N extends string, S extends string, B extends string = never> {
  /** `--name <positive number>`, with its default. */
  numbers: Record<N, NumberFlag>;
  /** `--name <text>`, undefined when absent. */
  strings?: readonly S[];
  /** `--name` alone (no value), false when absent. */
  booleans?: readonly B[];
}

export interface Flags<N extends string, S extends string, B extends string = never> {
  numbers: Record<N, number>;
  strings: Record<S, string | undefined>;
  booleans: Record<B, boolean>;
  /** The flags the command line named (a number flag at its default value counts when it was named). */
  given: ReadonlySet<N | S | B>;
}

/**
 * The benches' flags (system/*\/bench): strict, so a mistyped `--round 9` is refused instead of silently
 * running the default. Throws an Error whose message is one sentence naming the flag and the known ones.
 */
export function parseBenchFlags<N extends string, S extends string = never, B extends string = never>(
  spec: FlagSpec<N, S, B>,
  argv: readonly string[],
): Flags<N, S, B> {
  const numberNames = Object.keys(spec.numbers) as N[];
  const stringNames = [...(spec.strings ?? [])];
  const booleanNames = [...(spec.booleans ?? [])];
  const known = [...numberNames, ...stringNames, ...booleanNames].map((n) => `--${n}`).join(', ') || 'none';
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: Object.fromEntries([
        ...[...numberNames, ...stringNames].map((n) => [n, { type: 'string' as const }]),
        ...booleanNames.map((n) => [n, { type: 'boolean' as const }]),
      ]),
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | boolean | undefined> });
  } catch (err) {
    throw new Error(`${(err as Error).message.split('\n')[0]!.replace(/\. To specify.*$/, '')} (flags: ${known})`, { cause: err });
  }
  const numbers = {} as Record<N, number>;
  for (const name of numberNames) {
    const s = spec.numbers[name];
    const def = typeof s === 'number' ? s : s.default;
    const integer = typeof s !== 'number';
    const text = values[name] as string | undefined;
    if (text === undefined) {
      numbers[name] = def;
      continue;
    }
    const v = Number(text);
    if (text.trim() === '' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
      throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'} (got '${text}')`);
    }
    numbers[name] = v;
  }
  const strings = {} as Record<S, string | undefined>;
  for (const name of stringNames) strings[name] = values[name] as string | undefined;
  const booleans = {} as Record<B, boolean>;
  for (const name of booleanNames) booleans[name] = values[name] === true;
  const given = new Set([...numberNames, ...stringNames, ...booleanNames].filter((n) => values[n] !== undefined));
  return { numbers, strings, booleans, given };
}

/** {@link parseBenchFlags} on this process's arguments; a mistake prints one sentence and exits 2. */
export function benchFlags<N extends string, S extends string = never, B extends string = never>(
  bench: string,
  spec: FlagSpec<N, S, B>,
): Flags<N, S, B> {
  try {
    return parseBenchFlags(spec, process.argv.slice(2));
  } catch (err) {
    console.error(`${bench}: ${(err as Error).message}`);
    process.exit(2);
  }
}
