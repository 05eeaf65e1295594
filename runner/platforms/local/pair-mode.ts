import { setTimeout as sleep } from 'node:timers/promises';
import { PlatformError } from './errors.js';
import { sendJson } from './http.js';

/** What `GET /local/status` on a sidecar reports (the fields the platform reads). */
interface SidecarStatus {
  revision: number;
}

/**
 * Polls a sidecar's `/local/status` until it has applied settings revision `revision` (it learns of
 * changes over the IdP's settings stream). Every 10 ms, up to `timeoutMs` (default 30 000 ms).
 */
export async function waitForRevision(
  sidecarUrl: string,
  localAdminToken: string,
  revision: number,
  name: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = -1;
  for (;;) {
    const status = await sendJson<SidecarStatus>('GET', `${sidecarUrl}/local/status`, localAdminToken);
    seen = status.revision;
    if (seen >= revision) return;
    if (Date.now() > deadline) {
      throw new PlatformError(
        'ERR_START_TIMEOUT',
        `${name} did not apply settings revision ${revision} within ${timeoutMs} ms (it is at ${seen}); is its settings stream to the IdP connected?`,
      );
    }
    await sleep(10);
  }
}
