import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { TOKEN, type Upload } from "./common";

/** The database passwords the stack generates; each reaches containers as a file. */
export const PASSWORDS = ["postgres", "replication", "app", "pgpool"] as const;
export type PasswordName = (typeof PASSWORDS)[number];

/** Where each password file lands inside the containers that need it. */
export function secretFile(password: PasswordName): string {
  return `/run/secrets/${password}-password`;
}

/** Where the app reads the admin token its write API requires (env ADMIN_TOKEN_FILE). */
export const ADMIN_TOKEN_FILE = "/run/secrets/admin-token";

/** A password as the file a container reads it from; the content stays secret in state. */
export function secretUpload(password: PasswordName, value: pulumi.Input<string>): Upload {
  return secretFileUpload(secretFile(password), value);
}

/** A secret as a file written into a container; the content stays secret in state. */
export function secretFileUpload(file: string, value: pulumi.Input<string>): Upload {
  return { file, content: pulumi.secret(value), secret: true };
}

/**
 * Random passwords for PostgreSQL's roles (superuser, replication, app, pgpool), and the app's
 * admin token. They stay secret in state and outputs; changing a password is not supported in
 * place (the roles are created at initdb), so they are generated once and kept.
 */
export class Secrets extends pulumi.ComponentResource {
  public readonly passwords: Record<PasswordName, pulumi.Output<string>>;
  /** The bearer token of the app's write API (`Authorization: Bearer …`). */
  public readonly adminToken: pulumi.Output<string>;

  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN}:secrets:Secrets`, name, {}, opts);
    const passwords = {} as Record<PasswordName, pulumi.Output<string>>;
    for (const password of PASSWORDS) {
      const generated = new random.RandomPassword(
        `${name}-${password}`,
        // Alphanumeric: safe in pgpass, pool_passwd and connection strings without quoting.
        { length: 32, special: false },
        { parent: this },
      );
      // The provider marks `result` secret; saying so here keeps it secret whatever reads it.
      passwords[password] = pulumi.secret(generated.result);
    }
    this.passwords = passwords;
    const token = new random.RandomPassword(
      `${name}-admin-token`,
      // Alphanumeric: an HTTP header and a shell argument without quoting.
      { length: 40, special: false },
      { parent: this },
    );
    this.adminToken = pulumi.secret(token.result);
    this.registerOutputs({});
  }
}
