// A D1 binding that fails a fraction of what it is asked to run, for the fault runs of issue 20.
// Test code only: the Worker is called with an env whose D1 bindings are these wrappers, so the
// production bundle has no fault code at all. A failing statement or batch throws before it
// reaches the real database (as "Network connection lost" does when the request never left),
// so a failure never commits anything itself; what a request wrote before it stays written,
// which is exactly what the invariants look at. Sessions (withSession) fail alike.

export const FAULT_MESSAGE = 'D1_ERROR: Network connection lost.';

export interface FaultCounter {
  statements: number;
  failed: number;
}

type Stmt = D1PreparedStatement;

export function faultyD1(real: D1Database, rate: number, random: () => number, counter: FaultCounter): D1Database {
  const unwrap = new WeakMap<object, Stmt>();
  const maybeFail = () => {
    counter.statements += 1;
    if (random() < rate) {
      counter.failed += 1;
      throw new Error(FAULT_MESSAGE);
    }
  };
  const wrapStmt = (stmt: Stmt): Stmt => {
    const w = {
      bind: (...values: unknown[]) => wrapStmt(stmt.bind(...values)),
      first: async (col?: string) => (maybeFail(), col === undefined ? stmt.first() : stmt.first(col)),
      all: async () => (maybeFail(), stmt.all()),
      run: async () => (maybeFail(), stmt.run()),
      raw: async (o?: { columnNames?: boolean }) => (maybeFail(), o?.columnNames ? stmt.raw({ columnNames: true }) : stmt.raw()),
    };
    unwrap.set(w, stmt);
    return w as unknown as Stmt;
  };
  const wrapDb = (db: Pick<D1Database, 'prepare' | 'batch'> & { getBookmark?: () => string | null }): D1Database => {
    const w: Record<string, unknown> = {
      prepare: (query: string) => wrapStmt(db.prepare(query)),
      // A batch is one transaction: it fails as a whole, before anything runs.
      batch: async (stmts: Stmt[]) => (maybeFail(), db.batch(stmts.map((s) => unwrap.get(s) ?? s))),
      exec: async (query: string) => (maybeFail(), real.exec(query)),
      withSession: (constraint?: string) => wrapDb(real.withSession(constraint as D1SessionConstraint)),
      getBookmark: () => db.getBookmark?.() ?? null,
    };
    return w as unknown as D1Database;
  };
  return wrapDb(real);
}

/** mulberry32: seeded, so a failing run replays the same fault pattern. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
