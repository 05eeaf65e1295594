/** Whether a sidecar attaches its access token to outgoing calls. */
export const SIGN_MODES = ['on', 'off'] as const;
export type SignMode = (typeof SIGN_MODES)[number];
/** How a sidecar treats inbound tokens (docs/DESIGN.md §2 "Sidecar"). */
export const VERIFY_MODES = ['off', 'observe', 'enforce'] as const;
export type VerifyMode = (typeof VERIFY_MODES)[number];
/** What a study run compares (docs/DESIGN.md §3 "Modes"), in the order reports show them. */
export const RUN_MODES = ['direct', 'off', 'observe', 'enforce'] as const;
export type RunMode = (typeof RUN_MODES)[number];

/** The sign/verify settings a run mode implies for the caller and target sidecars. */
export function settingsForRunMode(mode: RunMode): { signMode: SignMode; verifyMode: VerifyMode } {
  switch (mode) {
    case 'direct':
    case 'off':
      return { signMode: 'off', verifyMode: 'off' };
    case 'observe':
      return { signMode: 'on', verifyMode: 'observe' };
    case 'enforce':
      return { signMode: 'on', verifyMode: 'enforce' };
  }
}
