/** Whether a sidecar attaches its access token to outgoing calls. */
export type SignMode = 'on' | 'off';
/** How a sidecar treats inbound tokens (DESIGN.md §2 "Sidecar"). */
export type VerifyMode = 'off' | 'observe' | 'enforce';
/** What a study run compares (DESIGN.md §3 "Modes"). */
export type RunMode = 'direct' | 'off' | 'observe' | 'enforce';

export const SIGN_MODES: readonly SignMode[] = ['on', 'off'];
export const VERIFY_MODES: readonly VerifyMode[] = ['off', 'observe', 'enforce'];
export const RUN_MODES: readonly RunMode[] = ['direct', 'off', 'observe', 'enforce'];

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
