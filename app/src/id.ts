// Parsing of user ids from paths and query strings.

/** PostgreSQL's `integer` upper bound: ids above it cannot exist. */
export const MAX_USER_ID = 2_147_483_647;

export type IdParse = { ok: true; id: number } | { ok: false; message: string };

/**
 * Accepts only a plain decimal integer from 1 to 2147483647 (no sign, no leading zero, no
 * spaces). Anything else gets a message naming the value (shortened) and what is allowed.
 */
export function parseUserId(raw: unknown): IdParse {
  const allowed = `user id must be a whole number from 1 to ${MAX_USER_ID}`;
  if (typeof raw !== "string") {
    return { ok: false, message: `${allowed}; give exactly one id` };
  }
  const shown = raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
  if (!/^[1-9][0-9]{0,9}$/.test(raw) || Number(raw) > MAX_USER_ID) {
    return { ok: false, message: `${allowed}, got ${JSON.stringify(shown)}` };
  }
  return { ok: true, id: Number(raw) };
}
