// Baseline 1: the cheapest possible Worker, a constant JSON body. Its throughput is the
// ceiling of this runtime + loopback + load generator on this machine.
/* global Response */
const BODY = '{"ok":true}';
const HEADERS = { 'content-type': 'application/json' };

export default {
  fetch() {
    return new Response(BODY, { headers: HEADERS });
  },
};
