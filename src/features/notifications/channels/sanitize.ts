/**
 * Defence in depth for anything that becomes a mail header or an SMTP command. The queue
 * schema already refuses control characters; these helpers make the adapters safe on their
 * own (worker-mailer writes an ASCII subject verbatim, so a CRLF there would start a header).
 */

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** One header line: every control character (CR and LF included) becomes a single space. */
export function headerValue(value: string, max = 998): string {
  return value.replace(CONTROL, ' ').trim().slice(0, max);
}

/** A display name: header-safe and without the characters that end a quoted-string. */
export function displayName(value: string): string {
  return headerValue(value, 100).replace(/["\\<>]/g, '');
}

/** An address for `MAIL FROM` / `RCPT TO` and the To header; throws when it is not plain. */
export function mailbox(address: string): string {
  const a = address.trim();
  if (!/^[^\s<>"(),;:\\[\]@]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(a) || a.length > 254) {
    throw new Error('unsafe mailbox');
  }
  return a;
}

/** Removes email addresses and long digit runs (phone numbers, tokens) from provider errors. */
export function redact(text: string, max = 300): string {
  return text
    .replace(/[^\s<>"@]+@[^\s<>"]+/g, '<address>')
    .replace(/\+?\d{7,}/g, '<number>')
    .replace(CONTROL, ' ')
    .trim()
    .slice(0, max);
}
