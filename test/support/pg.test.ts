import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestPostgres } from './pg.js';

describe('startTestPostgres', () => {
  it('starts a real PostgreSQL that answers queries and stops cleanly', async () => {
    const db = await startTestPostgres();
    try {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const { rows } = await client.query<{ n: number }>('SELECT 1 + 1 AS n');
      await client.end();
      expect(rows[0]?.n).toBe(2);
    } finally {
      await db.stop();
    }
  });
});
