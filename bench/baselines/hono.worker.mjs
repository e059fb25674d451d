// Bare Hono: the same constant JSON through Hono's router and context, nothing else. The gap to
// the constant baseline is the framework's own cost.
import { Hono } from 'hono';

const app = new Hono();
app.get('/', (c) => c.json({ ok: true }));

export default app;
