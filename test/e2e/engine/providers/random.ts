// Stand-in for @pulumi/random's RandomPassword: node:crypto, with the provider's defaults.
import * as crypto from "node:crypto";
import { checkKnown, type Provider } from "./types";
import type { Props } from "../values";

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NUMERIC = "0123456789";
/** The provider's default special characters. */
const SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

const INPUTS = [
  "length",
  "lower",
  "upper",
  "numeric",
  "number",
  "special",
  "minLower",
  "minUpper",
  "minNumeric",
  "minSpecial",
  "overrideSpecial",
  "keepers",
] as const;

function pick(chars: string): string {
  return chars[crypto.randomInt(chars.length)];
}

/** A password honouring the character classes and minimums, shuffled with crypto randomness. */
export function generatePassword(inputs: Props): string {
  checkKnown("RandomPassword", inputs, INPUTS);
  const length = inputs.length;
  if (typeof length !== "number" || !Number.isInteger(length) || length < 1) {
    throw new Error(`RandomPassword length must be an integer >= 1 (got ${String(length)})`);
  }
  const flag = (key: string): boolean => (inputs[key] as boolean | undefined) ?? true;
  const min = (key: string): number => (inputs[key] as number | undefined) ?? 0;
  const special = (inputs.overrideSpecial as string | undefined) ?? SPECIAL;
  const numeric = flag("numeric") && flag("number");
  const classes = [
    { chars: LOWER, on: flag("lower"), min: min("minLower") },
    { chars: UPPER, on: flag("upper"), min: min("minUpper") },
    { chars: NUMERIC, on: numeric, min: min("minNumeric") },
    { chars: special, on: flag("special"), min: min("minSpecial") },
  ];
  const out: string[] = [];
  for (const c of classes) for (let i = 0; i < c.min; i++) out.push(pick(c.chars));
  const all = classes
    .filter((c) => c.on)
    .map((c) => c.chars)
    .join("");
  if (all === "") throw new Error("RandomPassword: every character class is disabled");
  while (out.length < length) out.push(pick(all));
  for (let i = out.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out.join("");
}

export const randomPasswordProvider: Provider = {
  async create(inputs) {
    // The provider's id for a password is the constant "none"; `result` is secret (schema).
    return { id: "none", outputs: { ...inputs, result: generatePassword(inputs) } };
  },
  async update() {
    throw new Error("random_password has no update: every input change replaces it");
  },
  async delete() {},
};
