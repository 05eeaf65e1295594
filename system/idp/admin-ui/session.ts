import { randomBytes } from 'node:crypto';

/** One signed-in browser: the cookie carries `id`; every change must echo `csrf` in a header. */
export interface Session {
  id: string;
  csrf: string;
  /** ms since the epoch. */
  createdAt: number;
  /** ms since the epoch: the session ends then unless used again before (idle expiry). */
  expiresAt: number;
}

export interface SessionStoreOptions {
  /** A session unused this long ends. Default 900 s. */
  idleSeconds?: number;
  /** A session ends this long after sign-in, used or not. Default 8 h. */
  absoluteSeconds?: number;
  /** Most sessions held at once; the oldest is dropped beyond it. Default 100. */
  maxSessions?: number;
  /** Clock, ms since the epoch. */
  now?: () => number;
}

/**
 * Admin UI sessions, in memory: an IdP restart signs everybody out, which is the safe failure.
 * Ids and CSRF tokens are 256-bit random values; nothing about the admin token is kept.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly idleMs: number;
  private readonly absoluteMs: number;
  private readonly max: number;
  private readonly now: () => number;

  constructor(opts: SessionStoreOptions = {}) {
    this.idleMs = (opts.idleSeconds ?? 900) * 1000;
    this.absoluteMs = (opts.absoluteSeconds ?? 8 * 3600) * 1000;
    this.max = opts.maxSessions ?? 100;
    this.now = opts.now ?? Date.now;
  }

  create(): Session {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
    while (this.sessions.size >= this.max) this.sessions.delete(this.sessions.keys().next().value!);
    const s: Session = {
      id: randomBytes(32).toString('base64url'),
      csrf: randomBytes(32).toString('base64url'),
      createdAt: now,
      expiresAt: Math.min(now + this.idleMs, now + this.absoluteMs),
    };
    this.sessions.set(s.id, s);
    return s;
  }

  /** The live session with this id (its idle expiry pushed back), or undefined. */
  touch(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    const now = this.now();
    if (s.expiresAt <= now) {
      this.sessions.delete(id);
      return undefined;
    }
    s.expiresAt = Math.min(now + this.idleMs, s.createdAt + this.absoluteMs);
    return s;
  }

  delete(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }
}
