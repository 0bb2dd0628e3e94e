// The one shape of every validation message, for config (components/config.ts) and the
// renderers (components/render/*.ts): "<where> is <value>; allowed: <what>".

/**
 * `"<where> is <value>; allowed: <allowed>"`. Strings and objects are shown as JSON (so an empty
 * string reads `""`), other values as themselves (`0`, `NaN`, `undefined`).
 */
export function invalid(where: string, value: unknown, allowed: string): string {
  const shown =
    typeof value === "string" || (typeof value === "object" && value !== null)
      ? JSON.stringify(value)
      : String(value);
  return `${where} is ${shown}; allowed: ${allowed}`;
}

/** The `allowed` phrase of an integer range, e.g. "a whole number from 1 to 32". */
export function wholeNumber(min: number, max: number): string {
  return `a whole number from ${min} to ${max}`;
}

/** Throws `invalid(where, value, wholeNumber(min, max))` unless `value` is an integer in range. */
export function checkInteger(where: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(invalid(where, value, wholeNumber(min, max)));
  }
}
