/**
 * The database probe of GET /health: the cheapest statement that needs a live D1 connection.
 * Raw on purpose: there is no table to model, and the check must not depend on the schema.
 */
export function probeDatabase(db: D1Database): Promise<unknown> {
  return db.prepare('SELECT 1').first();
}
